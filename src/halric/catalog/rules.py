"""Who may read and change catalog records. One place, used by every read path (API, search, facets,
includes, landing pages, exports) so no path can show what another would hide.

- Anonymous callers read only published records.
- A signed-in user reads records whose ownerGroup or accessGroups meet their groups, and published ones.
- A confidential dataset (of a confidential pilot's proposal, not released by its team: catalog/confidential.py)
  is read by its owner group only, whatever isPublished or accessGroups say — for everyone else it does not
  exist, in any listing, count or facet.
- Only the owner group, data stewards (role ``steward``) and admins change a record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from halric.core.actor import Actor
from halric.core.errors import NotAuthenticated, PermissionDenied

CURATOR_ROLES = ("steward",)


def is_curator(actor: Actor) -> bool:
    """Stewards and admins see and change every record."""
    return actor.has_role(*CURATOR_ROLES)


def can_read(
    actor: Actor,
    owner_group: str,
    access_groups: list[Any],
    is_published: bool,
    *,
    confidential: bool = False,
) -> bool:
    if is_curator(actor):
        return True
    if confidential:
        return not actor.is_anonymous and owner_group in actor.groups
    if is_published:
        return True
    if actor.is_anonymous:
        return False
    return owner_group in actor.groups or bool(actor.groups.intersection(access_groups or ()))


def can_read_dataset(actor: Actor, ds: Any) -> bool:
    """``can_read`` for a catalog Dataset row."""
    return can_read(
        actor, ds.owner_group, ds.access_groups, ds.is_published, confidential=bool(ds.confidential)
    )


def can_write(actor: Actor, owner_group: str) -> bool:
    if is_curator(actor):
        return True
    return not actor.is_anonymous and owner_group in actor.groups


def ensure_signed_in(actor: Actor, what: str) -> None:
    if actor.is_anonymous and not actor.is_admin:  # maintenance commands act as an admin without a user
        raise NotAuthenticated(f"Sign in to {what}.")


def ensure_may_own(actor: Actor, owner_group: str, what: str) -> None:
    """Creating a record for a group needs membership of that group (or curator rights)."""
    ensure_signed_in(actor, what)
    if not can_write(actor, owner_group):
        raise PermissionDenied(
            f"ownerGroup: you are not a member of {owner_group!r}; use one of your groups "
            f"({', '.join(sorted(actor.groups)) or 'you have none'}) or ask a data steward.",
            field="ownerGroup",
        )


def read_scope(actor: Actor) -> tuple[str, ...]:
    """What the actor may read, as a value: ``("all",)`` for curators, ``("published",)`` for anonymous
    callers and users without groups, else ``("groups", *sorted groups)``. ``dataset_visibility`` is built
    from it, so two actors with the same scope see exactly the same datasets (the search cache's key)."""
    if is_curator(actor):
        return ("all",)
    if actor.is_anonymous or not actor.groups:
        return ("published",)
    return ("groups", *sorted(actor.groups))


def dataset_visibility(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on catalog_datasets selecting what the actor may read."""
    from halric.catalog.models import Dataset, DatasetTerm

    scope = read_scope(actor)
    if scope[0] == "all":
        return true()
    open_ = Dataset.confidential.is_(False)
    published = and_(Dataset.is_published.is_(True), open_)
    if scope[0] == "published":
        return published
    groups = list(scope[1:])
    shared = exists(
        select(DatasetTerm.id).where(
            DatasetTerm.dataset_pid == Dataset.pid, DatasetTerm.kind == "group", DatasetTerm.value.in_(groups)
        )
    )
    return or_(published, Dataset.owner_group.in_(groups), and_(open_, shared))


def ownable_visibility(actor: Actor, model: Any, dialect: str) -> ColumnElement[bool]:
    """SQL condition on a small ownable table (samples, proposals) selecting what the actor may read:
    the same rule as ``can_read``, with ``accessGroups`` a JSON list."""
    from halric.catalog.query import JsonList, condition

    scope = read_scope(actor)
    if scope[0] == "all":
        return true()
    published = model.is_published.is_(True)
    if scope[0] == "published":
        return published
    groups = list(scope[1:])
    shared = condition({"g": {"inq": groups}}, {"g": JsonList(model.access_groups)}, dialect)
    return or_(published, model.owner_group.in_(groups), shared)
