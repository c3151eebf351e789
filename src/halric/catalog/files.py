"""The files of catalogued datasets: list them, and resolve one to a file on disk that may be served.

No HTTP here: the web layer (``web/routes/downloads.py``) and the command line turn the results into
responses or copies.

Who may download is exactly who may read the dataset (``load_dataset``: anonymous callers only published
datasets, signed-in users by ``ownerGroup``/``accessGroups``, stewards and admins everything); a dataset the
caller may not read answers NotFound, like one that does not exist.

A dataset record can be created through the SciCat API with any ``sourceFolder`` and any file list, so a
file is served only when all of these hold:

1. its path is listed in one of the dataset's original data blocks (exact string), and the listed path is a
   plain relative path (no ``..``, not absolute);
2. the dataset's canonical folder (``catalog/folders.py``: links followed, fixed when it was registered)
   still resolves to itself, and the file, with symbolic links resolved, lies inside it;
3. it lies inside one of the serving roots (``HALRIC_DOWNLOAD_ROOTS``) and outside the hub's own data
   directory (database, secret key, journals), unless the root itself was placed inside that directory;
4. it does not lie inside the canonical folder of another dataset that the caller may not read: any such
   dataset at or inside the serving dataset's folder, and another group's dataset anywhere above it (a
   broader dataset of the same group does not block the narrower ones inside it). Registration already
   refuses a folder claimed by another group (``folders.check_claim``); this check also covers records
   made before that rule;
5. it is a regular file whose size on disk equals the catalogued size (otherwise Conflict: the data
   changed after it was catalogued and is not served silently).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from halric.catalog import folders, jurisdiction, rules
from halric.catalog.models import Dataset, OrigDatablock
from halric.catalog.service import load_dataset
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, NotFound, PermissionDenied
from halric.core.settings import Settings
from halric.core.timeutil import utcnow

WHOLE_DATASET = "whole dataset"
_ALIASES = {
    "sha-256": "sha256", "sha-512": "sha512", "sha-1": "sha1", "xxh3": "xxh3-128", "xxh128": "xxh3-128",
    "b3": "blake3",
}  # fmt: skip
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def algorithm_name(name: str | None) -> str | None:
    """The checksum algorithm's canonical name (``sha256``, ``blake3``, ``xxh3-128``, ...), or None."""
    if not name:
        return None
    n = str(name).strip().lower().replace("_", "-")
    return _ALIASES.get(n, n) or None


@dataclass(frozen=True)
class FileEntry:
    """One file as the catalog lists it: path relative to the dataset's source folder."""

    path: str
    size: int
    time: str | None
    chk: str | None
    algorithm: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "time": self.time, "chk": self.chk,
                "chkAlg": self.algorithm}  # fmt: skip


@dataclass(frozen=True)
class ServedFile:
    """A listed file that passed every check, with its resolved location and the stat taken then."""

    entry: FileEntry
    real_path: Path
    stat: os.stat_result


@dataclass(frozen=True)
class Serving:
    """Where files may be served from. ``private`` folders (the hub's data directory) are never served
    through a root that contains them."""

    roots: tuple[Path, ...]
    private: tuple[Path, ...] = ()

    @classmethod
    def from_settings(cls, hub: Settings) -> Serving:
        roots = tuple(Path(p) for p in folders.serving_roots(hub))
        private = [Path(folders.canonical(os.path.abspath(hub.data_dir.expanduser())) or "/")]
        if hub.cache_dir:
            private.append(Path(folders.canonical(os.path.abspath(hub.cache_dir.expanduser())) or "/"))
        return cls(roots, tuple(private))

    def allows(self, real: Path) -> bool:
        for root in self.roots:
            if real != root and not real.is_relative_to(root):
                continue
            hidden = any(
                real.is_relative_to(p) and not (root != p and root.is_relative_to(p)) for p in self.private
            )
            if not hidden:
                return True
        return False


# --- listing -------------------------------------------------------------------------------------------


def _entries(s: Session, pid: str) -> list[FileEntry]:
    """Every listed file of the dataset, in block order; a path listed twice counts once (first wins)."""
    q = select(OrigDatablock).where(OrigDatablock.dataset_pid == pid)
    q = q.order_by(OrigDatablock.created_at, OrigDatablock.id)
    seen: set[str] = set()
    out: list[FileEntry] = []
    for block in s.scalars(q):
        for f in block.data_file_list or []:
            path = str(f.get("path") or "")
            if not path or path in seen:
                continue
            seen.add(path)
            out.append(
                FileEntry(
                    path=path,
                    size=int(f.get("size") or 0),
                    time=f.get("time"),
                    chk=f.get("chk"),
                    algorithm=None if block.chk_alg is None else str(block.chk_alg),
                )
            )
    return out


