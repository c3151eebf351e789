"""Identity providers (OpenID Connect) an administrator lets people sign in with, and the rules that
turn their group claims into hub groups. Client secrets are stored sealed (halric.core.sealing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import ExternalIdentity, Group, GroupRule, IdentityProvider
from halric.accounts.schemas import GROUP_RE
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.sealing import SealBox

SECRET_SALT = b"halric-idp-client-secrets"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
CLAIM_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class Preset:
    display_name: str
    issuer: str
    scopes: str
    groups_claim: str | None


# What each research-community provider needs (docs/accounts.md, "Registering the hub").
PRESETS: dict[str, Preset] = {
    # Life Science Login (ELIXIR/EOSC-Life AAI): home organisation, ORCID or a commercial account
    "lslogin": Preset(
        "LS Login",
        "https://login.aai.lifescience-ri.eu/oidc/",
        "openid profile email eduperson_entitlement",
        "eduperson_entitlement",
    ),
    # MyAccessID (GÉANT; EuroHPC, EOSC): eduGAIN home organisations
    "myaccessid": Preset(
        "MyAccessID",
        "https://proxy.myaccessid.org/",
        "openid profile email eduperson_entitlement",
        "eduperson_entitlement",
    ),
    # ORCID's public API: sub is the ORCID iD; ORCID gives no e-mail address and no groups
    "orcid": Preset("ORCID", "https://orcid.org", "openid", None),
}


def secret_box(signing_key: str) -> SealBox:
    box = SealBox(signing_key, SECRET_SALT)
    box.field = "client_secret"
    return box


def _check_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only administrators configure identity providers.")


def check_issuer(issuer: str) -> str:
    issuer = issuer.strip()
    if len(issuer) > 500:
        raise InvalidInput("issuer: give an address of at most 500 characters", field="issuer")
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise InvalidInput(f"issuer: {issuer!r} is not a web address", field="issuer") from None
    local = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise InvalidInput(
            "issuer: give the provider's https:// address (http only for 127.0.0.1/localhost)",
            field="issuer",
        )
    if not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput("issuer: give a URL without query or fragment", field="issuer")
    return issuer


def add_provider(
    s: Session,
    actor: Actor,
    box: SealBox,
    *,
    name: str,
    issuer: str | None,
    client_id: str,
    client_secret: str,
    scopes: str | None = None,
    groups_claim: str | None = None,
    display_name: str | None = None,
    preset: str | None = None,
) -> IdentityProvider:
    """Configure a provider. A ``preset`` fills issuer, scopes, groups claim and display name; what is
    given explicitly wins."""
    _check_admin(actor)
    name = name.strip().lower()
    if not NAME_RE.match(name):
        raise InvalidInput("name: use 1–64 lower-case letters, digits and '-'", field="name")
    p = None
    if preset:
        p = PRESETS.get(preset.strip().lower())
        if p is None:
            raise InvalidInput(f"preset: choose one of {', '.join(sorted(PRESETS))}", field="preset")
    issuer = issuer or (p.issuer if p else None)
    if not issuer:
        raise InvalidInput("issuer: give the provider's issuer URL (or a --preset)", field="issuer")
    issuer = check_issuer(issuer)
    client_id = client_id.strip()
    if not client_id or len(client_id) > 255:
        raise InvalidInput("client_id: give the client id the provider registered (1–255 characters)",
                           field="client_id")  # fmt: skip
    scope_list = (scopes if scopes is not None else (p.scopes if p else "openid email profile")).split()
    if "openid" not in scope_list:
        scope_list.insert(0, "openid")
    if any(not re.match(r"^[\x21\x23-\x5b\x5d-\x7e]+$", sc) for sc in scope_list):
        raise InvalidInput("scopes: give scope names separated by spaces", field="scopes")
    if len(" ".join(dict.fromkeys(scope_list))) > 500:
        raise InvalidInput("scopes: give at most 500 characters of scope names", field="scopes")
    claim = groups_claim if groups_claim is not None else (p.groups_claim if p else None)
    if claim is not None:
        claim = claim.strip() or None
    if claim is not None and not CLAIM_RE.match(claim):
        raise InvalidInput("groups_claim: give a claim name (letters, digits, _ . : -)", field="groups_claim")
    if not client_secret.strip() or len(client_secret) > 4096:
        raise InvalidInput(
            "client_secret: give the client secret the provider issued for the hub", field="client_secret"
        )
    display = (display_name or (p.display_name if p else "") or name).strip()[:100]
    if s.scalar(select(IdentityProvider.id).where(IdentityProvider.name == name)) is not None:
        raise Conflict(f"An identity provider named {name!r} exists already.", field="name")
    row = IdentityProvider(
        name=name,
        display_name=display,
        issuer=issuer,
        client_id=client_id,
        client_secret_sealed=box.seal(client_secret),
        scopes=" ".join(dict.fromkeys(scope_list)),
        groups_claim=claim,
        preset=preset.strip().lower() if preset else None,
    )
    s.add(row)
    s.flush()
    audit.record(
        s, actor, "create", "identity-provider", name,
        {"issuer": issuer, "client_id": client_id, "scopes": row.scopes, "groups_claim": claim},
    )  # fmt: skip
    return row


def list_providers(s: Session) -> list[IdentityProvider]:
    return list(s.scalars(select(IdentityProvider).order_by(IdentityProvider.display_name)))


def get_provider(s: Session, name: str) -> IdentityProvider:
    row = s.scalar(select(IdentityProvider).where(IdentityProvider.name == name))
    if row is None:
        raise NotFound(f"No identity provider named {name!r}.")
    return row


def linked_identities(s: Session, name: str) -> int:
    """How many identities were linked through the provider ``name``."""
    return len(list(s.scalars(select(ExternalIdentity.id).where(ExternalIdentity.provider == name))))


def remove_provider(s: Session, actor: Actor, name: str) -> int:
    """Remove a provider. Identities linked through it stay (the person keeps the account and signs in
    another way), and so do the group rules naming it; both work again if the provider is added back
    under the same name. Returns how many identities there are."""
    _check_admin(actor)
    row = get_provider(s, name)
    linked = linked_identities(s, name)
    s.delete(row)
    audit.record(s, actor, "delete", "identity-provider", name, {"linked_identities": linked})
    return linked


# --- group rules -----------------------------------------------------------------------------------


def add_rule(
    s: Session, actor: Actor, *, provider: str | None, claim: str, value: str, group: str
) -> GroupRule:
    _check_admin(actor)
    if provider:
        get_provider(s, provider)
    claim, value, group = claim.strip(), value.strip(), group.strip()
    if not CLAIM_RE.match(claim):
        raise InvalidInput("claim: give a claim name (letters, digits, _ . : -)", field="claim")
    if not value or len(value) > 500:
        raise InvalidInput("value: give the claim value to match (1–500 characters)", field="value")
    if not GROUP_RE.match(group):
        raise InvalidInput("group: a group name uses letters, digits, '.', '_', ':' and '-'", field="group")
    clash = s.scalar(
        select(GroupRule.id).where(
            GroupRule.provider == (provider or None) if provider else GroupRule.provider.is_(None),
            GroupRule.claim == claim,
            GroupRule.value == value,
            GroupRule.group_name == group,
        )
    )
    if clash is not None:
        raise Conflict(f"This rule exists already (id {clash}).")
    rule = GroupRule(provider=provider or None, claim=claim, value=value, group_name=group)
    s.add(rule)
    s.flush()
    audit.record(
        s, actor, "create", "idp-group-rule", rule.id,
        {"provider": provider, "claim": claim, "value": value, "group": group},
    )  # fmt: skip
    return rule


def hub_groups(s: Session) -> list[str]:
    """The groups the hub knows (those some account has or had), for choosing a rule's group."""
    return list(s.scalars(select(Group.name).order_by(Group.name)))


