"""Erasing an account (GDPR art. 17), by an administrator, in one transaction.

What the person was responsible for goes to a **successor** (an active account the administrator names):
applications they own, the contact and owner roles of their datasets, proposals and samples, the
published data they created, and the groups an administrator had given them (which own their data).
What records history keeps a **pseudonym** (``erased-`` + 16 hex digits, halric.core.personal): the audit
log, comments, workflow steps, team rows, investigators, ``createdBy``. What only served the person goes:
password, sessions, API tokens, identities, e-mail links, federated-site tokens, the expert profile, mail
to them still in the outbox; matchmaking questions lose the link to the account. Finally every text and
JSON column of the database is swept for the person's addresses, ORCID iD and name (halric.gdpr.sweep).

The account row stays (records point at it), inactive, under the pseudonym, with ``erased_at`` set: it
cannot sign in, be changed, get a password or token, or be erased again. The hub keeps an active
administrator. Any failure rolls everything back: the caller's transaction holds every change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from halric.accounts import personal as accounts
from halric.accounts.models import User
from halric.accounts.service import _other_active_admins, get_user
from halric.calls import mail
from halric.calls import personal as calls
from halric.catalog import personal as catalog
from halric.core import audit
from halric.core.actor import Actor
from halric.core.audit import AuditEvent
from halric.core.errors import Conflict, InvalidInput, PermissionDenied
from halric.core.personal import Person, Pseudonym, pseudonym_for
from halric.federation import personal as federation
from halric.gdpr import sweep
from halric.jobs.models import Job
from halric.match import personal as match
from halric.projects import service as projects
from halric.registry import personal as registry

# audit details under these keys are vocabulary, not people: a user called "admin" must not rename a role
NOT_PEOPLE = frozenset({"roles", "role", "groups", "group", "kind", "action", "state", "provider", "outcome",
                        "verdict", "via", "source"})  # fmt: skip
# audit details of events about the account: what these keys hold (and their from/to) is the person's
PERSONAL_KEYS = {"email": "email", "full_name": "name", "username": "name", "orcid": "name", "name": "name"}


@dataclass
class Erasure:
    user_id: int
    pseudonym: str
    successor: str
    handed_over: dict[str, Any] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    pseudonymised: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "pseudonym": self.pseudonym, "successor": self.successor,
                "handed_over": self.handed_over, "removed": self.removed,
                "pseudonymised": self.pseudonymised}  # fmt: skip


def _check(
    s: Session, actor: Actor, user_id: int, successor_id: int | None, confirm_email: str | None
) -> tuple[User, User]:
    if not actor.is_admin:
        raise PermissionDenied("Only administrators erase accounts.")
    user = get_user(s, user_id)
    if user.erased_at is not None:
        raise Conflict("This account was erased already.")
    if confirm_email is not None and confirm_email.strip().lower() != user.email.lower():
        raise InvalidInput(
            "confirm_email: type the e-mail address of the account to erase, exactly", field="confirm_email"
        )
    if successor_id is None:
        raise InvalidInput(
            "successor: name the account that takes over the person's applications and data",
            field="successor",
        )
    if successor_id == user.id:
        raise InvalidInput("successor: choose another account than the one to erase", field="successor")
    successor = s.get(User, successor_id)
    if successor is None:
        raise InvalidInput(f"successor: no account with id {successor_id}", field="successor")
    if successor.erased_at is not None or not successor.is_active:
        raise InvalidInput(f"successor: {successor.username} is not an active account", field="successor")
    if user.id == actor.user_id:
        raise Conflict("You cannot erase your own account; ask another administrator.")
    if "admin" in user.role_names and user.is_active and _other_active_admins(s, user) == 0:
        raise Conflict("This is the last active administrator; make another one first.")
    return user, successor


def _walk(value: Any, replace: Any, key: str | None = None) -> Any:
    """``value`` with ``replace(key, text)`` applied to every text, knowing the key it stands under."""
    if isinstance(value, dict):
        return {k: _walk(v, replace, k if k not in ("from", "to") else key) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, replace, key) for v in value]
    if isinstance(value, str):
        return replace(key, value)
    return value


def _former(s: Session, user: User) -> tuple[set[str], set[str]]:
    """Addresses and names the account had before (kept in the audit log of its changes)."""
    emails: set[str] = set()
    names: set[str] = set()

    def note(key: str | None, text: str) -> str:
        if key == "email" and "@" in text:
            emails.add(text.strip().lower())
        elif key == "full_name" and text.strip():
            names.add(text.strip())
        return text

    q = select(AuditEvent.details).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user.id)
    )
    for (details,) in s.execute(q):
        _walk(details, note)
    return emails - {user.email.lower()}, names - {user.full_name.strip()}


def _pseudonymise_audit(s: Session, person: Person, pseudonym: Pseudonym) -> int:
    """The person's own events keep the pseudonym as their actor (and lose the address); events about
    the account have the personal fields of their details replaced; user names in other events'
    details (an assigned reviewer, a group's members) become the pseudonym."""
    uid = str(person.user_id)
    lowered = person.username.lower()

    def in_about(key: str | None, text: str) -> str:
        kind = PERSONAL_KEYS.get(key or "")
        if kind is not None:
            return pseudonym.email if kind == "email" else pseudonym.name
        return in_other(key, text)

    def in_other(key: str | None, text: str) -> str:
        if key in NOT_PEOPLE or text.strip().lower() != lowered:
            return text
        return pseudonym.name

    text = func.lower(cast(AuditEvent.details, Text))
    q = select(AuditEvent).where(
        or_(
            AuditEvent.actor_id == person.user_id,
            and_(AuditEvent.entity_type == "user", AuditEvent.entity_id == uid),
            text.like(f"%{lowered}%"),
        )
    )
    n = 0
    for e in s.scalars(q):
        about = e.entity_type == "user" and e.entity_id == uid
        details = _walk(e.details, in_about if about else in_other)
        changed = details != e.details
        if changed:
            e.details = details
        if e.actor_id == person.user_id:
            e.actor_name, e.ip, changed = pseudonym.name, None, True
        n += changed
    return n


def _pseudonymise_jobs(s: Session, person: Person, pseudonym: Pseudonym) -> int:
    n = 0
    for job in s.scalars(select(Job).where(Job.actor["user_id"].as_integer() == person.user_id)):
        job.actor = {**job.actor, "username": pseudonym.name, "ip": None}
        job.requested_by = pseudonym.name
        n += 1
    return n


def erase_account(
    s: Session,
    actor: Actor,
    user_id: int,
    successor_id: int | None,
    *,
    secret: str,
    confirm_email: str | None = None,
    base_url: str = "",
) -> Erasure:
    """Erase account ``user_id`` and hand what it was responsible for to ``successor_id`` (see the module
    docstring). ``confirm_email``, when given, must be the account's address (the erase page asks for
    it). Audited ("erase", naming the successor); the successor is told by mail what they received."""
    user, successor = _check(s, actor, user_id, successor_id, confirm_email)
    former_emails, former_names = _former(s, user)
    base = accounts.person_of(s, user)
    person = Person(
        user_id=base.user_id, username=base.username, email=base.email, full_name=base.full_name,
        orcid=base.orcid, other_emails=tuple(sorted(set(base.other_emails) | former_emails)),
    )  # fmt: skip
    heir = accounts.person_of(s, successor)
    pseudonym = pseudonym_for(secret, user.id, user.email)
    if s.scalar(select(User.id).where(func.lower(User.username) == pseudonym.name)) is not None:
        raise Conflict("An account already carries this account's pseudonym.")  # pragma: no cover - 2^-64

    projects_of = calls.applications_of(s, person)
    done = Erasure(user_id=user.id, pseudonym=pseudonym.name, successor=successor.username)
    done.handed_over = {"groups": accounts.hand_over_groups(s, user, successor)}
    pseudonymised: dict[str, int] = {}
    for domain, counts in (("calls", calls.hand_over(s, person, heir, pseudonym)),
                           ("catalog", catalog.hand_over(s, person, heir, pseudonym))):  # fmt: skip
        for k, v in counts.items():
            if k in ("applications", "datasets", "proposals", "samples", "published_data"):
                done.handed_over[k] = v
            elif k == "records_named":
                pseudonymised["catalog.records"] = v
            elif k == "mail":
                done.removed["mail"] = v
            else:
                pseudonymised[f"{domain}.{k}"] = v
    done.removed.update(registry.erase(s, person))
    done.removed.update(federation.erase(s, person, pseudonym))
    pseudonymised.update({f"match.{k}": v for k, v in match.detach(s, person).items()})
    pseudonymised["audit_events"] = _pseudonymise_audit(s, person, pseudonym)
    pseudonymised["jobs"] = _pseudonymise_jobs(s, person, pseudonym)
    done.removed.update(accounts.erase(s, user, pseudonym))
    s.flush()
    # project spaces of those applications: the successor joins the teams' groups, proposals are rewritten
    synced = [r for aid in sorted(projects_of) if (r := projects.sync(s, actor, aid)) is not None]
    if synced:
        done.handed_over["project_spaces"] = len(synced)

    from halric.models import metadata

    found = sweep.needles(person, pseudonym, names=tuple(sorted(former_names)))
    for table, n in sweep.sweep(s, list(metadata.sorted_tables), found).items():
        pseudonymised[f"sweep.{table}"] = n
    s.expire_all()  # the sweep wrote past the ORM: read again what is used below
    done.pseudonymised = {k: v for k, v in pseudonymised.items() if v}
    done.removed = {k: v for k, v in done.removed.items() if v}

    audit.record(s, actor, "erase", "user", user.id, {"successor_id": successor.id, **done.summary()})
    _tell_successor(s, successor, done, base_url)
    return done


def _tell_successor(s: Session, successor: User, done: Erasure, base_url: str) -> None:
    given = {k: v for k, v in done.handed_over.items() if v}
    if not given:
        return
    lines = []
    for key, label in (("applications", "application(s)"), ("datasets", "dataset(s) (owner or contact)"),
                       ("proposals", "proposal(s)"), ("samples", "sample(s)"),
                       ("published_data", "published data record(s)")):  # fmt: skip
        if given.get(key):
            lines.append(f"- {given[key]} {label}")
    if given.get("groups"):
        lines.append(f"- the group(s) {', '.join(given['groups'])}")
    mail.queue(
        s, successor.email, "HALRIC Hub: you took over from an erased account",
        f"Hello {successor.full_name or successor.username},\n\nan administrator erased the account "
        f"{done.pseudonym} at the person's request and named you as its successor. You are now responsible "
        "for:\n\n" + "\n".join(lines) + f"\n\nSign in to see them: {base_url.rstrip('/') or 'the hub'}\n",
    )  # fmt: skip
