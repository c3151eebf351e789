"""Typed settings read from ``HALRIC_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from halric.core.db import PoolOptions


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "halric"


class Settings(BaseSettings):
    """Every setting has a name, a default and a help text (see docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="HALRIC_", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory for the embedded SQLite database, secrets and caches.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB. "
        "Default: SQLite file halric.db in the data directory.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Secret for signing tokens (JWT). Default: generated once and kept in DATA_DIR/secret_key.",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Where computed indexes (matchmaking embeddings) are cached. Default: DATA_DIR/cache.",
    )
    site_name: str = Field(default="HALRIC Hub", description="Name shown in page titles.")
    session_hours: int = Field(default=12, ge=1, le=24 * 30, description="Lifetime of a browser session.")
    cookie_secure: str = Field(
        default="auto",
        description="Secure flag of cookies: auto (set when the request came over HTTPS), always or never.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins for one user name from one address before each further attempt "
        "must wait (30 s, doubling); one address over all names may fail four times as often.",
    )
    login_lock_minutes: int = Field(
        default=15, ge=1, description="The longest wait between sign-in attempts after repeated failures."
    )
    admin_password: str | None = Field(
        default=None, description="Password of the first admin account created by `halric init`."
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Public address of the hub, used in e-mails."
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for outgoing mail.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_user: str | None = Field(default=None, description="SMTP user name (optional).")
    smtp_password: str | None = Field(default=None, description="SMTP password (optional).")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS.")
    smtp_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the SMTP server.")
    mail_delivery: str = Field(
        default="smtp",
        description="How mail leaves the hub: smtp (through the HALRIC_SMTP_* server) or local (kept in the "
        "hub's outbox and read by administrators at /admin/mail; what `make run` uses for development).",
    )
    mail_from: str = Field(
        default="HALRIC Hub <no-reply@halric.localhost>", description="Sender of hub e-mails."
    )
    password_min_length: int = Field(default=10, ge=8, description="Minimum password length.")
    signup: bool = Field(
        default=True,
        description="Let people open their own account (role applicant, after confirming their e-mail).",
    )
    local_signin: bool = Field(
        default=True,
        description="Let people sign in with a user name and password. Off: only through the identity "
        "providers configured with `halric idp` (API tokens keep working).",
    )
    oidc_leeway_seconds: int = Field(
        default=60, ge=0, le=600, description="Clock skew allowed when checking an ID token's times."
    )
    signup_confirm_hours: int = Field(default=48, ge=1, le=24 * 30, description="Life of a sign-up link.")
    password_reset_minutes: int = Field(default=60, ge=5, le=24 * 60, description="Life of a reset link.")

    broker_url: str | None = Field(
        default=None,
        description="Task-queue broker: redis://HOST:6379/0 or amqp://USER:PASS@HOST:5672/VHOST. Unset: jobs "
        "run inside the web process (in-process fallback, one machine).",
    )
    broker_namespace: str = Field(
        default="halric",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,60}$",
        description="Prefix of the broker's queue (and of its Redis keys); one per hub sharing a broker.",
    )
    worker_threads: int = Field(default=4, ge=1, le=64, description="Jobs one `halric worker` runs at once.")
    worker_inprocess: bool = Field(
        default=True,
        description="With no broker: `halric serve` runs the jobs and the schedules in its own process.",
    )
    job_max_retries: int = Field(
        default=5, ge=0, le=50, description="Retries of a failing job before it goes to the dead-letter list."
    )
    job_min_backoff_seconds: float = Field(
        default=15.0, gt=0, description="Wait before the first retry; doubles at every retry."
    )
    job_max_backoff_seconds: float = Field(default=3600.0, gt=0, description="Longest wait between retries.")
    job_time_limit_seconds: int = Field(
        default=1800, ge=1, description="A job running longer is stopped and retried."
    )
    job_keep_days: int = Field(
        default=14, ge=1, description="Finished jobs are kept this long (`halric db purge`); dead ones stay."
    )
    # --- how long personal data is kept (docs/privacy.md, record of processing) ---
    retention_unconfirmed_days: int = Field(
        default=7, ge=1, le=365,
        description="Accounts opened on the sign-up page whose address was never confirmed are deleted "
        "after this many days.",
    )  # fmt: skip
    retention_mail_days: int = Field(
        default=90, ge=0, le=36500,
        description="Delivered mail is deleted from the outbox this many days after it was sent (0: at the "
        "next purge). Mail not yet delivered is kept.",
    )  # fmt: skip
    retention_session_days: int = Field(
        default=0, ge=0, le=365,
        description="Browser sessions are deleted this many days after they expired or ended by time "
        "(0: at the next purge). Signing out deletes a session at once.",
    )  # fmt: skip
    retention_address_days: int = Field(
        default=30, ge=1, le=3650,
        description="Client addresses (IP) and browser descriptions are removed from the audit log, "
        "sessions, e-mail links and background jobs this many days after they were recorded.",
    )  # fmt: skip
    schedule_mail_seconds: int = Field(
        default=60, ge=0, description="Deliver the mail outbox this often (0: never; use cron)."
    )
    schedule_embargo_seconds: int = Field(
        default=3600, ge=0, description="Release datasets whose embargo ended this often (0: never)."
    )
    schedule_doi_seconds: int = Field(
        default=900,
        ge=0,
        description="Retry DOI registrations DataCite could not take this often (0: never).",
    )
    schedule_purge_seconds: int = Field(
        default=86400,
        ge=0,
        description="Run `db purge` (the retention periods: sessions, mail, addresses, jobs …) this often "
        "(0: never).",
    )
    schedule_visits_seconds: int = Field(
        default=900,
        ge=0,
        description="Send access-visit reminders and feedback requests that are due this often (0: never).",
    )
    harvest_interval_minutes: int = Field(
        default=60,
        ge=0,
        description="Harvest each site in harvest mode this often, unless the site sets its own (0: never).",
    )
    scheduler_tick_seconds: float = Field(
        default=15.0, gt=0, description="How often the scheduler looks for periodic jobs that are due."
    )

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            return None  # HALRIC_BROKER_URL= (empty): no broker
        if v is not None and not v.startswith(("redis://", "rediss://", "unix://", "amqp://", "amqps://")):
            raise ValueError(
                "give redis://HOST:PORT/DB or amqp://USER:PASSWORD@HOST:PORT/VHOST, or leave it unset"
            )
        return v

    # --- data handling: `halric ingest`, `verify`, `compress`, `codecs advise` (halric.ingest.config) ---
    data_roots: str | None = Field(
        default=None,
        description="Folders (separated by ':') that data commands may read and write. "
        "Default: home folder, data directory and temporary folder.",
    )
    ingest_journal_dir: Path | None = Field(
        default=None, description="Where ingest journals are kept. Default: DATA_DIR/ingest-journals."
    )
    ingest_chunk_mib: int = Field(default=8, ge=1, le=256, description="Read size of the streaming hash.")
    ingest_map_settled_s: float | None = Field(
        default=10.0,
        ge=0,
        description="Hash files of 4 MiB or more that were not modified for this many seconds through "
        "memory mappings instead of reads (faster; a file truncated by another program while it is hashed "
        "stops the process). Empty or 'off': always read.",
    )
    ingest_pause_per_file_s: float = Field(
        default=0.0, ge=0, description="Test knob only: sleep after hashing each file."
    )

    # --- the catalog (docs/catalog.md) ---
    catalog_pid_prefix: str = Field(
        default="20.500.12345",
        description="Prefix of dataset pids (prefix/uuid), like a SciCat site's PID prefix.",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    )
    catalog_embargo_years: int = Field(
        default=3, ge=0, le=100,
        description="Default embargo: years after a dataset's creation time, or after its registration at "
        "the hub when that is later.",
    )  # fmt: skip
    catalog_token_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="Lifetime of the JWT answered by the SciCat login."
    )
    catalog_base_url: str | None = Field(
        default=None,
        description="Public address of the hub that dataset landing pages and DOIs point at. "
        "Default: HALRIC_BASE_URL (one public address; a hub that sets only that must not register DOIs "
        "whose landing pages point at localhost).",
    )
    datacite_url: str | None = Field(
        default=None, description="DataCite REST API, e.g. https://api.test.datacite.org (unset: no DOIs)."
    )
    datacite_user: str | None = Field(default=None, description="DataCite repository id (user name).")
    datacite_password: str | None = Field(default=None, description="DataCite repository password.")
    datacite_prefix: str = Field(default="10.80000", description="DOI prefix assigned by DataCite.")
    datacite_publisher: str = Field(default="HALRIC", description="Publisher written into DataCite metadata.")
    download_roots: str | None = Field(
        default=None,
        description="Folders (separated by ':') whose catalogued files are served for download. "
        "Unset: the folders of HALRIC_DATA_ROOTS when that is set, otherwise DATA_DIR/data (made by "
        "`halric init`). Empty: downloads off.",
    )
    storage_countries: str = Field(
        default="",
        description="Where data may live: storage locations and their country, 'PREFIX=CC' entries separated "
        "by ';' (a folder such as /data/maxiv or an address such as https://data.example.dk/, and an ISO "
        "3166 alpha-2 code), e.g. '/data/maxiv=SE;/mnt/rigshospitalet=DK'. The longest matching prefix "
        "wins. A project that restricts where its data may live accepts only datasets on these locations "
        "(docs/privacy.md).",
    )
    catalog_search_cache: bool = Field(
        default=True,
        description="Keep the counts of broad searches in memory until the catalog changes "
        "(each server process its own cache).",
    )
    catalog_search_cache_size: int = Field(
        default=256, ge=1, le=100_000,
        description="Entries the search cache keeps: a search's counts, a window of its pids "
        "(the least recently used go first).",
    )  # fmt: skip
    catalog_search_cache_min_matches: int = Field(
        default=1, ge=0,
        description="Only searches matching at least this many datasets are cached (a search that matches "
        "nothing is not kept).",
    )  # fmt: skip

    # --- federation (docs/federation.md) ---
    federation_allow_http: bool = Field(
        default=False, description="Allow sites at http:// addresses (default: https only)."
    )
    federation_allow_private_hosts: bool = Field(
        default=False,
        description="Allow sites whose host is this machine or on a private, link-local or other "
        "non-public network (default: refused).",
    )

    # --- under load (docs/deployment.md, "Several workers") ---
    db_pool_size: int = Field(
        default=10, ge=1, le=500, description="Database connections each server process keeps open."
    )
    db_max_overflow: int = Field(
        default=10, ge=0, le=500, description="Extra connections a process may open at peak (closed after)."
    )
    db_pool_timeout: float = Field(
        default=10.0, gt=0, le=300,
        description="Seconds a request waits for a free connection before it is answered 503 (retry).",
    )  # fmt: skip
    db_statement_timeout: float = Field(
        default=30.0, ge=0, description="PostgreSQL: longest statement of a web request, seconds (0: none)."
    )
    db_lock_timeout: float = Field(
        default=10.0, ge=0, description="PostgreSQL: longest wait for a row or table lock, seconds (0: none)."
    )
    db_idle_in_transaction_timeout: float = Field(
        default=300.0, ge=0,
        description="PostgreSQL: a web connection idle inside a transaction this long is ended (0: never).",
    )  # fmt: skip
    sqlite_busy_timeout: float = Field(
        default=20.0, gt=0, le=600, description="SQLite: seconds a writer waits for another process's write."
    )
    auth_cache_seconds: float = Field(
        default=0.0, ge=0, le=300,
        description="SciCat API only: how long a process may remember who a Bearer token belongs to. "
        "0 (the default): looked up on every request, so a revoked token, a deactivated account or "
        "changed groups take effect at once; above 0 they may lag by that many seconds.",
    )  # fmt: skip
    max_body_default: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body in bytes for routes not named below."
    )
    max_body_auth: int = Field(
        default=16 * 1024, ge=1024, description="Largest body of sign-in, sign-up and token requests."
    )
    max_body_catalog: int = Field(
        default=64 * 1024 * 1024, ge=1024,
        description="Largest body of SciCat API writes (/api/v3, /api/v4): datasets, file lists, attachments.",
    )  # fmt: skip
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses (or networks) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed. Default: none, the peer address is the client.",
    )

    @field_validator("ingest_map_settled_s", mode="before")
    @classmethod
    def _map_settled(cls, v: object) -> object:
        if isinstance(v, str) and v.strip().lower() in {"", "off", "never", "none"}:
            return None  # HALRIC_INGEST_MAP_SETTLED_S= (empty) or off: always read
        return v

    @field_validator("cookie_secure")
    @classmethod
    def _cookie_mode(cls, v: str) -> str:
        if v not in {"auto", "always", "never"}:
            raise ValueError("must be auto, always or never")
        return v

    @field_validator("mail_delivery")
    @classmethod
    def _mail_delivery(cls, v: str) -> str:
        if v not in {"smtp", "local"}:
            raise ValueError("must be smtp or local")
        return v

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'halric.db').as_posix()}"

    @property
    def public_url(self) -> str:
        """Where dataset landing pages and DOIs point: HALRIC_CATALOG_BASE_URL, else HALRIC_BASE_URL."""
        return (self.catalog_base_url or self.base_url).rstrip("/")

    @property
    def cache_path(self) -> Path:
        path = self.cache_dir or (self.data_dir / "cache")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pool_options(self) -> PoolOptions:
        from halric.core.db import PoolOptions

        return PoolOptions(
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            pool_timeout=self.db_pool_timeout,
            statement_timeout=self.db_statement_timeout,
            lock_timeout=self.db_lock_timeout,
            idle_in_transaction_timeout=self.db_idle_in_transaction_timeout,
            busy_timeout=self.sqlite_busy_timeout,
        )

    def ensure_data_dir(self) -> Path:
        from halric.core.private import private_dir

        return private_dir(self.data_dir)

    @cached_property
    def signing_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / "secret_key"
        if not path.exists():
            from halric.core.private import private_file

            private_file(path).write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()


def get_settings() -> Settings:
    return Settings()


def of(s: Session) -> Settings:
    """The settings of the hub whose database made this unit of work (``Database(settings=…)``): domain code
    that needs a setting reads it from the session it was given, so each app, command and test has its own
    settings and nothing is cached per process."""
    return s.info["database"].settings
