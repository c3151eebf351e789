"""Input shapes for sites (validated at the edges: web forms, JSON API, CLI)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from halric.core.answers import Out
from halric.federation.models import MODES
from halric.federation.sites import kinds

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESERVED = {"local"}


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Short name shown with every result, e.g. maxiv")
    url: str = Field(description="Base address: the hub or SciCat root, or the PaNOSC search API root")
    kind: str = Field(description="a registered kind of site: hub, scicat or panosc (federation.sites)")
    mode: str = Field(default="live", description="live (ask on every search) or harvest (local index)")
    timeout: float = Field(default=5.0, description="Seconds to wait for the site, 0.1–120")
    enabled: bool = True
    description: str = Field(default="", max_length=2000)
    landing_template: str | None = Field(
        default=None, description="Address of a record at the site, with {url} and {pid}"
    )
    group_map: dict[str, list[str]] = Field(
        default_factory=dict, description="The site's access groups -> hub groups whose members see them"
    )
    harvest_interval_minutes: int | None = Field(
        default=None,
        ge=0,
        le=525_600,
        description="Minutes between scheduled harvests (harvest mode); empty: the hub's default, 0: never",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not NAME.match(v):
            raise ValueError("use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if v.lower() in RESERVED:
            raise ValueError(f"{v!r} is reserved for the hub's own catalog")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", v):
            raise ValueError("give an http:// or https:// address without query or fragment")
        if len(v) > 500:
            raise ValueError("at most 500 characters")
        return v

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in kinds():
            raise ValueError(f"use one of {', '.join(kinds())}")
        return v

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in MODES:
            raise ValueError(f"use one of {', '.join(MODES)}")
        return v

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: float) -> float:
        if not 0.1 <= v <= 120:
            raise ValueError("give between 0.1 and 120 seconds")
        return float(v)

    @field_validator("landing_template")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if "{pid}" not in v or len(v) > 500:
            raise ValueError("must contain {pid} (and may contain {url}); at most 500 characters")
        return v

    @field_validator("group_map")
    @classmethod
    def _groups(cls, v: dict[str, Any]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for remote, hub in v.items():
            remote = str(remote).strip()
            groups = [str(g).strip() for g in (hub if isinstance(hub, list) else [hub]) if str(g).strip()]
            if not remote or not groups:
                continue
            if len(remote) > 150 or any(len(g) > 150 for g in groups):
                raise ValueError("group names have at most 150 characters")
            out[remote] = sorted(set(groups))
        return out


def parse_group_map(text: str) -> dict[str, list[str]]:
    """``remote-group = hub-group, other-hub-group`` per line (the form's text area)."""
    out: dict[str, list[str]] = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            from halric.core.errors import InvalidInput

            raise InvalidInput(
                f"group_map: line {n}: write 'site-group = hub-group, hub-group'", field="group_map"
            )
        remote, hub = line.split("=", 1)
        out.setdefault(remote.strip(), []).extend(g.strip() for g in hub.split(",") if g.strip())
    return out


def format_group_map(m: dict[str, list[str]]) -> str:
    return "\n".join(f"{k} = {', '.join(v)}" for k, v in sorted(m.items()))


class SiteOut(Out):
    """A registered site as coordinators see it (``service.site_dict``; never its token)."""

    name: str
    url: str
    kind: str
    mode: str = Field(description="live (searched at question time) or harvest (a local index)")
    timeout: float = Field(description="seconds")
    enabled: bool
    description: str
    landing_template: str | None
    has_service_token: bool
    group_map: dict[str, Any] = Field(description="remote group → the hub's groups")
    harvest_interval_minutes: int | None
    status: str
    last_contact: str | None
    last_checked: str | None
    last_elapsed_ms: float | None
    last_error: str | None
    harvest: dict[str, Any] = Field(
        description="last_finished, in_progress_since, cursor, records and the last harvest's counts"
    )
