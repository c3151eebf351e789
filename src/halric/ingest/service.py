"""``ingest`` and ``verify``: walk a folder, checksum and describe its files, catalogue them; re-check later.

The steps of an ingest, each safe to interrupt:

1. walk the folder (problems such as unreadable sub-folders are noted, the walk goes on);
2. bring the journal in line with the disk (new, changed and vanished files are found here);
3. hash and describe every pending file, in this process or on Dask workers; results are committed to
   the journal in small batches, so a crash loses at most the last second of work;
4. write each dataset, then its datablocks, to the catalog — looking up what an interrupted run may
   already have written before writing anything.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halric.core.errors import InvalidInput, NotFound
from halric.ingest.config import check_allowed, require_existing
from halric.ingest.dto import DatasetOptions, datablock_dto, dataset_dto, ingest_key
from halric.ingest.hashing import check_algorithm
from halric.ingest.journal import FileRow, Journal, journal_name
from halric.ingest.writers import CatalogWriter

BLOCK_FILES = 1000  # files per OrigDatablock (keeps each catalog record well below size limits)
FLUSH_SECONDS = 0.5


class Progress:
    """Callbacks for a progress display; the default does nothing."""

    def start(self, files: int, nbytes: int) -> None: ...
    def advance(self, files: int, nbytes: int) -> None: ...
    def stage(self, text: str) -> None: ...
    def finish(self) -> None: ...


@dataclass
class IngestRequest:
    path: Path
    algorithm: str = "blake3"
    extra_algorithms: list[str] = field(default_factory=list)
    split: str = "none"  # none | subfolders
    dataset: DatasetOptions = field(default_factory=DatasetOptions)
    chunk_bytes: int = 8 * 1024 * 1024
    pause_per_file_s: float = 0.0
    block_files: int = BLOCK_FILES
    threads: int = 1  # without Dask: files hashed on this many threads of the command's process
    map_settled_s: float | None = (
        None  # hash files not modified for this long through mappings (hashing.mappable)
    )

    def algorithms(self) -> list[str]:
        primary = check_algorithm(self.algorithm)
        extra = [check_algorithm(a) for a in self.extra_algorithms]
        return [primary, *[a for a in dict.fromkeys(extra) if a != primary]]


def walk(root: Path, split: str) -> tuple[list[tuple[str, str, int, int]], list[dict[str, str]]]:
    """(path, dataset key, size, mtime_ns) for every regular file under root, and the problems met."""
    entries: list[tuple[str, str, int, int]] = []
    problems: list[dict[str, str]] = []
    top = os.fspath(root)
    cut = len(
        os.path.join(top, "")
    )  # paths under root are cut to relative ones as strings (no Path per file)
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            it = list(os.scandir(d))
        except OSError as exc:
            rel = Path(d).relative_to(root).as_posix() or "."
            problems.append({"path": rel + "/", "problem": f"folder not readable ({exc.strerror or exc})"})
            continue
        for e in it:
            rel = e.path[cut:].replace(os.sep, "/")
            try:
                if e.is_symlink():
                    problems.append({"path": rel, "problem": "symbolic link: not followed, not catalogued"})
                elif e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    key = rel.split("/", 1)[0] if split == "subfolders" and "/" in rel else "."
                    entries.append((rel, key, st.st_size, st.st_mtime_ns))
                else:
                    problems.append({"path": rel, "problem": "not a regular file (device, socket or pipe)"})
            except OSError as exc:
                problems.append({"path": rel, "problem": f"cannot stat ({exc.strerror or exc})"})
    entries.sort()
    return entries, problems


def _default_owner(root: Path) -> tuple[str, str]:
    """The folder's owner and group names (who owns the data on a facility file system)."""
    st = root.stat()
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return user, group


def open_journal(root: Path, writer: CatalogWriter, journal_dir: Path) -> Journal:
    return Journal(journal_dir / journal_name(root, writer.target))


