"""Real OpenID providers for the tests (tests.support.oidc): one Node.js process per test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.support.oidc import HUB_SECRET, OP, Providers, start_providers


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Providers]:
    """Two providers in one Node process for a module whose hub uses the default base URL."""
    from halric.core.settings import Settings

    base = Settings.model_fields["base_url"].default
    p = start_providers(tmp_path_factory.mktemp("op"), [base])
    yield p
    p.stop()


@pytest.fixture()
def add_idp(app: Any, providers: Providers) -> Callable[..., str]:
    """Configure provider ``op`` at the hub under ``name`` (as `halric idp add` does)."""
    from halric.accounts import idp
    from halric.core.actor import system_actor

    def _add(name: str, op: OP, *, client_id: str = "hub", groups_claim: str | None = "groups",
             scopes: str = "openid email profile groups eduperson_entitlement") -> str:  # fmt: skip
        db = app.state.db
        with db.session() as s:
            if any(p.name == name for p in idp.list_providers(s)):
                return name
            idp.add_provider(
                s, system_actor("test"), idp.secret_box(app.state.settings.signing_key), name=name,
                issuer=op.issuer, client_id=client_id, client_secret=HUB_SECRET, scopes=scopes,
                groups_claim=groups_claim, display_name=f"Provider {name}",
            )  # fmt: skip
        return name

    return _add
