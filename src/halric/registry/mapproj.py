"""Map projection of the HALRIC region basemap (pure Python, no dependencies).

The offline basemap ``halric/web/static/region-basemap.json`` holds the
outlines of the countries around the HALRIC region (Hamburg and
Schleswig-Holstein, Denmark, southern Sweden, southern Norway and their
neighbours), already projected into SVG coordinates of a
``BASEMAP_WIDTH`` x ``BASEMAP_HEIGHT`` canvas.  :func:`project` maps a
latitude/longitude (WGS 84 degrees) onto the same canvas, so markers for
infrastructures can be drawn over the basemap with no tile server and no
network access at run time.

Projection: Lambert conformal conic on a sphere, standard parallels
54°N and 60°N, origin 56.75°N 11.5°E, north up.  The projected unit-sphere
coordinates are multiplied by ``SCALE`` (pixels per Earth radius), then
shifted so the origin lands at (``X0``, ``Y0``); SVG ``y`` grows downwards.
At this scale one pixel is about 1.3 km along the standard parallels.  The
canvas covers longitude 4°E–19°E, latitude 52.5°N–61°N: 52.5°N touches the
bottom edge at 11.5°E and 61°N the top edge at 4°E and 19°E; since parallels
are arcs, the lower corners reach down to about 52.25°N and the top centre up
to about 61.25°N (Bergen, Oslo, Hamburg, Bornholm and Öland are all inside).

The JSON file carries the same numbers under ``"projection"``; both are
produced from the constants below by ``scripts/build_basemap.py``.

Data source and licence of the basemap: country outlines from Natural
Earth 1:10m "Admin 0 – Countries", version 4.1.0 (public domain, "Made
with Natural Earth", https://www.naturalearthdata.com/), taken from the
npm package ``world-atlas`` 2.0.2 (TopoJSON redistribution, ISC licence,
Copyright 2013-2019 Michael Bostock), clipped to the canvas and simplified.
This module itself contains no map data.
"""

from __future__ import annotations

import math

__all__ = [
    "BASEMAP_HEIGHT",
    "BASEMAP_WIDTH",
    "LAT0",
    "LAT1",
    "LAT2",
    "LON0",
    "PROJECTION",
    "SCALE",
    "X0",
    "Y0",
    "project",
]

#: Canvas size of the basemap in SVG user units (pixels).
BASEMAP_WIDTH: int = 800
BASEMAP_HEIGHT: int = 760

#: First and second standard parallels (degrees north).
LAT1: float = 54.0
LAT2: float = 60.0
#: Latitude and longitude of the projection origin (degrees).
LAT0: float = 56.75
LON0: float = 11.5
#: Pixels per Earth radius (the projection works on the unit sphere).
SCALE: float = 5000.0
#: SVG position of the origin (LAT0, LON0).
X0: float = 400.0
Y0: float = 388.7


def _cone_constants(lat1: float, lat2: float, lat0: float) -> tuple[float, float, float]:
    """Return ``(n, F, rho0)`` of a spherical Lambert conformal conic projection."""
    f1, f2, f0 = math.radians(lat1), math.radians(lat2), math.radians(lat0)
    quarter = math.pi / 4
    n = math.log(math.cos(f1) / math.cos(f2)) / math.log(
        math.tan(quarter + f2 / 2) / math.tan(quarter + f1 / 2)
    )
    big_f = math.cos(f1) * math.tan(quarter + f1 / 2) ** n / n
    rho0 = big_f / math.tan(quarter + f0 / 2) ** n
    return n, big_f, rho0


_N, _F, _RHO0 = _cone_constants(LAT1, LAT2, LAT0)

#: Everything a client needs to reproduce :func:`project` (mirrored in the JSON).
PROJECTION: dict[str, object] = {
    "type": "lambert_conformal_conic",
    "ellipsoid": "sphere",
    "lat1": LAT1,
    "lat2": LAT2,
    "lat0": LAT0,
    "lon0": LON0,
    "scale": SCALE,
    "x0": X0,
    "y0": Y0,
    "n": _N,
    "F": _F,
    "rho0": _RHO0,
    "formula": (
        "rho = F / tan(pi/4 + lat/2)^n; theta = n * (lon - lon0); "
        "x = x0 + scale * rho * sin(theta); "
        "y = y0 - scale * (rho0 - rho * cos(theta)); angles in radians"
    ),
}


def project(lat: float, lon: float) -> tuple[float, float]:
    """Project WGS 84 ``lat``/``lon`` degrees to basemap SVG ``(x, y)``.

    The result is in the coordinate system of ``region-basemap.json``:
    ``(0, 0)`` is the top-left corner, ``x`` grows eastwards and ``y``
    southwards.  Points outside the region map outside
    ``0..BASEMAP_WIDTH`` x ``0..BASEMAP_HEIGHT``; callers decide whether
    to hide or clamp them.
    """
    rho = _F / math.tan(math.pi / 4 + math.radians(lat) / 2) ** _N
    theta = _N * math.radians(lon - LON0)
    x = X0 + SCALE * rho * math.sin(theta)
    y = Y0 - SCALE * (_RHO0 - rho * math.cos(theta))
    return x, y
