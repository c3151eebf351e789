"""What a kind of site provides to the hub (``SiteAdapter``) and the shapes it deals in.

Pure of the database: an adapter speaks HTTP to one kind of catalog and answers in the hub's shapes
(``SiteAnswer`` for federated search, ``HarvestPage`` for harvesting, normalised records as in
``federation.records``). The HTTP clients are made by ``fanout.async_client`` and ``harvest._client``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

FACETS = ("technique", "instrument", "keyword", "type")


@dataclass
class Target:
    """One site as the fan-out asks it."""

    name: str
    kind: str  # a registered kind: hub | scicat | panosc | ...
    url: str
    timeout: float
    token: str | None = None
    public_only: bool = True  # ask only for public records (anonymous callers, service tokens)
    landing_template: str | None = None


@dataclass
class SiteAnswer:
    name: str
    status: str  # ok | timeout | error
    elapsed_ms: float
    source: str = "live"  # live | index | local
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None  # None: the site does not say
    facets: dict[str, dict[str, int]] | None = None  # None: the site gives no facets
    message: str | None = None

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "elapsed_ms": round(self.elapsed_ms, 1)}


class SiteError(Exception):
    """A site answered, but not usefully (HTTP error, not JSON, unexpected shape)."""


class HarvestError(Exception):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where a harvest stands: a modification time with the pids already taken at that time (for sites
    read in order of modification), or a count of records already read (for sites read in full)."""

    time: str | None = None
    seen: frozenset[str] = frozenset()
    skip: int = 0


@dataclass
class HarvestPage:
    records: list[dict[str, Any]]  # normalised records to store (``federation.records``)
    cursor: Cursor  # where the next page starts
    last: bool  # no page after this one


class SiteAdapter(Protocol):
    """One kind of site. Register an instance with ``federation.sites.register``."""

    kind: str  # the name sites are registered with (at most 16 characters)
    health_path: str  # a cheap GET that answers when the site is up
    landing: str  # where the site shows a record: a pattern with ``{url}`` and ``{pid}``

    async def search(self, client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
        """Ask the site (``client``: an ``httpx.AsyncClient``); raise ``SiteError`` for a useless answer."""
        ...

    def harvest_page(self, c: Any, cursor: Cursor, page_size: int) -> HarvestPage:
        """One page of records from ``cursor`` (``c``: an ``httpx.Client`` with the site as base URL)."""
        ...

    def harvest_listing(self, c: Any) -> set[str] | None:
        """After the last page: every pid the site still has, or None when the pages read the site in
        full (records not read in this run are then removed)."""
        ...


def _headers(t: Target) -> dict[str, str]:
    return {"Authorization": f"Bearer {t.token}"} if t.token else {}


async def get_json(client: Any, t: Target, path: str, params: dict[str, Any]) -> Any:
    """A GET for federated search; failures as ``SiteError``."""
    import httpx

    try:
        r = await client.get(t.url.rstrip("/") + path, params=params, headers=_headers(t), timeout=t.timeout)
    except httpx.HTTPError as exc:
        raise SiteError(f"{type(exc).__name__}: could not reach the site") from None
    if r.status_code in (401, 403):
        raise SiteError(f"HTTP {r.status_code}: the site refused the token (renew it on your tokens page)")
    if r.status_code >= 400:
        raise SiteError(f"HTTP {r.status_code} from the site")
    try:
        return r.json()
    except ValueError:
        raise SiteError("the site did not answer JSON") from None


def get(c: Any, path: str, params: dict[str, Any]) -> Any:
    """A GET for harvesting; failures as ``HarvestError``."""
    import httpx

    try:
        r = c.get(path, params=params)
    except httpx.HTTPError as exc:
        raise HarvestError(f"{type(exc).__name__}: could not reach the site") from None
    if r.status_code >= 400:
        raise HarvestError(f"HTTP {r.status_code} from {path}")
    try:
        return r.json()
    except ValueError:
        raise HarvestError(f"{path} did not answer JSON") from None


def bucket(value: str | None) -> str | None:
    """A modification time to milliseconds (the precision SciCat answers with)."""
    if not value:
        return None
    from datetime import datetime

    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