def list_files(s: Session, actor: Actor, pid: str) -> list[FileEntry]:
    """The dataset's files (NotFound when the actor may not read the dataset)."""
    load_dataset(s, actor, pid)
    return _entries(s, pid)


# --- resolving -----------------------------------------------------------------------------------------


def relative_path(path: str) -> PurePosixPath | None:
    """The listed path as a plain relative path, or None for absolute paths, ``..`` and NUL bytes."""
    if not path or "\x00" in path or path.startswith("/"):
        return None
    p = PurePosixPath(path)
    if not p.parts or any(part == ".." for part in p.parts):
        return None
    return p


def _require_roots(serving: Serving) -> None:
    if not serving.roots:
        raise PermissionDenied(
            "Downloads are switched off on this hub: no serving folders are configured. "
            "The administrator sets HALRIC_DOWNLOAD_ROOTS (see docs/catalog.md, Downloading files)."
        )


def _folder(ds: Dataset) -> str:
    """The dataset's canonical folder as registered, checked to resolve the same way today."""
    folder = ds.canonical_folder or folders.canonical(ds.source_folder)
    if folder is None:
        raise PermissionDenied(
            f"sourceFolder: {ds.source_folder!r} is not an absolute folder; files of dataset {ds.pid!r} "
            "are not served",
            field="sourceFolder",
        )
    if folders.canonical(folder) != folder:
        raise Conflict(
            f"sourceFolder: the folder of dataset {ds.pid!r} ({folder}) resolves elsewhere since it was "
            "catalogued (a symbolic link was added or changed); its files are not served. "
            "Ask the owners or a data steward to catalogue it again.",
            field="sourceFolder",
        )
    return folder


def _locate(ds: Dataset, entry: FileEntry, serving: Serving) -> tuple[Path, str]:
    """Checks 1-3 of the module doc; returns the resolved file (which may not exist) and canonical folder."""
    _require_roots(serving)
    rel = relative_path(entry.path)
    if rel is None:
        raise PermissionDenied(
            f"path: {entry.path!r} is not a plain relative path inside the dataset's source folder "
            "(absolute or with '..'); it is not served",
            field="path",
        )
    folder = _folder(ds)
    real = folders.canonical(os.path.join(folder, str(rel)))
    if real is None or real == folder or not folders.is_within(real, folder):
        raise PermissionDenied(
            f"path: {entry.path!r} leads outside the dataset's source folder (symbolic link); it is not served",
            field="path",
        )
    if not serving.allows(Path(real)):
        raise PermissionDenied(
            f"path: {entry.path!r} lies outside the folders this hub serves (HALRIC_DOWNLOAD_ROOTS); "
            "ask the administrator",
            field="path",
        )
    return Path(real), folder


def _hidden_claims(s: Session, actor: Actor, ds: Dataset, located: list[tuple[Path, str]]) -> set[str]:
    """Canonical folders around the files ((file, dataset folder) pairs) claimed by datasets the actor may
    NOT read: any such dataset at or inside the serving dataset's folder, and another group's anywhere
    above it. A broader unreadable dataset of the serving dataset's own group does not block it."""
    if rules.is_curator(actor):
        return set()
    candidates: set[str] = set()
    for real, _ in located:
        candidates.update(folders.ancestors(str(real), include_self=False))
    found: set[str] = set()
    ordered = sorted(candidates)
    col = Dataset.canonical_folder
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        q = select(col, Dataset.owner_group).where(
            col.in_(chunk), not_(rules.dataset_visibility(actor)), Dataset.pid != ds.pid
        )
        for folder, group in s.execute(q):
            if group != ds.owner_group or any(folders.is_within(folder, own) for _, own in located):
                found.add(folder)
    return found


def _check_claims(entry: FileEntry, real: Path, hidden: set[str]) -> None:
    if any(a in hidden for a in folders.ancestors(str(real), include_self=False)):
        raise PermissionDenied(
            f"path: {entry.path!r} lies inside the source folder of another dataset that you may not read; "
            "it is not served through this one",
            field="path",
        )


