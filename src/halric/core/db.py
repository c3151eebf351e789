"""Database engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from halric.core.fulltext import SQLITE_WORD_HIT, word_hit
from halric.core.timeutil import as_utc

if TYPE_CHECKING:
    from halric.core.settings import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use halric.core.timeutil.utcnow()")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


@dataclass(frozen=True)
class PoolOptions:
    """How a process talks to its database under load (see docs/deployment.md, "Several workers").

    PostgreSQL: ``pool_size`` + ``max_overflow`` connections per process at most; a request waits at
    most ``pool_timeout`` seconds for one (then 503), far less than a client or proxy waits. Every
    connection carries ``statement_timeout``, ``lock_timeout`` and ``idle_in_transaction_session_timeout``
    so that nothing holds a lock for ever. SQLite: one writer at a time (``BEGIN IMMEDIATE`` behind one
    lock per process), other processes waited for up to ``busy_timeout`` seconds; readers never wait (WAL).
    """

    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout: float = 10.0
    statement_timeout: float = 0.0  # 0: none (the CLI's long jobs); the web app sets them from Settings
    lock_timeout: float = 0.0
    idle_in_transaction_timeout: float = 0.0
    busy_timeout: float = 20.0


class DatabaseBusy(Exception):
    """No connection or write slot became free in time; the request may be retried."""


WRITE = "halric_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)


def _sqlite_engine(url: str, opts: PoolOptions) -> Engine:
    from halric.core.private import private_file, sqlite_file

    if (path := sqlite_file(url)) is not None:
        private_file(path)  # 0600 before SQLite creates it with the umask's mode
    pool: dict[str, Any] = {}
    if ":memory:" not in url and url.rstrip("/") != "sqlite:":
        pool = {
            "pool_size": opts.pool_size,
            "max_overflow": opts.max_overflow,
            "pool_timeout": opts.pool_timeout,
        }
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": opts.busy_timeout}, **pool
    )
    writer = threading.Lock()  # one writer per process; other processes wait in SQLite's busy handler
    owner: list[int | None] = [None]  # the thread holding it

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(opts.busy_timeout * 1000)}")
        cur.close()
        dbapi_conn.create_function(SQLITE_WORD_HIT, 2, word_hit, deterministic=True)  # relevance scores

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if not conn.get_execution_options().get(WRITE, False) or owner[0] == threading.get_ident():
            # a reader (or a session opened inside this thread's own write): one snapshot, no waiting
            conn.exec_driver_sql("BEGIN")
            return
        # A writer takes the write lock before its first read, so its snapshot can never be stale
        # ("database is locked" when a read transaction turns into a write); the writers of this
        # process queue on a lock instead of polling in SQLite's busy handler.
        if not writer.acquire(timeout=opts.busy_timeout):
            raise DatabaseBusy("The database is busy with other changes.")
        owner[0] = threading.get_ident()
        conn.info[WRITE] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    def _release(info: dict[str, Any]) -> None:
        if info.pop(WRITE, None):
            owner[0] = None
            writer.release()

    event.listen(engine, "commit", lambda conn: _release(conn.info))
    event.listen(engine, "rollback", lambda conn: _release(conn.info))
    # a connection given back without commit or rollback (lost, invalidated)
    event.listen(engine, "checkin", lambda _dbapi, record: _release(record.info))

    return engine


def _postgresql_engine(url: str, opts: PoolOptions) -> Engine:
    limits = {
        "statement_timeout": opts.statement_timeout,
        "lock_timeout": opts.lock_timeout,
        "idle_in_transaction_session_timeout": opts.idle_in_transaction_timeout,
    }
    options = " ".join(f"-c {name}={int(s * 1000)}" for name, s in limits.items() if s > 0)
    connect_args: dict[str, Any] = {"connect_timeout": max(1, int(opts.pool_timeout))}
    if options:
        connect_args["options"] = options
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=opts.pool_size,
        max_overflow=opts.max_overflow,
        pool_timeout=opts.pool_timeout,
        connect_args=connect_args,
    )


def make_engine(url: str, options: PoolOptions | None = None) -> Engine:
    opts = options or PoolOptions()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, opts)
    return _postgresql_engine(url, opts)


class Database:
    """An engine plus a session factory; one per app or CLI invocation."""

    def __init__(
        self, url: str, options: PoolOptions | None = None, settings: Settings | None = None
    ) -> None:
        self.url = url
        self.options = options or PoolOptions()
        self._settings = settings
        # what a process keeps beside this database and its settings (the catalog's search cache): dropped
        # with it, never shared with another database
        self.state: dict[str, Any] = {}
        self.engine = make_engine(url, self.options)
        # each session knows its database, so domain code reads the hub's settings from the unit of work
        # it was given (halric.core.settings.of)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, info={"database": self})
        self._writer_bind = self.engine.execution_options(**{WRITE: True})

    @property
    def settings(self) -> Settings:
        """The settings this database serves (given by the app or command; when none were given, read
        from the environment once for this database)."""
        if self._settings is None:
            from halric.core.settings import Settings

            self._settings = Settings()
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value
        self.state.clear()  # kept state was built from the settings before

    @property
    def has_settings(self) -> bool:
        """Whether settings were given (or already read) for this database."""
        return self._settings is not None

    def new_session(self, *, write: bool = True) -> Session:
        """A session not yet begun; ``write=False`` marks a reader (on SQLite it never takes the write
        lock and must not write)."""
        return self.sessionmaker(bind=self._writer_bind) if write else self.sessionmaker()

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        s = self.new_session(write=write)
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
