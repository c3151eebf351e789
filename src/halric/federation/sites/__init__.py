"""The kinds of federation site: one module per kind, each an adapter (``base.SiteAdapter``), and the
registry that maps a kind's name to its adapter. Fan-out, harvest and records call through
``adapter_for``; the kinds a site may be registered with are ``kinds()``.

Adding a kind: a module here with a class implementing ``SiteAdapter`` and one ``register`` line below.
"""

from __future__ import annotations

from halric.federation.sites.base import (
    Cursor,
    HarvestError,
    HarvestPage,
    SiteAdapter,
    SiteAnswer,
    SiteError,
    Target,
)

_ADAPTERS: dict[str, SiteAdapter] = {}


def register(adapter: SiteAdapter) -> None:
    """Make ``adapter.kind`` a kind of site (replacing an adapter of the same kind)."""
    if not adapter.kind or len(adapter.kind) > 16:
        raise ValueError("a kind of site is named in 1–16 characters")
    _ADAPTERS[adapter.kind] = adapter


def unregister(kind: str) -> None:
    """Forget a kind (sites already registered with it can no longer be asked)."""
    _ADAPTERS.pop(kind, None)


def adapter_for(kind: str) -> SiteAdapter:
    """The adapter of a registered kind; ``KeyError`` for another."""
    return _ADAPTERS[kind]


def kinds() -> tuple[str, ...]:
    """The registered kinds, in the order they were registered."""
    return tuple(_ADAPTERS)


from halric.federation.sites import hub, panosc, scicat  # noqa: E402  (the built-in kinds)

register(hub.HubSite())
register(scicat.SciCatSite())
register(panosc.PaNOSCSite())

__all__ = [
    "Cursor",
    "HarvestError",
    "HarvestPage",
    "SiteAdapter",
    "SiteAnswer",
    "SiteError",
    "Target",
    "adapter_for",
    "kinds",
    "register",
    "unregister",
]
