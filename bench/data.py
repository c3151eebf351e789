"""Data-handling benchmark: ingest at 1, 2 and 4 GB, many small files, metadata, compression and memory.

    python bench/data.py [--sizes 1GB,2GB,4GB] [--small-files 4000] [--repeat 2] [--ingest-only]
                         [--workdir DIR] [--keep]

Writes demo data once (MX at EIGER 16M geometry, a SAXS series, tomography TIFFs) in sets that the sizes
share through hard links, and a folder of small TIFFs (1 MiB each by default), then runs each measurement
in a child process (so its peak resident memory — summed over the process and its Dask workers — is
measured alone) and prints the target table of issue #20, each row with PASS or MISS, with the machine's
description and its `uptime` load before and after:

- at each size, ingest on one worker (checksum + metadata + patient-data guard + journal + catalog
  writes) against a bare single-threaded loop that only reads and hashes the same files with the same
  hash, for BLAKE3 (≥ 0.95), XXH3-128 (≥ 0.85) and SHA-256 (≥ 0.95);
- ingest on both cores (2 threads) against the same bare single-threaded loop, BLAKE3 (≥ 1.7 at 2 and
  4 GB), and a Dask LocalCluster of 2 workers against 1 worker (≥ 1.7 at 2 and 4 GB), with the machine's
  own figure beside it (the bare loop through mappings in 2 processes against 1);
- many small files: files/s of ingest against the bare loop over the same files (≥ 0.8; GB/s is the same
  ratio, the files being the same), on one worker, on 2 threads, and on 2 Dask workers;
- peak memory of every ingest run (< 1 GB);
- unless --ingest-only: metadata extraction of a 1 GB NeXus file against a 10 MB one, bitshuffle+LZ4
  against gzip level 6 (speed and ratio), bits per pixel against the Shannon entropy, and compressing a
  1 GB file.

Both sides of each ratio run in the same invocation, so the ratios are fair on a shared machine; the
absolute GB/s are not (other work slows both). The files sit in the page cache, so the figures are CPU
throughput, not disk speed. Ingest writes to an in-memory catalog. Not a test: it prints figures, it
asserts nothing. Deletes the data afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


# --- child-process phases ----------------------------------------------------------------------------------


class MemoryWriter:
    """A catalog kept in memory (the benchmark measures ingest, not a catalog server)."""

    target = "memory:bench"

    def __init__(self) -> None:
        self.datasets: dict[str, dict[str, Any]] = {}

    def check(self) -> None:
        return None

    def find_dataset(self, ingest_key: str, source_folder: str) -> str | None:
        return None

    def create_dataset(self, dto: dict[str, Any]) -> dict[str, Any]:
        pid = f"bench/{len(self.datasets) + 1}"
        self.datasets[pid] = dto
        return {**dto, "pid": pid}

    def find_datablock(self, pid: str, paths: set[str]) -> str | None:
        return None

    def add_datablock(self, dto: dict[str, Any]) -> dict[str, Any]:
        return {"id": "b"}

    def get_dataset(self, pid: str) -> dict[str, Any]:
        return self.datasets[pid]

    def datablocks(self, pid: str) -> list[dict[str, Any]]:
        return []


def files_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def phase_bare(root: str, alg: str, how: str = "read") -> dict[str, Any]:
    """The bare loop: list the files, then read and hash each one, single-threaded (8 MiB reads into one
    reused buffer) — what ingest is measured against. ``how="mapped"``: the same loop through ingest's
    memory mappings (hashing.hash_file(mapped=True)), a reference for what mapping alone gives."""
    from halric.ingest.hashing import hash_file

    t, c = time.perf_counter(), time.process_time()
    total = n = 0
    for p in files_of(Path(root)):
        total += hash_file(p, [alg], mapped=how == "mapped", read_ahead=False)[1]
        n += 1
    return {"bytes": total, "files": n, "seconds": time.perf_counter() - t, "cpu": time.process_time() - c}


def phase_bare_procs(root: str, alg: str, procs: int) -> dict[str, Any]:
    """The bare loop through mappings, its files shared (largest first, each to the least loaded) among
    ``procs`` processes that only hash:
    what this machine's cores and memory give to several processes — the ceiling of the Dask row."""
    import multiprocessing as mp

    from halric.ingest.hashing import hash_file

    sizes = {p: p.stat().st_size for p in files_of(Path(root))}
    files = sorted(sizes, key=lambda p: -sizes[p])
    ctx = mp.get_context("fork")
    ready = ctx.Barrier(procs + 1)

    def work(part: list[Path]) -> None:
        ready.wait()
        for p in part:
            hash_file(p, [alg], mapped=True)

    parts: list[list[Path]] = [[] for _ in range(procs)]
    loads = [0] * procs
    for p in files:  # each file to the process with the fewest bytes so far
        k = loads.index(min(loads))
        parts[k].append(p)
        loads[k] += sizes[p]
    children = [ctx.Process(target=work, args=(part,)) for part in parts]
    for c in children:
        c.start()
    ready.wait()  # the clock starts when every process is up
    t = time.perf_counter()
    for c in children:
        c.join()
    seconds = time.perf_counter() - t
    if any(c.exitcode for c in children):
        raise SystemExit("a hashing process failed")
    return {"bytes": sum(sizes.values()), "files": len(files), "seconds": seconds, "cpu": 0.0}


