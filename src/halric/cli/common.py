"""Shared CLI plumbing: settings, database and the one error rule (one line on stderr, exit 2)."""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console

from halric.core.db import Database
from halric.core.settings import Settings

console = Console()
err_console = Console(stderr=True)


class CliError(Exception):
    """Raised by commands for bad input; printed as one line, exit code 2."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def settings() -> Settings:
    return Settings()


def database(check: bool = True) -> Database:
    """The configured database; refuses an out-of-date schema unless check=False."""
    st = settings()
    if st.db_url.startswith("sqlite"):
        st.ensure_data_dir()
    db = Database(st.db_url, settings=st)
    if check:
        from halric.migrations import check_schema

        check_schema(db.engine)
    return db


def one_line(message: str) -> str:
    return " ".join(str(message).split())


def print_error(message: str) -> None:
    sys.stderr.write(f"halric: error: {one_line(message)}\n")
