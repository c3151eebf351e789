"""The ingest journal: one SQLite file per (folder, catalog) pair.

Every state change is one SQLite transaction (WAL), so a ``kill -9`` at any moment
leaves the journal as it was after the last commit: files hashed before the crash stay done, and a
catalog write is either recorded with its pid or marked ``creating`` — which the next run resolves by
asking the catalog before writing again. Only the process that runs ``halric ingest`` writes the
journal; Dask workers return their results to it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halric.core.timeutil import utcnow

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, hashed INTEGER DEFAULT 0,
    skipped INTEGER DEFAULT 0, problems TEXT
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,          -- relative to the ingested folder, with '/'
    dataset TEXT NOT NULL,          -- key of the dataset the file belongs to
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    state TEXT NOT NULL,            -- pending | done | failed
    checksums TEXT,                 -- JSON {algorithm: hex digest}
    kind TEXT,                      -- nexus | hdf5 | tiff | cbf | edf | mrc | plain
    metadata TEXT,                  -- JSON, from the headers only
    error TEXT,
    hashed_at TEXT,
    run INTEGER,                    -- the run that hashed it
    changed INTEGER DEFAULT 0,      -- 1: it changed since an earlier run hashed it
    block INTEGER,                  -- the datablock that catalogued it
    findings TEXT                   -- JSON [{file, place, kind}] of the patient-data guard; NULL: not looked
);
CREATE INDEX IF NOT EXISTS ix_files_state ON files (state);
CREATE INDEX IF NOT EXISTS ix_files_dataset ON files (dataset, block);
CREATE TABLE IF NOT EXISTS datasets (
    key TEXT PRIMARY KEY, pid TEXT, state TEXT NOT NULL, ingest_key TEXT NOT NULL, updated TEXT
);
CREATE TABLE IF NOT EXISTS blocks (
    id INTEGER PRIMARY KEY, dataset TEXT NOT NULL, state TEXT NOT NULL, remote_id TEXT,
    files INTEGER NOT NULL, size INTEGER NOT NULL, updated TEXT
);
"""


def journal_name(root: Path, target: str) -> str:
    """A stable file name for the pair (absolute folder, catalog target)."""
    digest = hashlib.sha256(f"{root.resolve()}\n{target}".encode()).hexdigest()[:20]
    return f"{root.name or 'root'}-{digest}.sqlite"


@dataclass
class FileRow:
    path: str
    dataset: str
    size: int
    mtime_ns: int
    state: str
    checksums: dict[str, str]
    kind: str | None
    metadata: dict[str, Any]
    error: str | None
    hashed_at: str | None
    run: int | None
    changed: bool
    block: int | None