def phase_ingest(
    root: str, alg: str, workers: int, journal_dir: str, threads: int = 1, mapping: str = "default"
) -> dict[str, Any]:
    """``halric ingest`` of a folder, with the hub's default settings (``mapping="off"``: files read, not
    mapped, as with HALRIC_INGEST_MAP_SETTLED_S=off)."""
    from halric.core.settings import Settings
    from halric.ingest.dto import DatasetOptions
    from halric.ingest.runner import dask_client
    from halric.ingest.service import IngestRequest, ingest

    root = str(Path(root).resolve())
    settled = None if mapping == "off" else Settings().ingest_map_settled_s
    req = IngestRequest(path=Path(root), algorithm=alg, split="subfolders", threads=threads,
                        map_settled_s=settled, dataset=DatasetOptions(contact_email="bench@example.org"))  # fmt: skip

    def warm() -> None:
        """Imports happen once per process, before the clock starts, as for the bare loop: the hash and
        what ingest reads headers with (a long ingest pays them once, not per file)."""
        import blake3  # noqa: F401
        import h5py  # noqa: F401
        import stdnum.dk.cpr  # the guard's number checks, imported at first use
        import stdnum.luhn  # noqa: F401
        import tifffile  # noqa: F401

        import halric.ingest.formats
        import halric.ingest.hashing
        import halric.ingest.nexus
        import halric.ingest.runner
        import halric.ingest.tasks
        import halric.privacy.guard
        import halric.privacy.identifiers
        import halric.privacy.scan  # noqa: F401  (the patient-data guard)

    warm()
    with dask_client(workers, None) as client:
        if client is not None:
            client.run(warm)
        t, c = time.perf_counter(), time.process_time()
        s = ingest(
            req, MemoryWriter(), roots=[Path(root).parent], journal_dir=Path(journal_dir), client=client
        )
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "bytes": s["hashed_bytes"],
        "files": s["hashed_files"],
        "seconds": seconds,
        "cpu": cpu,
        "problems": len(s["problems"]),
    }


def phase_metadata(path: str, reps: int) -> dict[str, Any]:
    from halric.ingest.nexus import hdf5_metadata

    hdf5_metadata(path)  # warm: imports and the file's header pages
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        hdf5_metadata(path)
        times.append(time.perf_counter() - t)
    return {"seconds": statistics.median(times), "bytes": os.path.getsize(path)}