def ingest(
    req: IngestRequest,
    writer: CatalogWriter,
    *,
    roots: list[Path],
    journal_dir: Path,
    client: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Ingest one folder into one catalog; run it again to resume. Returns the summary."""
    from halric.ingest import runner
    from halric.ingest.tasks import process_files, process_stream

    progress = progress or Progress()
    t0 = time.perf_counter()
    algs = req.algorithms()
    if req.split not in ("none", "subfolders"):
        raise InvalidInput("split: use none or subfolders", field="split")
    root = check_allowed(req.path, roots)
    require_existing(root, kind="dir")
    if not req.dataset.contact_email:
        raise InvalidInput(
            "contact_email: the catalog needs a contact e-mail for each dataset; give --contact-email",
            field="contact_email",
        )
    writer.check()
    progress.stage("walking the folder")
    entries, problems = walk(root, req.split)
    with open_journal(root, writer, journal_dir) as j:
        previous = j.get_meta("algorithm")
        if previous and previous != algs[0] and j.datasets():
            raise InvalidInput(
                f"hash: this folder was catalogued with {previous} in this catalog; run again with --hash {previous}",
                field="hash",
            )
        j.set_meta({"root": str(root), "target": writer.target, "algorithm": algs[0], "split": req.split})
        j.start_run()
        found = j.sync(entries, algs)
        for p in found["gone"]:
            problems.append({"path": p, "problem": "gone: was here in an earlier run, no longer on disk"})
        pending = sorted(j.files("state = 'pending'"), key=lambda f: -f.size)
        total_bytes = sum(e[2] for e in entries)
        pending_bytes = sum(f.size for f in pending)
        progress.start(len(entries), total_bytes)
        progress.advance(len(entries) - len(pending), total_bytes - pending_bytes)
        progress.stage(f"hashing {len(pending)} file(s)")

        buffer: list[dict[str, Any]] = []
        last_flush = time.monotonic()
        hashed = {"files": 0, "bytes": 0}

        def on_result(r: dict[str, Any]) -> None:
            nonlocal last_flush
            buffer.append(r)
            if not r.get("error"):
                hashed["files"] += 1
                hashed["bytes"] += r.get("size", 0)
            progress.advance(1, r.get("size", 0))
            if time.monotonic() - last_flush >= FLUSH_SECONDS or len(buffer) >= 500:
                j.record_results(buffer)
                buffer.clear()
                last_flush = time.monotonic()

        if client is None:  # this process: headers on this thread, checksums on req.threads helpers
            stream = process_stream(
                str(root), [f.path for f in _interleave(pending)], algs, req.chunk_bytes,
                req.pause_per_file_s, req.map_settled_s, hash_threads=max(1, req.threads),
            )  # fmt: skip
            with contextlib.closing(stream):  # an error in on_result stops the helpers at once
                for r in stream:
                    on_result(r)
        else:  # a cluster: batches of files, one task each (runner.batches)
            groups = runner.batches(pending, lambda f: f.size, runner.worker_count(client))
            jobs = (
                (
                    str(root),
                    [f.path for f in g],
                    algs,
                    req.chunk_bytes,
                    req.pause_per_file_s,
                    req.map_settled_s,
                )
                for g in groups
            )
            runner.run(process_files, jobs, on_result, client=client)
        j.record_results(buffer)
        progress.finish()

        for f in j.files("state = 'failed'"):
            problems.append({"path": f.path, "problem": f.error or "failed"})
        changed = []
        for p in found["changed"] + found["changed_catalogued"]:
            row = j.file(p)
            old = j.previous_checksums.get(p, {}).get(algs[0])
            new = row.checksums.get(algs[0]) if row else None
            item = {"path": p, "content_changed": old != new, "catalogued": p in found["changed_catalogued"]}
            changed.append(item)
            if item["catalogued"] and item["content_changed"]:
                problems.append(
                    {
                        "path": p,
                        "problem": "changed after it was catalogued; the catalog keeps the old "
                        "checksum — check it with `halric verify`",
                    }
                )

        _guard(j, root, req)
        progress.stage("writing to the catalog")
        datasets = _catalogue(j, writer, root, req, algs[0])
        done_files, done_bytes = j.db.execute(
            "SELECT count(*), sum(size) FROM files WHERE state = 'done'"
        ).fetchone()
        j.finish_run(hashed["files"], len(found["done"]), problems)
        elapsed = time.perf_counter() - t0
        return {
            "folder": str(root),
            "catalog": writer.target,
            "journal": str(j.path),
            "datasets": datasets,
            "files": done_files,
            "bytes": done_bytes or 0,
            "checksum_algorithm": algs[0],
            "checksum_algorithms": algs,
            "hashed_files": hashed["files"],
            "hashed_bytes": hashed["bytes"],
            "skipped_unchanged": len(found["done"]),
            "failed": sum(1 for _ in j.files("state = 'failed'")),
            "changed": changed,
            "problems": problems,
            "elapsed_s": round(elapsed, 3),
            "rate_bytes_per_s": round(hashed["bytes"] / elapsed) if elapsed > 0 else 0,
        }


def _interleave(files: list[FileRow]) -> list[FileRow]:
    """Largest, smallest, second largest, second smallest …: in this process the header work (on this
    thread, holding the GIL) runs at most a few files ahead of the checksums (on the helper threads), and
    small files (NeXus masters, series of HDF5 or TIFF files) carry most of the header work while large
    ones carry most of the bytes; mixed, the two keep pace, and the last files are middle-sized ones."""
    out: list[FileRow] = []
    lo, hi = 0, len(files) - 1
    while lo <= hi:
        out.append(files[lo])
        if lo != hi:
            out.append(files[hi])
        lo, hi = lo + 1, hi - 1
    return out


def _guard(j: Journal, root: Path, req: IngestRequest) -> None:
    """Refuse before anything reaches the catalog when a file or the given metadata holds a person's id."""
    from halric.privacy import guard
    from halric.privacy.scan import Finding, scan_file, scan_metadata

    for p in j.unscanned():  # hashed by a run before the guard existed
        j.set_findings(p, [f.as_dict() for f in scan_file(root / p, p)])
    opts = req.dataset
    given = {
        "name": opts.name, "description": opts.description, "keywords": opts.keywords,
        "sampleId": opts.sample_id, "principalInvestigator": opts.principal_investigator,
        "owner": opts.owner,
    }  # fmt: skip
    findings = [Finding(**f) for f in j.findings()] + scan_metadata(given, prefix="option")
    guard.check(findings, "folder")


def _catalogue(
    j: Journal, writer: CatalogWriter, root: Path, req: IngestRequest, alg: str
) -> list[dict[str, Any]]:
    """Write datasets, then their datablocks. Every write is marked ``creating`` (fsynced) before it is
    made — for all the datasets of the run in one transaction, then for all the datablocks in one — so a
    run pays two fsyncs, not two per dataset; a write interrupted by a crash is looked up in the catalog
    by the next run before anything is written again."""
    host = socket.gethostname()
    owner, group = _default_owner(root)
    done = list(j.files("state = 'done'"))
    by_key: dict[str, list[FileRow]] = {}
    for f in done:
        by_key.setdefault(f.dataset, []).append(f)
    keys = sorted(by_key)

    def source_of(key: str) -> Path:
        return root if key == "." else root / key

    def prefix_of(key: str) -> str:
        return "" if key == "." else key + "/"

    pids: dict[str, str] = {}
    to_create: list[str] = []
    for key in keys:
        ikey = ingest_key(host, str(source_of(key)))
        rec = j.dataset(key)
        pid = rec["pid"] if rec and rec["state"] == "created" else None
        if pid is None and rec and rec["state"] == "creating":
            pid = writer.find_dataset(ikey, str(source_of(key)))  # an interrupted run may have written it
            if pid is not None:
                j.set_dataset(key, "created", ikey, pid)
        if pid is None:
            to_create.append(key)
        else:
            pids[key] = pid
    j.set_datasets_creating([(key, ingest_key(host, str(source_of(key)))) for key in to_create])
    for key in to_create:
        dto = dataset_dto(
            key, source_of(key), [_strip(f, prefix_of(key)) for f in by_key[key]], req.dataset,
            host=host, default_owner=owner, default_group=group,
        )  # fmt: skip
        pids[key] = str(writer.create_dataset(dto)["pid"])
        j.set_dataset(key, "created", ingest_key(host, str(source_of(key))), pids[key])

    added = dict.fromkeys(keys, 0)
    for key in keys:
        pid, prefix = pids[key], prefix_of(key)
        for b in j.blocks(key, "creating"):  # interrupted: written or not?
            rows = list(j.files("block = ?", (b["id"],)))
            remote = writer.find_datablock(pid, {f.path[len(prefix) :] for f in rows})
            if remote is None:
                remote = str(writer.add_datablock(datablock_dto(pid, rows, alg, prefix)).get("id", ""))
                added[key] += len(rows)
            j.close_block(b["id"], remote)
    groups: list[tuple[str, list[FileRow]]] = []
    for key in keys:
        loose = [f for f in by_key[key] if f.block is None]
        groups += [(key, loose[i : i + req.block_files]) for i in range(0, len(loose), req.block_files)]
    ids = j.open_blocks([(key, [f.path for f in rows], sum(f.size for f in rows)) for key, rows in groups])
    for block, (key, rows) in zip(ids, groups, strict=True):
        remote = str(writer.add_datablock(datablock_dto(pids[key], rows, alg, prefix_of(key))).get("id", ""))
        j.close_block(block, remote)
        added[key] += len(rows)
    return [
        {
            "key": key,
            "pid": pids[key],
            "source_folder": str(source_of(key)),
            "files": len(by_key[key]),
            "bytes": sum(f.size for f in by_key[key]),
            "created": key in to_create,
            "files_added": added[key],
        }
        for key in keys
    ]


def _strip(f: FileRow, prefix: str) -> FileRow:
    if not prefix:
        return f
    from dataclasses import replace

    return replace(f, path=f.path[len(prefix) :])


def write_manifests(journal_path: Path, folder: Path) -> list[Path]:
    """``BLAKE3SUMS``/``XXH128SUMS``/``SHA256SUMS`` files (``sha256sum -c`` format) for every done file."""
    names = {"blake3": "BLAKE3SUMS", "xxh3-128": "XXH128SUMS", "sha256": "SHA256SUMS"}
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with Journal(journal_path) as j:
        rows = list(j.files("state = 'done'"))
        for alg, name in names.items():
            lines = [f"{r.checksums[alg]}  {r.path}\n" for r in rows if alg in r.checksums]
            if lines:
                p = folder / name
                p.write_text("".join(lines))
                written.append(p)
    return written


# --- verify ---------------------------------------------------------------------------------------------


def find_pid_for_folder(folder: Path, writer: CatalogWriter, journal_dir: Path) -> str:
    path = journal_dir / journal_name(folder, writer.target)
    if not path.exists():
        raise NotFound(f"dataset: {folder} has not been ingested into {writer.target}")
    with Journal(path) as j:
        pids = [d["pid"] for d in j.datasets() if d["pid"]]
    if len(pids) != 1:
        raise InvalidInput(
            f"dataset: {folder} was ingested as {len(pids)} datasets; give one pid ({', '.join(pids)})",
            field="dataset",
        )
    return pids[0]


def verify(
    dataset: str,
    writer: CatalogWriter,
    *,
    roots: list[Path],
    journal_dir: Path,
    client: Any = None,
    chunk_bytes: int = 8 * 1024 * 1024,
    map_settled_s: float | None = None,
    on_file: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Re-hash a catalogued dataset's files and compare them with the catalog's checksums and sizes."""
    from halric.ingest import runner
    from halric.ingest.tasks import hash_only

    t0 = time.perf_counter()
    as_path = Path(dataset).expanduser()
    pid = find_pid_for_folder(as_path.resolve(), writer, journal_dir) if as_path.is_dir() else dataset
    ds = writer.get_dataset(pid)
    source = check_allowed(Path(ds["sourceFolder"]), roots, field="sourceFolder")
    expected: dict[str, dict[str, Any]] = {}
    for b in writer.datablocks(pid):
        for f in b.get("dataFileList", []):
            expected[f["path"]] = {"size": f.get("size"), "chk": f.get("chk"), "alg": b.get("chkAlg")}
    results: dict[str, dict[str, Any]] = {}

    def on_result(r: dict[str, Any]) -> None:
        results[r["path"]] = r
        if on_file:
            on_file(r)

    jobs = [
        (str(source), p, check_algorithm(e["alg"] or "blake3"), chunk_bytes, map_settled_s)
        for p, e in expected.items()
    ]
    runner.run(hash_only, jobs, on_result, client=client)
    report: dict[str, list[Any]] = {
        "ok": [],
        "changed": [],
        "size_changed": [],
        "missing": [],
        "unreadable": [],
    }
    for p, e in sorted(expected.items()):
        r = results.get(p, {"error": "not checked"})
        if r.get("error") == "missing":
            report["missing"].append(p)
        elif r.get("error"):
            report["unreadable"].append({"path": p, "problem": r["error"]})
        elif e["size"] is not None and r["size"] != e["size"]:
            report["size_changed"].append({"path": p, "catalog": e["size"], "disk": r["size"]})
        elif r["chk"] != e["chk"]:
            report["changed"].append(
                {"path": p, "algorithm": e["alg"], "catalog": e["chk"], "disk": r["chk"]}
            )
        else:
            report["ok"].append(p)
    on_disk, _ = walk(source, "none")
    extra = sorted(p for p, *_ in on_disk if p not in expected)
    bad = sum(len(v) for k, v in report.items() if k != "ok")
    return {
        "pid": pid,
        "source_folder": str(source),
        "files": len(expected),
        "ok": len(report["ok"]),
        "changed": report["changed"],
        "size_changed": report["size_changed"],
        "missing": report["missing"],
        "unreadable": report["unreadable"],
        "not_in_catalog": extra,
        "problems": bad,
        "verified": bad == 0,
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
