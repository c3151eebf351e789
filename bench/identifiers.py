"""Patient-data guard benchmark: recall on valid identifiers, false positives on look-alikes, ingest overhead.

    python bench/identifiers.py [--n 300] [--size 1GB] [--seed 1]

1. Recall: valid numbers of every supported kind (generated from their published rules and confirmed by
   python-stdnum) embedded where clinical exports put them — metadata values under realistic keys, free
   text, CSV cells, HDF5 attributes and string datasets, file names, DICOM patient attributes — each
   found by the same code ingest runs (``halric.privacy.scan``). Target 1.0.
2. False positives: look-alikes research metadata is full of (frame counters, unix times, dates and
   times, dated sample codes, detector serials, measurements, identifiers with a wrong check digit),
   each judged with its key as context. Target <= 0.5 %. Bare ``YYMMDD-NNNN`` file names are shown on
   their own row and left out of the total: they are written exactly as a Swedish or Danish personal
   number is, and flagging them is the guard doing its job.
3. Overhead: ``halric ingest`` (in-process, BLAKE3, to an in-memory catalog) of demo data with the guard
   against the same ingest with the guard switched off, alternating runs, median of five. Target <= 5 %.

Prints a Markdown table. Not a test: asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from data import MemoryWriter  # noqa: E402  (bench/data.py: the in-memory catalog writer)

KEYS = ["patient_id", "donor", "subject", "cpr", "personnummer", "fnr", "kvnr", "comment", "note", "id"]


def recall(n: int, seed: int, work: Path) -> dict[str, tuple[int, int]]:
    import h5py
    import pydicom

    from halric.privacy.samples import VALID
    from halric.privacy.scan import scan_file, scan_metadata

    rng = random.Random(seed)
    ct = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"
    out: dict[str, tuple[int, int]] = {}
    for kind, make in VALID.items():
        found = total = 0
        for i in range(n):
            number = make(rng)
            place = i % 6
            if place == 0:  # metadata value under a key
                hits = scan_metadata({rng.choice(KEYS): {"value": number}})
            elif place == 1:  # free text
                hits = scan_metadata({"description": f"Biopsy {number} received 2026-11-30, CT at 80 kV"})
            elif place == 2:  # a CSV cell
                p = work / f"r{i}.csv"
                p.write_text(f"sample,{rng.choice(KEYS)},volume_ml\nB{i},{number},2.5\n")
                hits = scan_file(p, p.name)
            elif place == 3:  # an HDF5 attribute or string dataset
                p = work / f"r{i}.h5"
                with h5py.File(p, "w") as f:
                    g = f.create_group("entry/sample")
                    if i % 2:
                        g.attrs[rng.choice(KEYS)] = number
                    else:
                        g.create_dataset("name", data=f"tissue from {number}")
                hits = scan_file(p, p.name)
            elif place == 4:  # a file name
                p = work / f"{number.replace(' ', '_')}_ct{i}.raw"
                p.write_bytes(b"\x00" * 64)
                hits = scan_file(p, p.name)
            else:  # a DICOM file whose patient ID is the number
                ds = pydicom.dcmread(ct)
                ds.PatientID = number
                p = work / f"d{i}.dcm"
                ds.save_as(p)
                hits = scan_file(p, p.name)
            total += 1
            found += 1 if hits else 0
        out[kind] = (found, total)
    return out


def false_positives(seed: int) -> dict[str, tuple[int, int]]:
    from halric.privacy.identifiers import kinds_in
    from halric.privacy.samples import look_alikes

    return {
        name: (sum(1 for c, t in items if kinds_in(t, c)), len(items))
        for name, items in look_alikes(random.Random(seed)).items()
    }


def overhead(size: int, work: Path) -> tuple[float, float]:
    from halric.ingest.demo import write_demo
    from halric.ingest.dto import DatasetOptions
    from halric.ingest.service import IngestRequest, ingest
    from halric.privacy import scan

    data = work / "data"
    write_demo(data / "mx", "mx", int(size * 0.72), frames_per_file=2)
    write_demo(data / "saxs", "saxs", int(size * 0.13))
    write_demo(data / "tomo", "tomo", int(size * 0.15), fmt="tiff")
    names = ("scan_file", "scan_hdf5", "scan_tiff", "scan_name")
    real = {n: getattr(scan, n) for n in names}

    def once(guard: bool) -> float:
        jd = work / f"j{time.monotonic_ns()}"
        for n in names:  # the ingest looks these up when it runs, so this switches the guard off
            setattr(scan, n, real[n] if guard else (lambda *a, **k: []))
        try:
            req = IngestRequest(
                path=data, dataset=DatasetOptions(contact_email="b@example.org"), split="subfolders"
            )
            t0 = time.perf_counter()
            ingest(req, MemoryWriter(), roots=[work], journal_dir=jd)
            return time.perf_counter() - t0
        finally:
            for n in names:
                setattr(scan, n, real[n])
            shutil.rmtree(jd, ignore_errors=True)

    once(True)  # warm the page cache and the imports
    with_guard, without = [], []
    for _ in range(5):
        without.append(once(False))
        with_guard.append(once(True))
    return statistics.median(with_guard), statistics.median(without)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="identifiers per kind")
    ap.add_argument("--size", default="1GB", help="demo data for the overhead run (e.g. 500MB, 1GB)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    size = int(
        float(args.size.upper().rstrip("B").rstrip("GM")) * (1 << 30 if "G" in args.size.upper() else 1 << 20)
    )
    from rich.progress import Progress

    work = Path(tempfile.mkdtemp(prefix="halric-bench-ids-"))
    try:
        with Progress(transient=True) as bar:
            t = bar.add_task("recall", total=3)
            rec = recall(args.n, args.seed, work)
            bar.advance(t)
            fps = false_positives(args.seed)
            bar.advance(t)
            g, b = overhead(size, work)
            bar.advance(t)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("| measure | result | target |")
    print("|---|---|---|")
    for kind, (f, n) in rec.items():
        print(f"| recall, {kind} | {f}/{n} = {f / n:.3f} | 1.0 |")
    fr = sum(f for f, _ in rec.values()) / sum(n for _, n in rec.values())
    print(f"| **recall, all kinds** | **{fr:.3f}** | 1.0 |")
    for name, (f, n) in fps.items():
        print(f"| false positives, {name} | {f}/{n} = {100 * f / n:.2f} % | |")
    counted = [(f, n) for name, (f, n) in fps.items() if name != "dated file names (bare)"]
    rate = 100 * sum(f for f, _ in counted) / sum(n for _, n in counted)
    print(f"| **false positives, look-alikes** (bare dated names excluded) | **{rate:.2f} %** | ≤ 0.5 % |")
    print(f"| ingest of {args.size} demo data, guard off / on (median of 5) | {b:.2f} s / {g:.2f} s | |")
    print(f"| **guard overhead** | **{100 * (g - b) / b:+.1f} %** | ≤ 5 % |")


if __name__ == "__main__":
    main()
