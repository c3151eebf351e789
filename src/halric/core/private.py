"""Files and folders only the hub's own account may read: the SQLite database, the secret key, the ingest
journals (which hold file lists and checksums of unpublished data). Created owner-only (folders 0700,
files 0600) whatever the process umask; existing ones are left as the administrator set them."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only; an existing folder is left alone."""
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)  # mkdir's mode is reduced by the umask, never widened: make it exact
    return path


def private_file(path: Path) -> Path:
    """Create an empty ``path`` with mode 0600 when it does not exist yet (its folder owner-only too), so
    the program that fills it (SQLite: also its -wal and -shm files, which copy the database's mode)
    never makes it readable to others."""
    if path.exists():
        return path
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, or None for in-memory databases and other URLs."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:":
        return None
    if u.database.startswith("file:"):
        return None  # URI form: the caller chose its own options
    return Path(u.database)