def list_rules(s: Session) -> list[GroupRule]:
    return list(s.scalars(select(GroupRule).order_by(GroupRule.group_name, GroupRule.id)))


def remove_rule(s: Session, actor: Actor, rule_id: int) -> None:
    _check_admin(actor)
    rule = s.get(GroupRule, rule_id)
    if rule is None:
        raise NotFound(f"No group rule with id {rule_id}.")
    s.delete(rule)
    audit.record(
        s, actor, "delete", "idp-group-rule", rule_id,
        {"provider": rule.provider, "claim": rule.claim, "value": rule.value, "group": rule.group_name},
    )  # fmt: skip


def _values(claim: object) -> list[str]:
    if isinstance(claim, str):
        return [claim]
    if isinstance(claim, list | tuple):
        return [v for v in claim if isinstance(v, str)]
    return []


def groups_for(rules: list[GroupRule], provider: str, claims: dict[str, object]) -> set[str]:
    """The hub groups ``rules`` grant a person signing in through ``provider`` with ``claims``."""
    out: set[str] = set()
    for rule in rules:
        if rule.provider not in (None, provider):
            continue
        for v in _values(claims.get(rule.claim)):
            if rule.value.endswith("*"):
                if v.startswith(rule.value[:-1]):
                    out.add(rule.group_name)
            elif v == rule.value:
                out.add(rule.group_name)
    return out
