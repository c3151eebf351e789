"""Validated shapes for account input at the edges (HTTP, CLI)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from halric.accounts.roles import normalise_role

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,149}$")


GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,149}$")


def _clean_roles(v: list[str]) -> list[str]:
    if not v:
        raise ValueError("give at least one role")
    return sorted({normalise_role(r) for r in v})


def _clean_groups(v: list[str]) -> list[str]:
    out = []
    for g in v:
        g = g.strip()
        if not GROUP_RE.match(g):
            raise ValueError(f"group name {g!r} may use letters, digits, '.', '_', ':' and '-'")
        out.append(g)
    return sorted(set(out))


class NewUser(BaseModel):
    username: str = Field(description="Letters, digits, . _ @ - (2–150 characters)")
    email: EmailStr
    password: str
    roles: list[str] = Field(default_factory=lambda: ["applicant"])
    groups: list[str] = Field(default_factory=list)
    full_name: str = ""
    organisation_id: str | None = None

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not USERNAME_RE.match(v):
            raise ValueError(
                "use 2–150 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
            )
        return v

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[str]) -> list[str]:
        return _clean_roles(v)

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        return _clean_groups(v)


class UserUpdate(BaseModel):
    """A change to an existing account: only the fields given change. ``None`` for
    ``organisation_id`` clears it; an empty ``groups`` list removes every group."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    full_name: str | None = Field(None, max_length=200)
    roles: list[str] | None = None
    groups: list[str] | None = None
    organisation_id: str | None = Field(None, max_length=64)
    is_active: bool | None = None

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _clean_roles(v)

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _clean_groups(v)


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str


class UserOut(BaseModel):
    id: int
    username: str
    email: str
    full_name: str
    roles: list[str]
    groups: list[str]
    organisation_id: str | None
    is_active: bool


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    token: str | None = None
    expires_at: str | None = None


class SignUp(BaseModel):
    """What a person gives to open their own account (the hub's sign-up page)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(description="Letters, digits, . _ @ - (2–150 characters)")
    email: EmailStr
    password: str
    full_name: str = Field(min_length=1, max_length=200)

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        return NewUser._username(v)

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("give your name")
        return v