def _stat(ds: Dataset, entry: FileEntry, real: Path) -> os.stat_result:
    """Check 5: a regular file of the catalogued size."""
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise NotFound(
            f"path: file {entry.path!r} of dataset {ds.pid!r} is not on disk at the hub "
            f"(expected in {ds.source_folder}); ask the dataset's owners",
            field="path",
        ) from None
    except OSError as exc:
        raise NotFound(
            f"path: file {entry.path!r} of dataset {ds.pid!r} cannot be read at the hub ({exc.strerror})",
            field="path",
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise NotFound(
            f"path: {entry.path!r} of dataset {ds.pid!r} is not a regular file on disk", field="path"
        )
    if st.st_size != entry.size:
        raise Conflict(
            f"path: file {entry.path!r} of dataset {ds.pid!r} has changed since it was catalogued "
            f"(its size differs from the catalogued {entry.size} bytes); it is not served. "
            "Ask the owners to check it (halric verify) and catalogue it again.",
            field="path",
        )
    return st


def resolve(s: Session, actor: Actor, pid: str, path: str, serving: Serving) -> ServedFile:
    """One listed file of a dataset the actor may read, checked as described in the module doc."""
    ds = load_dataset(s, actor, pid)
    jurisdiction.check_download(s, actor, ds)
    entry = next((e for e in _entries(s, pid) if e.path == path), None)
    if entry is None:
        raise NotFound(f"path: dataset {pid!r} lists no file {path!r}", field="path")
    real, folder = _locate(ds, entry, serving)
    _check_claims(entry, real, _hidden_claims(s, actor, ds, [(real, folder)]))
    return ServedFile(entry, real, _stat(ds, entry, real))


def resolve_all(s: Session, actor: Actor, pid: str, serving: Serving) -> list[ServedFile]:
    """Every listed file of the dataset, all checked before anything is sent (the first failure raises)."""
    ds = load_dataset(s, actor, pid)
    jurisdiction.check_download(s, actor, ds)
    _require_roots(serving)
    located = [(e, *_locate(ds, e, serving)) for e in _entries(s, pid)]
    hidden = _hidden_claims(s, actor, ds, [(real, folder) for _, real, folder in located])
    out = []
    for entry, real, _ in located:
        _check_claims(entry, real, hidden)
        out.append(ServedFile(entry, real, _stat(ds, entry, real)))
    return out


def record_download(
    s: Session, actor: Actor, pid: str, what: str, *, byte_range: str | None = None, size: int | None = None
) -> None:
    """Audit one download (the caller, its address, the dataset, the file or WHOLE_DATASET, the range)."""
    details: dict[str, Any] = {"file": what, "range": byte_range}
    if size is not None:
        details["size"] = size
    audit.record(s, actor, "download", "dataset", pid, details)


# --- whole dataset as a ZIP ------------------------------------------------------------------------------


def archive_name(pid: str) -> str:
    """A file-system-safe name for the dataset's archive folder: the pid with other characters as '_'."""
    return _SLUG.sub("_", pid).strip("._") or "dataset"


def manifests(pid: str, entries: list[FileEntry]) -> dict[str, bytes]:
    """``manifest.json`` (every file with size, time, checksum and algorithm) and one
    ``manifest-<algorithm>.txt`` per algorithm in the format ``sha256sum -c`` / ``b3sum -c`` read."""
    doc = {
        "pid": pid,
        "generated": utcnow().isoformat(),
        "layout": "files under data/, paths relative to the dataset's source folder",
        "files": [{**e.as_dict(), "chkAlg": algorithm_name(e.algorithm)} for e in entries],
    }
    out = {"manifest.json": (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()}
    sums: dict[str, list[str]] = {}
    for e in entries:
        alg = algorithm_name(e.algorithm)
        if alg and e.chk:
            sums.setdefault(alg, []).append(f"{e.chk}  data/{relative_path(e.path) or e.path}\n")
    for alg, lines in sorted(sums.items()):
        out[f"manifest-{_SLUG.sub('_', alg)}.txt"] = "".join(lines).encode()
    return out


def zip_stream(pid: str, served: list[ServedFile]) -> tuple[Iterator[bytes], int]:
    """The dataset as a ZIP built while it is sent: stored (not deflated), ZIP64 where sizes need it,
    files under ``<name>/data/`` and the manifests under ``<name>/``. Returns (chunks, exact size)."""
    from zipstream import ZIP_STORED, ZipStream

    zs = ZipStream(compress_type=ZIP_STORED, sized=True)
    top = archive_name(pid)
    for name, data in manifests(pid, [f.entry for f in served]).items():
        zs.add(data, f"{top}/{name}")
    for f in served:
        zs.add_path(str(f.real_path), f"{top}/data/{relative_path(f.entry.path)}", recurse=False)
    return iter(zs), len(zs)
