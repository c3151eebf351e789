"""Which addresses a federation site may have. A coordinator registers a site by URL and the hub then
calls it, with a service token, from inside the facility's network; an address on that network (the
hub's own machine, a database, a cloud metadata service) would turn the hub into a proxy. So:

- ``https`` only, unless ``HALRIC_FEDERATION_ALLOW_HTTP`` is set;
- no user name or password in the URL (give a service token instead);
- the host name is resolved, and every address it resolves to must be a public one: not loopback,
  private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the cloud metadata
  address, fe80::/10), shared (100.64/10), multicast, reserved or unspecified, also inside IPv4-mapped
  IPv6 — unless ``HALRIC_FEDERATION_ALLOW_PRIVATE_HOSTS`` is set (a hub federating sites on its own
  network, and the test suite).

Checked when a site is registered or its URL changes, and again on every call: a host name that
resolved to a public address at registration may later resolve to a private one (DNS rebinding), so the
address the hub actually connected to is checked as each answer arrives (:func:`peer_hooks`) and the
answer is thrown away, unread, when it is not public (docs/federation.md).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from halric.core.errors import InvalidInput
from halric.core.settings import Settings


def _bad(msg: str) -> InvalidInput:
    return InvalidInput(f"url: {msg}", field="url")


def non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def check_site_url(url: str, cfg: Settings) -> str:
    """``url`` when the hub may call it (``cfg``: the hub's settings); InvalidInput (400) saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _bad(f"{url!r} is not a usable address ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and cfg.federation_allow_http):
        raise _bad(
            f"{url!r}: sites are reached over https only (the administrator may allow http with "
            "HALRIC_FEDERATION_ALLOW_HTTP)"
        )
    if parts.username is not None or parts.password is not None:
        raise _bad("do not put a user name or password in the address; give the site's service token instead")
    host = parts.hostname
    if not host:
        raise _bad(f"{url!r} names no host")
    if cfg.federation_allow_private_hosts:
        return url
    try:
        infos = socket.getaddrinfo(host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise _bad(f"the host {host!r} cannot be resolved from the hub ({exc}); check the address") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if non_public(ip):
            raise _bad(
                f"{host!r} resolves to {ip}, an address on this machine or a private, link-local or "
                "otherwise non-public network; the hub does not call such sites (the administrator may "
                "allow them with HALRIC_FEDERATION_ALLOW_PRIVATE_HOSTS)"
            )
    return url


class NonPublicPeer(httpx.TransportError):
    """The site's host name led the hub's connection to a non-public address (DNS rebinding)."""


def _check_peer(response: httpx.Response, cfg: Settings) -> None:
    if cfg.federation_allow_private_hosts:
        return
    stream = response.extensions.get("network_stream")
    addr = stream.get_extra_info("server_addr") if stream is not None else None
    if not addr:
        raise NonPublicPeer("the address the hub connected to is unknown; the answer is not used")
    ip = ipaddress.ip_address(str(addr[0]).split("%", 1)[0])
    if non_public(ip):
        raise NonPublicPeer(
            f"the site's host now resolves to {ip}, a non-public address; the answer is not used"
        )


def peer_hooks(cfg: Settings) -> dict[str, list[object]]:
    """``event_hooks`` for an ``httpx.Client``: refuse an answer from a non-public address."""
    return {"response": [lambda r: _check_peer(r, cfg)]}


def async_peer_hooks(cfg: Settings) -> dict[str, list[object]]:
    """The same for an ``httpx.AsyncClient`` (its hooks are coroutines)."""

    async def hook(r: httpx.Response) -> None:
        _check_peer(r, cfg)

    return {"response": [hook]}
