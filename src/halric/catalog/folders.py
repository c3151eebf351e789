"""Dataset folders on this hub's disk: their canonical form, and which group's datasets claim them.

A dataset's ``sourceFolder`` is what the client sent; it is kept as sent. Next to it the catalog stores
``canonical_folder``: the same folder as this machine sees it, with symbolic links followed, ``//``,
``.``, ``..`` and trailing slashes removed and, on file systems that ignore case, the case as it is on
disk. Every comparison of folders (who claims a folder, whether a file lies in another group's folder)
uses the canonical form, never the string a client sent. The canonical folder is fixed when the dataset is
registered (or its ``sourceFolder`` changes): if a link such as ``…/current`` is later pointed elsewhere,
the dataset still means the folder it was catalogued from.

**One group per folder.** A folder inside the serving roots (``HALRIC_DOWNLOAD_ROOTS``) is claimed by the
datasets of one owner group: a dataset of another group cannot name the same folder, a folder inside it or
a folder that contains it (``Conflict``, 409). Only data stewards and admins may name a serving root
itself, or a folder that contains one. Folders outside the serving roots are never served, so they are not
claimed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from halric.core.errors import Conflict, InvalidInput, PermissionDenied
from halric.core.values import text_problem

if TYPE_CHECKING:
    from halric.core.settings import Settings


def canonical(path: str | os.PathLike[str] | None) -> str | None:
    """The folder or file as this machine resolves it, or None for a path that is not absolute."""
    if path is None:
        return None
    raw = os.fspath(path)
    if problem := text_problem(raw):
        raise InvalidInput(f"sourceFolder: {problem}", field="sourceFolder")
    if not raw.startswith("/"):
        return None
    real = os.path.realpath(raw)
    return _disk_case(real)


def _disk_case(real: str) -> str:
    """On a file system that ignores case, spell each existing part as the folder listing does."""
    parts = PurePosixPath(real).parts
    probe = next((i for i in range(len(parts) - 1, 0, -1) if parts[i].swapcase() != parts[i]), None)
    if probe is None:
        return real
    here = os.path.join(*parts[: probe + 1])
    other = os.path.join(*parts[:probe], parts[probe].swapcase())
    try:
        if not os.path.samefile(here, other):
            return real
    except OSError:
        return real  # either does not exist: the file system (or this part of it) tells case apart
    out = "/"
    for i, part in enumerate(parts[1:], start=1):
        try:
            names = os.listdir(out)
        except OSError:
            return os.path.join(out, *parts[i:])
        if part not in names:
            folded = part.casefold()
            part = next((n for n in names if n.casefold() == folded), part)
        out = os.path.join(out, part)
    return out


def default_download_root(data_dir: str | os.PathLike[str]) -> str:
    """``DATA_DIR/data``: where `make run`'s detector data goes (`halric init` makes it); served unless
    HALRIC_DOWNLOAD_ROOTS or HALRIC_DATA_ROOTS say otherwise (the rest of the data directory stays private)."""
    return os.path.join(os.path.expanduser(os.fspath(data_dir)), "data")


def serving_roots(cfg: Settings) -> tuple[str, ...]:
    """The serving roots, canonical: ``HALRIC_DOWNLOAD_ROOTS``, by default ``HALRIC_DATA_ROOTS``, and when
    neither is set the hub's ``DATA_DIR/data``."""
    if cfg.download_roots is not None:
        raw = cfg.download_roots
    elif cfg.data_roots is not None:
        raw = cfg.data_roots
    else:
        raw = default_download_root(cfg.data_dir)
    out = []
    for p in raw.split(os.pathsep):
        if p.strip():
            real = canonical(os.path.abspath(os.path.expanduser(p.strip())))
            if real is not None:
                out.append(real)
    return tuple(out)


def ancestors(path: str, *, include_self: bool = True) -> list[str]:
    """``/a/b/c`` → ``["/a/b/c", "/a/b", "/a", "/"]`` (without the path itself when asked)."""
    p = PurePosixPath(path)
    out = [str(x) for x in p.parents]
    return [str(p), *out] if include_self else out


def inside(column: Any, folder: str) -> ColumnElement[bool]:
    """SQL: ``column`` is a folder strictly inside ``folder`` (a range on the index: '/' sorts just
    before '0', and the column compares bytewise on both databases)."""
    prefix = folder if folder.endswith("/") else folder + "/"
    return and_(column >= prefix, column < prefix[:-1] + "0")


def is_within(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies inside it (both canonical)."""
    return path == folder or path.startswith(folder if folder.endswith("/") else folder + "/")


def check_claim(
    s: Session,
    *,
    folder: str | None,
    owner_group: str,
    pid: str | None,
    roots: Iterable[Any],
    curator: bool,
    readable: Any,
) -> None:
    """Refuse a dataset of ``owner_group`` at canonical ``folder`` when another group's dataset claims the
    same folder, one inside it or one around it (inside a serving root), or when a non-curator names a
    serving root or a folder above one. ``readable(owner_group, access_groups, is_published, confidential)`` says whether
    the caller may see the other dataset's pid in the message."""
    from halric.catalog.models import Dataset

    if folder is None:
        return
    roots = [str(r) for r in roots]
    if not curator:
        covered = [r for r in roots if is_within(r, folder)]
        if covered:
            raise PermissionDenied(
                f"sourceFolder: {folder} is a folder this hub serves downloads from ({covered[0]}) or lies "
                "above one; name the folder of this dataset's own files, or ask a data steward",
                field="sourceFolder",
            )
    served = [r for r in roots if is_within(folder, r)]
    if not served:
        return  # never served from here, so nobody's claim is at stake
    col = Dataset.canonical_folder
    around = [a for a in ancestors(folder) if any(is_within(a, r) for r in served)]
    q = select(
        Dataset.pid,
        Dataset.owner_group,
        Dataset.access_groups,
        Dataset.is_published,
        col,
        Dataset.confidential,
    )
    q = q.where(or_(col.in_(around), inside(col, folder)), Dataset.owner_group != owner_group)
    if pid is not None:
        q = q.where(Dataset.pid != pid)
    row = s.execute(q.order_by(col).limit(1)).first()
    if row is None:
        return
    other_pid, other_group, access, published, other_folder, secret = row
    where = (
        "the same folder"
        if other_folder == folder
        else ("a folder inside it" if is_within(other_folder, folder) else "a folder around it")
    )
    who = (
        f"dataset {other_pid!r} of group {other_group!r}"
        if readable(other_group, access, published, secret)
        else "a dataset of another group"
    )
    raise Conflict(
        f"sourceFolder: {folder} is already catalogued by {who} ({where}: {other_folder}); a folder belongs "
        "to the datasets of one group. Use your own data's folder, or ask a data steward.",
        field="sourceFolder",
    )