class Journal:
    def __init__(self, path: Path) -> None:
        from halric.core.private import private_file

        self.path = path
        private_file(path)  # file lists and checksums of unpublished data: owner-only (with -wal, -shm)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: every commit survives a crash of the process (kill -9); only a power cut may
        # lose the last batches of hash results, which the next run redoes. Catalog bookkeeping commits
        # with FULL (see _durable), so a record the catalog may hold is never forgotten.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(files)")}
        if "findings" not in cols:  # journals written before the patient-data guard
            self.db.execute("ALTER TABLE files ADD COLUMN findings TEXT")
        self.run_id: int | None = None
        self.previous_checksums: dict[str, dict[str, str]] = {}  # of files found changed by sync()

    # --- plumbing ----------------------------------------------------------------------------------
    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tx(self, durable: bool = False) -> _Tx:
        return _Tx(self.db, durable)

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, items: dict[str, str]) -> None:
        with self.tx():
            for k, v in items.items():
                self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (k, v))

    # --- runs --------------------------------------------------------------------------------------
    def start_run(self) -> int:
        with self.tx():
            cur = self.db.execute("INSERT INTO runs (started) VALUES (?)", (utcnow().isoformat(),))
        self.run_id = int(cur.lastrowid or 0)
        return self.run_id

    def finish_run(self, hashed: int, skipped: int, problems: list[dict[str, Any]]) -> None:
        with self.tx():
            self.db.execute(
                "UPDATE runs SET finished = ?, hashed = ?, skipped = ?, problems = ? WHERE id = ?",
                (utcnow().isoformat(), hashed, skipped, json.dumps(problems[:1000]), self.run_id),
            )

    def runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, started, finished, hashed, skipped FROM runs ORDER BY id")
        return [dict(zip(("id", "started", "finished", "hashed", "skipped"), r, strict=True)) for r in rows]

    # --- files -------------------------------------------------------------------------------------
    def _row(self, r: tuple[Any, ...]) -> FileRow:
        return FileRow(
            path=r[0], dataset=r[1], size=r[2], mtime_ns=r[3], state=r[4],
            checksums=json.loads(r[5]) if r[5] else {}, kind=r[6],
            metadata=json.loads(r[7]) if r[7] else {}, error=r[8], hashed_at=r[9], run=r[10],
            changed=bool(r[11]), block=r[12],
        )  # fmt: skip

    _COLS = "path, dataset, size, mtime_ns, state, checksums, kind, metadata, error, hashed_at, run, changed, block"

    def files(self, where: str = "", params: Iterable[Any] = ()) -> Iterator[FileRow]:
        q = f"SELECT {self._COLS} FROM files {('WHERE ' + where) if where else ''} ORDER BY path"
        for r in self.db.execute(q, tuple(params)).fetchall():
            yield self._row(r)

    def file(self, path: str) -> FileRow | None:
        r = self.db.execute(f"SELECT {self._COLS} FROM files WHERE path = ?", (path,)).fetchone()
        return self._row(r) if r else None

    def sync(self, entries: list[tuple[str, str, int, int]], algorithms: list[str]) -> dict[str, list[str]]:
        """Bring the journal in line with what is on disk now; one transaction.

        ``entries`` are (path, dataset, size, mtime_ns). Returns the paths that are new, changed since they
        were hashed, changed after they were catalogued, gone from disk, and unchanged (done).
        """
        out: dict[str, list[str]] = {
            k: [] for k in ("new", "changed", "changed_catalogued", "gone", "done", "retry")
        }
        known = {
            r[0]: r
            for r in self.db.execute(
                "SELECT path, size, mtime_ns, state, checksums, block FROM files"
            ).fetchall()
        }
        seen = set()
        with self.tx():
            for path, dataset, size, mtime_ns in entries:
                seen.add(path)
                old = known.get(path)
                if old is None:
                    self.db.execute(
                        "INSERT INTO files (path, dataset, size, mtime_ns, state) VALUES (?, ?, ?, ?, 'pending')",
                        (path, dataset, size, mtime_ns),
                    )
                    out["new"].append(path)
                    continue
                _, osize, omtime, state, chks, block = old
                have_all = state == "done" and all(a in json.loads(chks or "{}") for a in algorithms)
                if (osize, omtime) == (size, mtime_ns) and have_all:
                    out["done"].append(path)
                    continue
                if state == "done" and (osize, omtime) != (size, mtime_ns):
                    out["changed_catalogued" if block is not None else "changed"].append(path)
                    self.previous_checksums[path] = json.loads(chks or "{}")
                    changed = 1
                else:
                    out["retry"].append(path)
                    changed = 0
                self.db.execute(
                    "UPDATE files SET size = ?, mtime_ns = ?, state = 'pending', changed = ?, error = NULL "
                    "WHERE path = ?",
                    (size, mtime_ns, changed, path),
                )
            for path in known:
                if path not in seen:
                    out["gone"].append(path)
        return out

    def record_results(self, results: list[dict[str, Any]]) -> None:
        """Store a batch of worker results in one transaction."""
        now = utcnow().isoformat()
        with self.tx():
            for r in results:
                if r.get("error"):
                    self.db.execute(
                        "UPDATE files SET state = 'failed', error = ?, kind = ? WHERE path = ?",
                        (r["error"], r.get("kind"), r["path"]),
                    )
                    continue
                self.db.execute(
                    "UPDATE files SET state = 'done', size = ?, mtime_ns = ?, checksums = ?, kind = ?, "
                    "metadata = ?, error = NULL, hashed_at = ?, run = ?, findings = ? WHERE path = ?",
                    (
                        r["size"], r["mtime_ns"], json.dumps(r["checksums"]), r.get("kind"),
                        json.dumps(r.get("metadata") or {}), now, self.run_id,
                        None if r.get("findings") is None else json.dumps(r["findings"]), r["path"],
                    ),
                )  # fmt: skip

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM files GROUP BY state").fetchall())

    def findings(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """The guard's findings in done files (of one dataset, or all)."""
        q = "SELECT findings FROM files WHERE state = 'done' AND findings IS NOT NULL AND findings != '[]'"
        params: tuple[Any, ...] = ()
        if dataset is not None:
            q += " AND dataset = ?"
            params = (dataset,)
        return [f for (raw,) in self.db.execute(q + " ORDER BY path", params) for f in json.loads(raw)]

    def unscanned(self) -> list[str]:
        """Done files the guard has not looked at (hashed by a run before the guard existed)."""
        return [
            r[0] for r in self.db.execute("SELECT path FROM files WHERE state = 'done' AND findings IS NULL")
        ]

    def set_findings(self, path: str, findings: list[dict[str, Any]]) -> None:
        with self.tx():
            self.db.execute("UPDATE files SET findings = ? WHERE path = ?", (json.dumps(findings), path))

    # --- datasets and datablocks ------------------------------------------------------------------
    def dataset(self, key: str) -> dict[str, Any] | None:
        r = self.db.execute(
            "SELECT key, pid, state, ingest_key FROM datasets WHERE key = ?", (key,)
        ).fetchone()
        return dict(zip(("key", "pid", "state", "ingest_key"), r, strict=True)) if r else None

    def datasets(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT key, pid, state, ingest_key FROM datasets ORDER BY key").fetchall()
        return [dict(zip(("key", "pid", "state", "ingest_key"), r, strict=True)) for r in rows]

    def set_dataset(self, key: str, state: str, ingest_key: str, pid: str | None = None) -> None:
        """Record a dataset's state. ``creating`` (before the catalog write) is fsynced: a record the catalog
        may hold is never forgotten, even on a power cut. ``created`` is not: it survives a crash of the
        process, and were a power cut to lose it, the next run finds ``creating`` and asks the catalog."""
        with self.tx(durable=state == "creating"):
            self.db.execute(
                "INSERT INTO datasets (key, pid, state, ingest_key, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET pid = excluded.pid, state = excluded.state, "
                "updated = excluded.updated",
                (key, pid, state, ingest_key, utcnow().isoformat()),
            )

    def set_datasets_creating(self, items: list[tuple[str, str]]) -> None:
        """Mark datasets (key, ingest key) ``creating`` before they are written, in one fsynced
        transaction."""
        if not items:
            return
        now = utcnow().isoformat()
        with self.tx(durable=True):
            for key, ikey in items:
                self.db.execute(
                    "INSERT INTO datasets (key, pid, state, ingest_key, updated) VALUES (?, NULL, 'creating', ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET pid = NULL, state = 'creating', updated = excluded.updated",
                    (key, ikey, now),
                )

    def open_block(self, dataset: str, paths: list[str], size: int) -> int:
        """Reserve a datablock for these files (state ``creating``) in one transaction."""
        return self.open_blocks([(dataset, paths, size)])[0]

    def open_blocks(self, blocks: list[tuple[str, list[str], int]]) -> list[int]:
        """Reserve datablocks for groups of files (dataset, paths, bytes), all ``creating``, in one fsynced
        transaction: one fsync for all the datablocks of a run instead of one each."""
        ids: list[int] = []
        if not blocks:
            return ids
        with self.tx(durable=True):
            for dataset, paths, size in blocks:
                cur = self.db.execute(
                    "INSERT INTO blocks (dataset, state, files, size, updated) VALUES (?, 'creating', ?, ?, ?)",
                    (dataset, len(paths), size, utcnow().isoformat()),
                )
                block = int(cur.lastrowid or 0)
                self.db.executemany("UPDATE files SET block = ? WHERE path = ?", [(block, p) for p in paths])
                ids.append(block)
        return ids

    def close_block(self, block: int, remote_id: str | None) -> None:
        """Record a written datablock (not fsynced: see ``set_dataset``)."""
        with self.tx():
            self.db.execute(
                "UPDATE blocks SET state = 'done', remote_id = ?, updated = ? WHERE id = ?",
                (remote_id, utcnow().isoformat(), block),
            )

    def blocks(self, dataset: str, state: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT id, state, remote_id, files, size FROM blocks WHERE dataset = ?"
        params: list[Any] = [dataset]
        if state:
            q += " AND state = ?"
            params.append(state)
        rows = self.db.execute(q + " ORDER BY id", params).fetchall()
        return [dict(zip(("id", "state", "remote_id", "files", "size"), r, strict=True)) for r in rows]


class _Tx:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error (autocommit connection).

    ``durable``: commit with ``synchronous=FULL`` (fsync before COMMIT returns).
    """

    def __init__(self, db: sqlite3.Connection, durable: bool = False) -> None:
        self.db = db
        self.durable = durable

    def __enter__(self) -> None:
        if self.durable:
            self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        if self.durable:
            self.db.execute("PRAGMA synchronous=NORMAL")


def read_snapshot(path: Path) -> dict[str, dict[str, Any]]:
    """Read-only view of a journal's files (used by tests and ``halric ingest --status``)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT path, state, checksums, hashed_at, run, block FROM files").fetchall()
    finally:
        db.close()
    return {
        r[0]: {"state": r[1], "checksums": json.loads(r[2]) if r[2] else {}, "hashed_at": r[3], "run": r[4],
               "block": r[5]}
        for r in rows
    }  # fmt: skip
