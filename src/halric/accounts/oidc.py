"""The OpenID Connect relying party: discovery, the authorisation code flow with PKCE, state and nonce,
and the ID token checked against the provider's JWKS — all through Authlib (OAuth 2 client) and joserfc
(JOSE, Authlib's own JOSE library). No hand-written JOSE.

The hub keeps no server-side state for a sign-in in progress: :func:`begin` returns the state, nonce
and PKCE verifier, which the web layer seals into a short-lived cookie (halric.core.sealing) and hands
back to :func:`finish`.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any

from halric.core.errors import HalricError, NotAuthenticated

DISCOVERY_TTL = 600.0  # seconds a provider's metadata and keys are reused
TIMEOUT = 10.0


class ProviderUnavailable(HalricError):
    """The identity provider cannot be reached or answered nonsense; local sign-in still works."""

    status = 503


class SignInRefused(NotAuthenticated):
    """The answer from the provider is not a valid sign-in (state, code, ID token)."""

    status = 400


@dataclass(frozen=True)
class Client:
    """What the hub needs to talk to one provider."""

    name: str
    display_name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    redirect_uri: str


@dataclass(frozen=True)
class Pending:
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Result:
    claims: dict[str, Any]  # the ID token's claims, completed by the UserInfo endpoint's
    id_token: str


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def forget(issuer: str | None = None) -> None:
    """Drop cached metadata and keys (one issuer, or all)."""
    with _lock:
        for d in (_cache, _jwks):
            if issuer is None:
                d.clear()
            else:
                d.pop(issuer, None)


def _get_json(url: str, what: str, display: str) -> dict[str, Any]:
    import httpx

    try:
        r = httpx.get(url, timeout=TIMEOUT, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(
            f"{display} cannot be reached right now ({type(exc).__name__}). Try again later, or sign in "
            "another way."
        ) from exc
    if r.status_code != 200:
        raise ProviderUnavailable(
            f"{display} did not give its {what} (HTTP {r.status_code}). Try again later, or sign in "
            "another way."
        )
    try:
        data = r.json()
    except ValueError as exc:
        raise ProviderUnavailable(f"{display} sent {what} that is not JSON.") from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"{display} sent {what} that is not a JSON object.")
    return data


def discover(issuer: str, display: str = "The identity provider") -> dict[str, Any]:
    """The provider's metadata from ``ISSUER/.well-known/openid-configuration``; its ``issuer`` must be
    exactly the configured one (OpenID Connect Discovery §4.3)."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(issuer)
    if hit and now - hit[0] < DISCOVERY_TTL:
        return hit[1]
    meta = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "configuration", display)
    if meta.get("issuer") != issuer:
        raise ProviderUnavailable(
            f"{display} names itself {meta.get('issuer')!r}, not the configured issuer {issuer!r}; an "
            "administrator must correct the provider's issuer."
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(key), str):
            raise ProviderUnavailable(f"{display}'s configuration lacks {key}.")
    with _lock:
        _cache[issuer] = (now, meta)
    return meta


