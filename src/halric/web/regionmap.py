"""The region map: infrastructures drawn as an inline SVG over a shipped basemap (no tile server)."""

from __future__ import annotations

import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from halric.registry.mapproj import BASEMAP_HEIGHT, BASEMAP_WIDTH, project
from halric.registry.models import Infrastructure

BASEMAP = Path(__file__).parent / "static" / "region-basemap.json"
CORE = {"SE", "DK", "DE", "NO"}


@lru_cache(maxsize=1)
def basemap() -> dict[str, Any]:
    return json.loads(BASEMAP.read_text(encoding="utf-8"))


def build_map(infras: list[Infrastructure], s: Session) -> dict[str, Any]:
    """Group infrastructures by site (rounded position) so that one marker lists everything at a place."""
    from halric.registry.service import search_instruments, InstrumentFilter  # noqa: I001

    sites: dict[tuple[float, float], list[Infrastructure]] = defaultdict(list)
    for i in infras:
        lat = i.lat if i.lat is not None else i.organisation.lat
        lon = i.lon if i.lon is not None else i.organisation.lon
        if lat is None or lon is None:
            continue
        sites[(round(lat, 2), round(lon, 2))].append(i)
    markers = []
    for (lat, lon), group in sites.items():
        x, y = project(lat, lon)
        if not (0 <= x <= BASEMAP_WIDTH and 0 <= y <= BASEMAP_HEIGHT):
            continue
        n = sum(len(search_instruments(s, InstrumentFilter(infrastructure=g.id))) for g in group)
        markers.append(
            {
                "x": round(x, 1), "y": round(y, 1), "r": round(5 + min(n, 40) ** 0.5 * 1.6, 1),
                "city": group[0].city, "instruments": n,
                "infras": sorted(((g.id, g.name) for g in group), key=lambda t: t[1]),
            }
        )  # fmt: skip
    markers.sort(key=lambda m: -m["r"])  # big circles first, small ones stay clickable on top
    bm = basemap()
    return {
        "width": bm["width"],
        "height": bm["height"],
        "countries": [{**c, "core": c["iso"] in CORE} for c in bm["countries"]],
        "attribution": bm["attribution"],
        "markers": markers,
    }
