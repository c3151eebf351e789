"""Who is acting: passed to every service that reads protected data or changes anything."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)
    organisation: str | None = None
    ip: str | None = None
    via: str = "web"  # web | api | cli | system

    @property
    def is_anonymous(self) -> bool:
        """No account and no roles. Maintenance actors (``system_actor``) carry roles, so they are not."""
        return self.user_id is None and not self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles or self.via == "system"

    def has_role(self, *roles: str) -> bool:
        return self.is_admin or bool(self.roles.intersection(roles))


ANONYMOUS = Actor(user_id=None, username="anonymous")


def system_actor(name: str = "system", via: str = "cli") -> Actor:
    """The actor for maintenance commands run on the server itself (cron, CLI)."""
    return Actor(user_id=None, username=name, roles=frozenset({"admin"}), via=via)
