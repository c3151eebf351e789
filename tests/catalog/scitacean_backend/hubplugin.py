"""pytest plugin: scitacean's backend fixtures use the hub already serving on localhost:3000."""

from __future__ import annotations

from typing import Any


def pytest_configure(config: Any) -> None:
    import scitacean.testing.backend.fixtures as fixtures  # imported late: hypothesis must load first

    fixtures._backend_docker_up = lambda target_dir, version: None
    fixtures._backend_docker_down = lambda target_dir: None
    fixtures._backend_is_running = lambda: True
