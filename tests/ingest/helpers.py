"""Helpers shared by the data-handling tests."""

from __future__ import annotations

import os
import subprocess
import sys

SMALL_MX = (256, 256)


def run_cli(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "halric.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
