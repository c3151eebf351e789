"""Sites, per-user site tokens and site health. Coordinators (and admins) manage sites; every signed-in
user manages their own tokens. Tokens are stored encrypted (``crypto.TokenBox``) and never shown again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from halric.core.settings import of as settings_of
from halric.core.timeutil import utcnow
from halric.federation.addresses import check_site_url
from halric.federation.crypto import TokenBox
from halric.federation.models import HarvestedRecord, Site, SiteUserToken
from halric.federation.schemas import SiteIn

MANAGER_ROLES = ("coordinator",)
HEALTH_WRITE_EVERY = timedelta(seconds=30)  # unchanged health is written at most this often


def may_manage(actor: Actor) -> bool:
    return actor.has_role(*MANAGER_ROLES)


def ensure_manager(actor: Actor) -> None:
    if actor.is_anonymous and not actor.is_admin:  # maintenance commands act as an admin without a user
        raise NotAuthenticated("Sign in to manage sites.")
    if not may_manage(actor):
        raise PermissionDenied("Only coordinators and administrators register and change sites.")


def validate(data: dict[str, Any]) -> SiteIn:
    """Site input as a SiteIn; the first problem as InvalidInput naming the field."""
    try:
        return SiteIn.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        name = ".".join(str(p) for p in e["loc"]) or "site"
        raise InvalidInput(f"{name}: {e['msg'].replace('Value error, ', '')}", field=name) from None


# --- sites ------------------------------------------------------------------------------------------------


def site_dict(site: Site, *, records: int | None = None) -> dict[str, Any]:
    """A site as shown to coordinators and printed by ``halric sites list --json`` (never its token)."""

    def iso(v: Any) -> str | None:
        return v.isoformat().replace("+00:00", "Z") if v else None

    return {
        "name": site.name,
        "url": site.url,
        "kind": site.kind,
        "mode": site.mode,
        "timeout": site.timeout,
        "enabled": site.enabled,
        "description": site.description,
        "landing_template": site.landing_template,
        "has_service_token": bool(site.service_token),
        "group_map": dict(site.group_map or {}),
        "harvest_interval_minutes": site.harvest_interval_minutes,
        "status": site.status,
        "last_contact": iso(site.last_contact_at),
        "last_checked": iso(site.last_checked_at),
        "last_elapsed_ms": None if site.last_elapsed_ms is None else round(site.last_elapsed_ms, 1),
        "last_error": site.last_error,
        "harvest": {
            "last_finished": iso(site.harvest_finished_at),
            "in_progress_since": iso(site.harvest_started_at),
            "cursor": site.harvest_cursor_time,
            "records": records,
            **(site.harvest_stats or {}),
        },
    }


def list_sites(s: Session, *, enabled_only: bool = False) -> list[Site]:
    q = select(Site).order_by(Site.name)
    if enabled_only:
        q = q.where(Site.enabled.is_(True))
    return list(s.scalars(q))


def record_counts(s: Session) -> dict[int, int]:
    rows = s.execute(
        select(HarvestedRecord.site_id, func.count(HarvestedRecord.id)).group_by(HarvestedRecord.site_id)
    )
    return {sid: int(n) for sid, n in rows}


def get_site(s: Session, key: str | int) -> Site:
    site = s.get(Site, key) if isinstance(key, int) else s.scalar(select(Site).where(Site.name == key))
    if site is None:
        raise NotFound(f"No site {key!r}. See the registered sites with `halric sites list`.")
    return site


def add_site(s: Session, actor: Actor, box: TokenBox, data: SiteIn, *, token: str | None = None) -> Site:
    ensure_manager(actor)
    check_site_url(data.url, settings_of(s))
    if s.scalar(select(Site).where(func.lower(Site.name) == data.name.lower())) is not None:
        raise Conflict(f"name: a site named {data.name!r} exists already; choose another name", field="name")
    now = utcnow()
    site = Site(
        name=data.name, url=data.url, kind=data.kind, mode=data.mode, timeout=data.timeout,
        enabled=data.enabled, description=data.description, landing_template=data.landing_template,
        group_map=data.group_map, service_token=box.seal(token) if token else None, status="unknown",
        harvest_interval_minutes=data.harvest_interval_minutes,
        harvest_cursor_seen=[],
        harvest_stats={}, created_by=actor.username, created_at=now, updated_by=actor.username, updated_at=now,
    )  # fmt: skip
    s.add(site)
    s.flush()
    audit.record(
        s, actor, "create", "federation_site", site.name,
        {"url": site.url, "kind": site.kind, "mode": site.mode, "service_token": bool(token)},
    )  # fmt: skip
    return site


def update_site(
    s: Session,
    actor: Actor,
    box: TokenBox,
    key: str | int,
    data: SiteIn,
    *,
    token: str | None = None,
    clear_token: bool = False,
) -> Site:
    ensure_manager(actor)
    site = get_site(s, key)
    if data.url != site.url:
        check_site_url(data.url, settings_of(s))
    if data.name.lower() != site.name.lower() and s.scalar(
        select(Site).where(func.lower(Site.name) == data.name.lower())
    ):
        raise Conflict(f"name: a site named {data.name!r} exists already", field="name")
    changed = []
    for attr in (
        "name",
        "url",
        "kind",
        "mode",
        "timeout",
        "enabled",
        "description",
        "landing_template",
        "group_map",
        "harvest_interval_minutes",
    ):
        new = getattr(data, attr)
        if getattr(site, attr) != new:
            setattr(site, attr, new)
            changed.append(attr)
    if token:
        site.service_token = box.seal(token)
        changed.append("service_token")
    elif clear_token and site.service_token:
        site.service_token = None
        changed.append("service_token")
    if {"url", "kind", "service_token"} & set(changed):  # another catalog or other rights: harvest anew
        reset_harvest(site)
    site.updated_by, site.updated_at = actor.username, utcnow()
    audit.record(s, actor, "update", "federation_site", site.name, {"fields": changed})
    return site


def reset_harvest(site: Site) -> None:
    site.harvest_cursor_time = None
    site.harvest_cursor_seen = []
    site.harvest_started_at = None
    site.harvest_stats = {}


def remove_site(s: Session, actor: Actor, key: str | int) -> None:
    ensure_manager(actor)
    site = get_site(s, key)
    name = site.name
    from halric.federation.models import HarvestedTerm

    ids = select(HarvestedRecord.id).where(HarvestedRecord.site_id == site.id)
    s.execute(delete(HarvestedTerm).where(HarvestedTerm.record_id.in_(ids)))
    s.execute(delete(HarvestedRecord).where(HarvestedRecord.site_id == site.id))
    s.execute(delete(SiteUserToken).where(SiteUserToken.site_id == site.id))
    s.delete(site)
    audit.record(s, actor, "delete", "federation_site", name, {})


# --- users' own tokens ------------------------------------------------------------------------------------


def set_user_token(s: Session, actor: Actor, box: TokenBox, key: str | int, token: str) -> None:
    """Store the actor's own token for a site (replacing any earlier one)."""
    if actor.user_id is None:
        raise NotAuthenticated("Sign in to store your token for a site.")
    site = get_site(s, key)
    sealed = box.seal(token)
    row = s.scalar(
        select(SiteUserToken).where(SiteUserToken.site_id == site.id, SiteUserToken.user_id == actor.user_id)
    )
    if row is None:
        s.add(SiteUserToken(site_id=site.id, user_id=actor.user_id, token=sealed))
    else:
        row.token, row.updated_at = sealed, utcnow()
    audit.record(s, actor, "set-token", "federation_site", site.name, {"user": actor.username})


