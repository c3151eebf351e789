"""Federation fixtures: real hub processes (`halric serve`, each with its own database and data directory)
as remote sites, seeded through their SciCat API, plus stand-in sites in their own processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.federation import RemoteHub

SHARED_DOI = "10.5555/halric-shared-" + uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def remotes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two real hub processes, alpha and beta, with different data and access groups (started once for all
    federation tests; tests that change a site's data add their own records).

    alpha: public 'lysozyme crystal', private 'quokka secret' (alpha-team), public shared-DOI dataset.
    beta: public 'lysozyme solution' with a temperature, private 'wombat secret' (beta-team), the same
    shared-DOI dataset; a harvester account in beta-team (its token is the service token for harvests).
    """
    root = tmp_path_factory.mktemp("sites")
    alpha, beta = RemoteHub("alpha", root), RemoteHub("beta", root)
    try:
        for hub in (alpha, beta):
            hub.start()
        w: dict[str, Any] = {"alpha": alpha, "beta": beta}
        w["alice"] = alpha.user(["alpha-team"], "alice")
        w["bob"] = beta.user(["beta-team"], "bob")
        w["harvester"] = beta.user(["beta-team"], "harv")
        for hub in (alpha, beta):
            hub.wait()
        a = w["alice"]
        w["alpha_public"] = alpha.dataset(a, "alpha-team", "Lysozyme crystal at alpha", isPublished=True,
                                          keywords=["lysozyme", "crystal"], description="MX of lysozyme")  # fmt: skip
        w["alpha_secret"] = alpha.dataset(a, "alpha-team", "Quokka secret lysozyme", keywords=["quokka"])
        alpha.dataset(
            a, "alpha-team", "Shared lysozyme reference (alpha copy)", pid=SHARED_DOI, isPublished=True
        )
        b = w["bob"]
        w["beta_public"] = beta.dataset(
            b, "beta-team", "Lysozyme solution at beta", isPublished=True, keywords=["lysozyme", "saxs"],
            techniques=[{"pid": "PaNET01188", "name": "small angle x-ray scattering"}],
            scientificMetadata={"sample_temperature": {"value": 25, "unit": "celsius"}},
        )  # fmt: skip
        w["beta_secret"] = beta.dataset(b, "beta-team", "Wombat secret lysozyme", keywords=["wombat"])
        beta.dataset(b, "beta-team", "Shared lysozyme reference", pid=SHARED_DOI, isPublished=True,
                     description="the same data, known at beta too")  # fmt: skip
        w["shared"] = SHARED_DOI
        yield w
    finally:
        alpha.stop()
        beta.stop()
