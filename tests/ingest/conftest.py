"""Fixtures of the data-handling tests: small demo data (a few MB), a SciCat stand-in, CLI runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import SMALL_MX
from .scicat_standin import SciCatStandIn


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MX (NXmx master + 3 data files), SAXS (NXsas + text files) and tomography (TIFF) demo data, ~6 MB."""
    from halric.ingest.demo import write_demo

    root = tmp_path_factory.mktemp("demo")
    write_demo(root / "mx", "mx", 2_400_000, frame_pixels=SMALL_MX, frames_per_file=3, seed=3)
    write_demo(root / "saxs", "saxs", 1_600_000, frame_pixels=(487, 195), seed=4)
    write_demo(root / "tomo", "tomo", 1_000_000, frame_pixels=(128, 128), seed=5, fmt="tiff")
    return root


@pytest.fixture()
def data_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A private copy of the demo data a test may change."""
    import shutil

    dst = tmp_path / "data"
    shutil.copytree(demo_root, dst)
    return dst


@pytest.fixture()
def scicat() -> Iterator[SciCatStandIn]:
    with SciCatStandIn() as sc:
        yield sc


@pytest.fixture()
def ingest_env(tmp_path: Path) -> dict[str, str]:
    """Environment for `halric` subprocesses: private data dir (journals), data roots = the test's tmp."""
    d = tmp_path / "halric-data"
    d.mkdir(exist_ok=True)
    return {"HALRIC_DATA_DIR": str(d), "HALRIC_DATA_ROOTS": str(tmp_path)}