def remove_user_token(s: Session, actor: Actor, key: str | int) -> bool:
    if actor.user_id is None:
        raise NotAuthenticated("Sign in to manage your site tokens.")
    site = get_site(s, key)
    n = s.execute(
        delete(SiteUserToken).where(SiteUserToken.site_id == site.id, SiteUserToken.user_id == actor.user_id)
    ).rowcount
    if n:
        audit.record(s, actor, "remove-token", "federation_site", site.name, {"user": actor.username})
    return bool(n)


def user_tokens(s: Session, actor: Actor, box: TokenBox) -> dict[int, str]:
    """The actor's readable tokens by site id (tokens sealed under an old key are left out)."""
    if actor.user_id is None:
        return {}
    out = {}
    for row in s.scalars(select(SiteUserToken).where(SiteUserToken.user_id == actor.user_id)):
        token = box.open(row.token)
        if token:
            out[row.site_id] = token
    return out


def token_status(s: Session, actor: Actor, box: TokenBox) -> dict[int, str]:
    """For the tokens page: per site id, 'stored' or 'unreadable' (sealed under an old hub key)."""
    if actor.user_id is None:
        return {}
    return {
        row.site_id: "stored" if box.open(row.token) else "unreadable"
        for row in s.scalars(select(SiteUserToken).where(SiteUserToken.user_id == actor.user_id))
    }


# --- health -----------------------------------------------------------------------------------------------


def record_health(
    s: Session, site: Site, status: str, elapsed_ms: float | None, message: str | None, *, force: bool = False
) -> None:
    """Store a site's health. An unchanged status is written at most every 30 s (searches are frequent)."""
    now = utcnow()
    if (
        not force
        and site.status == status
        and site.last_checked_at is not None
        and now - site.last_checked_at < HEALTH_WRITE_EVERY
    ):
        return
    site.status = status
    site.last_checked_at = now
    site.last_elapsed_ms = elapsed_ms
    site.last_error = None if status == "ok" else (message or status)[:1000]
    if status == "ok":
        site.last_contact_at = now


async def _ping(client: Any, site: Site, token: str | None) -> tuple[str, float, str | None]:
    import asyncio
    import time

    import httpx

    from halric.federation.sites import adapter_for

    path = adapter_for(site.kind).health_path
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    start = time.perf_counter()
    try:
        r = await asyncio.wait_for(
            client.get(site.url + path, headers=headers, timeout=site.timeout), timeout=site.timeout
        )
        elapsed = (time.perf_counter() - start) * 1000
        if r.status_code >= 500:
            return "error", elapsed, f"HTTP {r.status_code}"
        if r.status_code in (401, 403):
            return "error", elapsed, f"HTTP {r.status_code}: the service token was refused"
        return "ok", elapsed, None
    except TimeoutError:
        return "timeout", (time.perf_counter() - start) * 1000, f"no answer within {site.timeout:g} s"
    except httpx.HTTPError as exc:
        return (
            "error",
            (time.perf_counter() - start) * 1000,
            f"{type(exc).__name__}: could not reach the site",
        )


def check_health(s: Session, box: TokenBox, sites: list[Site]) -> list[dict[str, Any]]:
    """Ask every site at once whether it answers; store and return each one's health."""
    import asyncio

    from halric.federation.fanout import async_client

    async def run() -> list[tuple[str, float, str | None]]:
        async with async_client(settings_of(s)) as c:
            return list(await asyncio.gather(*(_ping(c, x, box.open(x.service_token)) for x in sites)))

    results = asyncio.run(run()) if sites else []
    out = []
    for site, (status, elapsed, msg) in zip(sites, results, strict=True):
        record_health(s, site, status, elapsed, msg, force=True)
        out.append({"name": site.name, "status": status, "elapsed_ms": round(elapsed, 1), "message": msg})
    return out