def phase_compress(src: str, dst: str, codec: str) -> dict[str, Any]:
    from halric.ingest.compress import compress_file

    t = time.perf_counter()
    r = compress_file(Path(src), Path(dst), codec, force=True)
    return {"seconds": time.perf_counter() - t, "ratio": r["ratio"], "bytes": r["input_bytes"]}


def phase_codecs(path: str, frames: int) -> dict[str, Any]:
    import h5py
    import numpy as np

    from halric.ingest.codecs import entropy_bits, measure

    with h5py.File(path) as f:
        ds = f["entry/data/data"]
        samples = [ds[i] for i in np.linspace(0, ds.shape[0] - 1, frames).astype(int)]
    out: dict[str, Any] = {
        c: measure(samples, c, min_seconds=0.0).as_dict()
        for c in ("bslz4", "gzip", "bszstd", "blosc2", "none")
    }
    out["bslz4_default_block"] = measure(samples, "bslz4", min_seconds=0.0, bitshuffle_block=0).as_dict()
    out["entropy_bits"] = entropy_bits(samples)
    out["entropy_bits_without_gaps"] = entropy_bits([s[s != np.iinfo(s.dtype).max] for s in samples])
    out["bits_stored"] = int(samples[0].dtype.itemsize * 8)
    out["mean_counts"] = float(np.mean([s[s != np.iinfo(s.dtype).max].mean() for s in samples]))
    # the same detector with a sparser background (weaker beam or shorter exposure)
    from halric.ingest.demo import EIGER_GAP, EIGER_MODULE, _gap_mask, mx_background, mx_frame

    h, w = samples[0].shape
    rng = np.random.default_rng(11)
    bg, gaps = mx_background(w, h, 0.4), _gap_mask(w, h, EIGER_MODULE, EIGER_GAP)
    sparse = [mx_frame(bg, gaps, rng, 32) for _ in range(frames)]
    out["sparse"] = {c: measure(sparse, c, min_seconds=0.0).as_dict() for c in ("bslz4", "gzip", "bszstd")}
    out["sparse"]["entropy_bits"] = entropy_bits(sparse)
    out["sparse"]["mean_counts"] = float(np.mean([s[~gaps].mean() for s in sparse]))
    return out


PHASES = {"bare": phase_bare, "bare_procs": phase_bare_procs, "ingest": phase_ingest, "metadata": phase_metadata,
          "compress": phase_compress, "codecs": phase_codecs}  # fmt: skip


def child_main(argv: list[str]) -> None:
    name, *args = argv
    fn = PHASES[name]
    conv = [int(a) if a.isdigit() else a for a in args]
    print(json.dumps(fn(*conv)))


# --- the parent: run a phase in a child, watch its memory ----------------------------------------------------