@dataclass(frozen=True)
class Probe:
    """What a provider's discovery answered (:func:`probe`)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    keys: int
    end_session: bool
    missing_scopes: list[str]  # asked for, but not in the provider's scopes_supported


def probe(issuer: str, display: str, scopes: str = "openid") -> Probe:
    """Ask the provider afresh (nothing cached) for its configuration and signing keys, as a sign-in
    would; ProviderUnavailable says what is wrong."""
    forget(issuer)
    meta = discover(issuer, display)
    keys = _get_json(meta["jwks_uri"], "signing keys", display).get("keys")
    if not isinstance(keys, list) or not keys:
        raise ProviderUnavailable(f"{display} publishes no signing keys at {meta['jwks_uri']}.")
    supported = meta.get("scopes_supported")
    missing = [sc for sc in scopes.split() if isinstance(supported, list) and sc not in supported]
    return Probe(
        issuer=issuer, authorization_endpoint=meta["authorization_endpoint"],
        token_endpoint=meta["token_endpoint"], keys=len(keys),
        end_session=isinstance(meta.get("end_session_endpoint"), str), missing_scopes=missing,
    )  # fmt: skip


def _key_set(meta: dict[str, Any], display: str, *, refresh: bool):  # type: ignore[no-untyped-def]
    from joserfc.jwk import KeySet

    issuer = meta["issuer"]
    with _lock:
        jwks = None if refresh else _jwks.get(issuer)
    if jwks is None:
        jwks = _get_json(meta["jwks_uri"], "signing keys", display)
        with _lock:
            _jwks[issuer] = jwks
    try:
        return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except Exception as exc:  # joserfc raises several kinds for a malformed set
        raise ProviderUnavailable(f"{display}'s signing keys cannot be read.") from exc


def _oauth(client: Client, meta: dict[str, Any]):  # type: ignore[no-untyped-def]
    from authlib.integrations.httpx_client import OAuth2Client

    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    return OAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        token_endpoint_auth_method=method,
        scope=client.scopes,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        timeout=TIMEOUT,
    )


def begin(client: Client) -> tuple[str, Pending]:
    """The URL to send the person to, and what must come back with them."""
    from authlib.common.security import generate_token

    meta = discover(client.issuer, client.display_name)
    pending = Pending(state=generate_token(32), nonce=generate_token(32), code_verifier=generate_token(64))
    with _oauth(client, meta) as oauth:
        url, _ = oauth.create_authorization_url(
            meta["authorization_endpoint"],
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
        )
    return url, pending


def validate_id_token(
    client: Client, meta: dict[str, Any], id_token: str, *, nonce: str, access_token: str | None,
    leeway: int = 60,
) -> dict[str, Any]:  # fmt: skip
    """Check an ID token: signature by a key in the provider's JWKS (fetched again once when the key
    id is unknown: key rotation), an algorithm the provider announces, ``iss``, ``aud`` (this client),
    ``azp``, ``exp``/``iat`` (with ``leeway`` seconds), ``nonce`` and ``at_hash``."""
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.errors import InvalidKeyIdError, JoseError
    from joserfc.jws import JWSRegistry

    algs = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algs = [a for a in algs if a != "none"]
    registry = JWSRegistry(algorithms=algs, strict_check_header=False)
    display = client.display_name
    try:
        try:
            token = jwt.decode(id_token, key=_key_set(meta, display, refresh=False), registry=registry)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, key=_key_set(meta, display, refresh=True), registry=registry)
    except (JoseError, ValueError) as exc:
        raise SignInRefused(
            f"The ID token from {display} is not validly signed ({exc.__class__.__name__}). Start again."
        ) from exc
    params: dict[str, Any] = {"nonce": nonce, "client_id": client.client_id}
    if access_token:
        params["access_token"] = access_token
    options = {
        "iss": {"essential": True, "value": client.issuer},
        "aud": {"essential": True, "value": client.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    claims = CodeIDToken(token.claims, token.header, options, params)  # type: ignore[arg-type]
    try:
        claims.validate(leeway=leeway)
    except JoseError as exc:
        name = getattr(exc, "claim", None) or exc.error
        hint = {
            "exp": "it has expired (is the hub's clock right?)",
            "aud": "it was issued to another client",
            "iss": "it was issued by another provider",
            "nonce": "it does not belong to this sign-in",
        }.get(str(name), f"claim {name} is not valid")
        raise SignInRefused(f"The ID token from {display} was refused: {hint}. Start again.") from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SignInRefused(f"The ID token from {display} has no subject. Start again.")
    return dict(claims)


def finish(
    client: Client, pending: Pending, *, state: str | None, code: str | None, leeway: int = 60
) -> Result:
    """Exchange the code (with the PKCE verifier) for tokens, validate the ID token and add the claims
    of the UserInfo endpoint (same ``sub`` required)."""
    if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise SignInRefused(
            "The answer from the provider does not belong to the sign-in this browser started (state "
            "differs). Start again."
        )
    if not code:
        raise SignInRefused("The provider sent no authorisation code. Start again.")
    import httpx
    from authlib.integrations.base_client.errors import OAuthError

    meta = discover(client.issuer, client.display_name)
    with _oauth(client, meta) as oauth:
        try:
            token = oauth.fetch_token(
                meta["token_endpoint"], code=code, code_verifier=pending.code_verifier,
                grant_type="authorization_code",
            )  # fmt: skip
        except OAuthError as exc:
            raise SignInRefused(
                f"{client.display_name} did not accept the sign-in code ({exc.error}: it was used already, "
                "has expired or belongs to another sign-in). Start again."
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{client.display_name} cannot be reached right now. Try again later, or sign in another way."
            ) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused(f"{client.display_name} sent no ID token. Start again.")
        claims = validate_id_token(
            client, meta, id_token, nonce=pending.nonce, access_token=token.get("access_token"), leeway=leeway
        )
        if meta.get("userinfo_endpoint") and token.get("access_token"):
            try:
                r = oauth.get(meta["userinfo_endpoint"])
                info = r.json() if r.status_code == 200 else {}
            except (httpx.HTTPError, ValueError):
                info = {}
            if isinstance(info, dict) and info.get("sub") == claims["sub"]:
                claims = {**info, **claims}
    return Result(claims=claims, id_token=id_token)


def logout_url(client: Client, *, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """Where to send the person to end their session at the provider (RP-initiated logout), or None
    when the provider offers no ``end_session_endpoint`` or cannot be reached."""
    from authlib.common.urls import add_params_to_uri

    try:
        meta = discover(client.issuer, client.display_name)
    except ProviderUnavailable:
        return None
    endpoint = meta.get("end_session_endpoint")
    if not isinstance(endpoint, str):
        return None
    params = [("client_id", client.client_id), ("post_logout_redirect_uri", post_logout_redirect_uri)]
    if id_token:
        params.insert(0, ("id_token_hint", id_token))
    return add_params_to_uri(endpoint, params)