def run(phase: str, *args: Any) -> dict[str, Any]:
    import psutil

    proc = subprocess.Popen([sys.executable, str(HERE), "_child", phase, *map(str, args)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"phase {phase} failed")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss"] = peak
    return result


def best(phase: str, *args: Any, repeat: int = 2) -> dict[str, Any]:
    """The fastest of ``repeat`` runs (other work on the machine only ever slows a run down)."""
    runs = []
    for k in range(repeat):  # a journal argument gets a fresh folder per run, so nothing is skipped
        runs.append(
            run(phase, *[f"{x}-{k}" if isinstance(x, Path) and x.name.startswith("j-") else x for x in args])
        )
    fastest = min(runs, key=lambda r: r["seconds"])
    fastest["peak_rss"] = max(r["peak_rss"] for r in runs)
    return fastest


SETS = (("a", 0.25), ("b", 0.25), ("c", 0.5))  # 1 GB = a, 2 GB = a+b, 4 GB = a+b+c (of the largest size)


def make_data(
    work: Path, sizes: list[int], small_files: int, small_size: int
) -> tuple[dict[int, Path], Path, Path, Path]:
    """Demo data written once, in sets; each size is a folder of hard links to whole sets (no extra disk,
    one page cache), so the sizes hold the same kinds of files in the same proportions."""
    from halric.ingest.demo import write_demo, write_mx

    t = time.perf_counter()
    pool = work / "pool"
    top = max(sizes)
    for k, (label, share) in enumerate(SETS):
        part = int(top * share)
        write_demo(pool / label / "mx", "mx", int(part * 0.72), frames_per_file=2, bits=32, seed=1 + k,
                   name=f"{label}_sweep")  # fmt: skip  # EIGER 16M, 72.6 MB frames
        write_demo(pool / label / "saxs", "saxs", int(part * 0.13), seed=1 + k)
        write_demo(pool / label / "tomo", "tomo", int(part * 0.15), fmt="tiff", seed=1 + k)
    views: dict[int, Path] = {}
    for i, size in enumerate(sorted(sizes)):
        view = work / f"data-{size // 10**6}MB"
        sets = [label for label, _ in SETS][: 3 if size == top else min(i + 1, 2)]
        for label in sets:  # view/KIND/SET: one dataset per kind (split by sub-folder), as before
            for kind in ("mx", "saxs", "tomo"):
                shutil.copytree(pool / label / kind, view / kind / label, copy_function=os.link)
        views[size] = view
    small = work / "small" / "projections"
    small.mkdir(parents=True)
    import numpy as np
    import tifffile

    rng = np.random.default_rng(5)
    side = int((small_size // 2) ** 0.5)
    base = rng.poisson(800, (side, side)).astype(np.uint16)
    for i in range(small_files):  # one light-sheet/tomography image per file, each different
        base[i % side, :] += 1
        tifffile.imwrite(small / f"proj_{i:06d}.tif", base)
    meta = work / "meta"
    for label, nbytes in (("1GB", 10**9), ("10MB", 10**7)):
        (meta / label).mkdir(parents=True)
        write_mx(meta / label, nbytes, frame_pixels=(1028, 1062), bits=32, frames_per_file=1, seed=2,
                 name="sweep", single_file=True)  # fmt: skip
    # dated an hour back, as finished acquisitions are when a facility ingests them: ingest maps files not
    # modified for HALRIC_INGEST_MAP_SETTLED_S (10 s) and reads fresher ones (hard links share the date)
    old = time.time() - 3600
    for p in files_of(work):
        os.utime(p, (old, old))
    print(f"demo data written in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return views, work / "small", meta / "1GB" / "sweep.nxs", meta / "10MB" / "sweep.nxs"


def gbps(r: dict[str, Any]) -> float:
    return r["bytes"] / r["seconds"] / 1e9


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return "—"
    return "PASS" if ratio >= target else "**MISS**"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1e6:.0f} GB memory"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, Python {sys.version.split()[0]}"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime not available"


def ingest_rows(
    work: Path, views: dict[int, Path], small: Path, repeat: int
) -> tuple[list[tuple[str, str, str, str, str]], list[dict[str, Any]], list[str]]:
    """The issue's target table: per size, ingest on one worker vs the bare loop for each hash, both cores
    vs the bare loop, Dask 2 vs 1 worker; then the many-small-files case."""
    rows: list[tuple[str, str, str, str, str]] = []
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    targets = {"blake3": 0.95, "xxh3-128": 0.85, "sha256": 0.95}
    for size, data in sorted(views.items()):
        files = files_of(data)
        total = sum(p.stat().st_size for p in files)
        label = f"{total / 1e9:.1f} GB"  # the data written (the demo's files have a minimum size)
        run("bare", data, "blake3")  # warm the page cache
        bare_b3 = None
        for alg, target in targets.items():
            bare = best("bare", data, alg, repeat=repeat)
            ing = best("ingest", data, alg, 0, work / f"j-{size}-{alg}", 1, repeat=repeat)
            runs += [bare, ing]
            bare_b3 = bare if alg == "blake3" else bare_b3
            r = gbps(ing) / gbps(bare)
            rows.append((f"{label} ({len(files)} files): ingest on one worker ÷ bare read+hash, {alg}",
                         f"{gbps(ing):.2f} vs {gbps(bare):.2f} GB/s (CPU {ing['cpu']:.2f} vs {bare['cpu']:.2f} s)",
                         f"{r:.2f}", f"≥ {target:.2f}", verdict(r, target)))  # fmt: skip
        assert bare_b3 is not None
        for alg in ("blake3", "xxh3-128"):  # references: mapping alone; ingest with mapping off
            mapped = best("bare", data, alg, "mapped", repeat=repeat)
            runs.append(mapped)
            bare = best("bare", data, alg, repeat=repeat) if alg != "blake3" else bare_b3
            rows.append((f"{label}: reference — bare loop through mappings ÷ bare read+hash, {alg}",
                         f"{gbps(mapped):.2f} vs {gbps(bare):.2f} GB/s", f"{gbps(mapped) / gbps(bare):.2f}",
                         "—", "—"))  # fmt: skip
        off = best("ingest", data, "blake3", 0, work / f"j-{size}-off", 1, "off", repeat=repeat)
        runs.append(off)
        rows.append((f"{label}: reference — ingest on one worker with mapping off ÷ bare read+hash, blake3",
                     f"{gbps(off):.2f} vs {gbps(bare_b3):.2f} GB/s", f"{gbps(off) / gbps(bare_b3):.2f}",
                     "—", "—"))  # fmt: skip
        both = best("ingest", data, "blake3", 0, work / f"j-{size}-t2", 2, repeat=repeat)
        r = gbps(both) / gbps(bare_b3)
        target = 1.7 if total >= 1.9e9 else None
        rows.append((f"{label}: ingest on both cores (2 threads) ÷ bare single-threaded loop, blake3",
                     f"{gbps(both):.2f} vs {gbps(bare_b3):.2f} GB/s", f"{r:.2f}",
                     f"≥ {target}" if target else "—", verdict(r, target)))  # fmt: skip
        one = best("ingest", data, "blake3", 1, work / f"j-{size}-w1", 1, repeat=repeat)
        two = best("ingest", data, "blake3", 2, work / f"j-{size}-w2", 1, repeat=repeat)
        runs += [both, one, two]
        r = gbps(two) / gbps(one)
        rows.append((f"{label}: Dask 2 workers ÷ 1 worker, blake3",
                     f"{gbps(two):.2f} vs {gbps(one):.2f} GB/s", f"{r:.2f}",
                     f"≥ {target}" if target else "—", verdict(r, target)))  # fmt: skip
        p1, p2 = (best("bare_procs", data, "blake3", n, repeat=repeat) for n in (1, 2))
        rows.append((f"{label}: reference — the machine: bare loop through mappings, 2 processes ÷ 1, blake3",
                     f"{gbps(p2):.2f} vs {gbps(p1):.2f} GB/s", f"{gbps(p2) / gbps(p1):.2f}", "—", "—"))  # fmt: skip
        notes.append(f"{label}: {total / 1e9:.2f} GB in {len(files)} files")
    files = files_of(small)
    total = sum(p.stat().st_size for p in files)
    run("bare", small, "blake3")
    bare = best("bare", small, "blake3", repeat=repeat)
    for what, workers, threads in (("one worker", 0, 1), ("both cores (2 threads)", 0, 2),
                                   ("Dask, 2 workers", 2, 1)):  # fmt: skip
        ing = best(
            "ingest", small, "blake3", workers, work / f"j-small-{workers}-{threads}", threads, repeat=repeat
        )
        runs.append(ing)
        fr, fb = ing["files"] / ing["seconds"], bare["files"] / bare["seconds"]
        target = 0.8 if workers == 0 else None  # files/s; GB/s is the same ratio (the same files)
        rows.append((f"{len(files)} files of {total / len(files) / 2**20:.0f} MiB (TIFF): ingest on {what} ÷ bare loop, blake3",
                     f"{fr:.0f} vs {fb:.0f} files/s; {gbps(ing):.2f} vs {gbps(bare):.2f} GB/s"
                     + (f" (CPU {ing['cpu']:.2f} vs {bare['cpu']:.2f} s)" if workers == 0 else ""),
                     f"{fr / fb:.2f}", f"≥ {target}" if target else "—", verdict(fr / fb, target)))  # fmt: skip
    notes.append(f"small files: {total / 1e9:.2f} GB in {len(files)} files")
    return rows, runs, notes


def main() -> None:
    from halric.ingest.units import parse_size

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--sizes", default="1GB,2GB,4GB", help="demo data sizes, comma-separated (default 1GB,2GB,4GB)"
    )
    ap.add_argument(
        "--small-files", type=int, default=4000, help="files of the many-small-files case (default 4000)"
    )
    ap.add_argument("--small-size", default="1MiB", help="size of each small file (default 1MiB)")
    ap.add_argument(
        "--repeat", type=int, default=2, help="runs per measurement; the fastest counts (default 2)"
    )
    ap.add_argument("--ingest-only", action="store_true", help="leave out metadata, codecs and compression")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    sizes = [parse_size(x) for x in a.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="halric-bench-", dir=a.workdir)).resolve()
    try:
        load_before = uptime()
        views, small, big, small_nexus = make_data(work, sizes, a.small_files, parse_size(a.small_size))
        rows, runs, notes = ingest_rows(work, views, small, a.repeat)
        peak_ingest = max(r["peak_rss"] for r in runs)
        rows.append(("Peak memory: ingest (incl. Dask workers), every run above", f"{peak_ingest / 1e6:.0f} MB",
                     "—", "< 1000 MB", "PASS" if peak_ingest < 1e9 else "**MISS**"))  # fmt: skip
        print(f"\nMachine: {machine()}.\nLoad before: {load_before}\nLoad after:  {uptime()}\n"
              f"Demo data (MX EIGER 16M 32-bit, SAXS, tomography TIFF): {'; '.join(notes)}.\n")  # fmt: skip
        print("| Measure | Figures | Ratio | Target | |\n|---|---|---|---|---|")
        for r5 in rows:
            print("| " + " | ".join(r5) + " |")
        if a.ingest_only:
            return
        rows = []
        data = views[max(sizes)]
        nfiles = len(files_of(data))
        gb = 1e9
        big, small = big, small_nexus
        mb, ms = run("metadata", big, 9), run("metadata", small, 9)
        rows.append((f"Metadata: {mb['bytes'] / gb:.2f} GB vs {ms['bytes'] / 1e6:.0f} MB NeXus file",
                     f"{mb['seconds'] * 1000:.1f} vs {ms['seconds'] * 1000:.1f} ms",
                     f"{mb['seconds'] / ms['seconds']:.2f}", "≤ 1.5"))  # fmt: skip
        mx_file = sorted((data / "mx").glob("*_data_*.h5"))[0]
        cod = run("codecs", mx_file, 2)
        lz4, gz = cod["bslz4"], cod["gzip"]
        rows.append(("bitshuffle+LZ4 vs gzip-6: compression speed (MX frames, 1 core)",
                     f"{lz4['compress_mb_s']:.0f} vs {gz['compress_mb_s']:.0f} MB/s",
                     f"{lz4['compress_mb_s'] / gz['compress_mb_s']:.1f}", "≥ 10"))  # fmt: skip
        rows.append(("bitshuffle+LZ4 vs gzip-6: compression ratio", f"{lz4['ratio']:.2f} vs {gz['ratio']:.2f}",
                     f"{lz4['ratio'] / gz['ratio']:.2f}", "≥ 1.0"))  # fmt: skip
        d8 = cod["bslz4_default_block"]
        rows.append(("Contrast: bitshuffle+LZ4 with hdf5plugin's default 8 KiB blocks vs gzip-6: speed; ratio",
                     f"{d8['compress_mb_s']:.0f} vs {gz['compress_mb_s']:.0f} MB/s; {d8['ratio']:.2f} vs {gz['ratio']:.2f}",
                     f"{d8['compress_mb_s'] / gz['compress_mb_s']:.1f}; {d8['ratio'] / gz['ratio']:.2f}", "—"))  # fmt: skip
        rows.append(("bitshuffle+LZ4: bits per pixel vs Shannon entropy of the pixel values",
                     f"{lz4['bits_per_value']:.2f} vs {cod['entropy_bits']:.2f} bits "
                     f"({cod['bits_stored']}-bit pixels)",
                     f"{lz4['bits_per_value'] / cod['entropy_bits']:.2f}", "—"))  # fmt: skip
        sp = cod["sparse"]
        rows.append((f"Sparser frames ({sp['mean_counts']:.2f} counts/pixel): bitshuffle+LZ4 vs gzip-6 speed; ratio",
                     f"{sp['bslz4']['compress_mb_s']:.0f} vs {sp['gzip']['compress_mb_s']:.0f} MB/s; "
                     f"{sp['bslz4']['ratio']:.2f} vs {sp['gzip']['ratio']:.2f}",
                     f"{sp['bslz4']['compress_mb_s'] / sp['gzip']['compress_mb_s']:.1f}; "
                     f"{sp['bslz4']['ratio'] / sp['gzip']['ratio']:.2f}", "≥ 10; ≥ 1.0"))  # fmt: skip
        rows.append(("bitshuffle+Zstd vs gzip-6 speed; ratio (both backgrounds)",
                     f"{cod['bszstd']['compress_mb_s']:.0f} vs {gz['compress_mb_s']:.0f} MB/s; "
                     f"{cod['bszstd']['ratio']:.2f} vs {gz['ratio']:.2f} and {sp['bszstd']['ratio']:.2f} vs "
                     f"{sp['gzip']['ratio']:.2f}",
                     f"{cod['bszstd']['compress_mb_s'] / gz['compress_mb_s']:.1f}; "
                     f"{cod['bszstd']['ratio'] / gz['ratio']:.2f} and {sp['bszstd']['ratio'] / sp['gzip']['ratio']:.2f}",
                     "—"))  # fmt: skip
        comp = run("compress", big, work / "big_bslz4.h5", "bslz4")
        rows.append(
            ("Peak memory: compress of a 1 GB file", f"{comp['peak_rss'] / 1e6:.0f} MB", "—", "< 1000 MB")
        )
        print(f"\nCompression and metadata ({nfiles} files of the {max(sizes) / gb:.0f} GB set):\n")
        print("| Measure | Figures | Ratio | Target |\n|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print("\nOther figures:")
        print(f"- compress 1 GB NeXus with bslz4 (chunk by chunk, verified): {comp['bytes'] / comp['seconds'] / 1e6:.0f}"
              f" MB/s end to end, ratio {comp['ratio']}")  # fmt: skip
        for c in ("bslz4", "bszstd", "blosc2", "gzip", "none"):
            x = cod[c]
            print(f"- {c}: ratio {x['ratio']:.2f}, {x['compress_mb_s']:.0f} MB/s compress, "
                  f"{x['decompress_mb_s']:.0f} MB/s decompress, {x['bits_per_value']:.2f} bits/pixel")  # fmt: skip
        print(
            f"- Shannon entropy of the pixel values: {cod['entropy_bits']:.3f} bits "
            f"({cod['entropy_bits_without_gaps']:.3f} without the gap pixels); mean "
            f"{cod['mean_counts']:.2f} counts per pixel"
        )
    finally:
        if a.keep:
            print(f"data kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main(sys.argv[2:])
    else:
        main()
