"""Build the offline HALRIC region basemap ``src/halric/web/static/region-basemap.json``.

Only needed to regenerate the JSON; nothing here is used at run time.

Source data: the npm package ``world-atlas`` 2.0.2 (ISC licence, Copyright
2013-2019 Michael Bostock), a TopoJSON redistribution of Natural Earth
1:10m "Admin 0 - Countries" v4.1.0 (public domain).  The script decodes its
``countries-10m.json``, clips every country to the basemap canvas, projects
it with :func:`halric.registry.mapproj.project` (Lambert conformal conic;
the parameters live in that module and are copied into the JSON), simplifies
the outlines (Douglas-Peucker, ``--tolerance`` pixels), drops islets smaller
than ``--min-area`` square pixels and writes compact relative SVG paths.

Requirements: Python >= 3.11 standard library only (no venv, no third-party
Python packages).  To get the data, ``npm`` is used through the ordinary npm
registry; nothing is installed::

    cd /tmp && npm pack world-atlas@2.0.2          # -> world-atlas-2.0.2.tgz
    python scripts/build_basemap.py --source /tmp/world-atlas-2.0.2.tgz

Without ``--source`` the script runs ``npm pack world-atlas@2.0.2`` itself in
a temporary directory.  ``--source`` may also name an unpacked
``countries-10m.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from halric.registry import mapproj  # noqa: E402

OUT = ROOT / "src" / "halric" / "web" / "static" / "region-basemap.json"
PACKAGE = "world-atlas@2.0.2"
MEMBER = "package/countries-10m.json"

ATTRIBUTION = (
    "Country outlines: Made with Natural Earth (1:10m Admin 0 - Countries v4.1.0, "
    "public domain, naturalearthdata.com), via world-atlas 2.0.2 TopoJSON "
    "(ISC licence, \u00a9 2013-2019 Michael Bostock); clipped, projected and simplified."
)

# ISO 3166-1 numeric -> (alpha-2, display name) for every country that can
# show up in or near the frame.  Anything visible but missing here is an error.
ISO = {
    "578": ("NO", "Norway"),
    "752": ("SE", "Sweden"),
    "208": ("DK", "Denmark"),
    "276": ("DE", "Germany"),
    "616": ("PL", "Poland"),
    "528": ("NL", "Netherlands"),
    "056": ("BE", "Belgium"),
    "246": ("FI", "Finland"),
    "248": ("AX", "\u00c5land"),
    "643": ("RU", "Russia"),
    "440": ("LT", "Lithuania"),
    "428": ("LV", "Latvia"),
    "233": ("EE", "Estonia"),
    "826": ("GB", "United Kingdom"),
    "203": ("CZ", "Czechia"),
    "234": ("FO", "Faroe Islands"),
}
# Draw order: neighbours first, the HALRIC core last.
ORDER = ["GB", "BE", "NL", "CZ", "PL", "RU", "LT", "LV", "EE", "FI", "AX", "FO", "NO", "DE", "SE", "DK"]

# Generous lon/lat window clipped before projecting (keeps far-away parts of
# big countries, e.g. Russia across the antimeridian, out of the conic maths).
LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = -8.0, 32.0, 47.0, 67.0
DENSIFY_DEG = 0.25
MARGIN = 4.0  # clip a few pixels outside the canvas so frame edges never show

Point = tuple[float, float]
Ring = list[Point]


def load_topology(source: Path | None) -> dict:
    """Return the parsed ``countries-10m.json`` topology."""
    if source is None:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", PACKAGE], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
            (tgz,) = Path(tmp).glob("world-atlas-*.tgz")
            return load_topology(tgz)
    if source.suffix in {".tgz", ".gz"}:
        with tarfile.open(source) as tar:
            fh = tar.extractfile(MEMBER)
            assert fh is not None, f"{MEMBER} missing from {source}"
            return json.load(fh)
    return json.loads(source.read_text(encoding="utf-8"))


def decode_arcs(topo: dict) -> list[list[Point]]:
    """Decode the quantised, delta-encoded TopoJSON arcs to (lon, lat) lists."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def stitch(ring_arcs: Sequence[int], arcs: list[list[Point]]) -> Ring:
    """Join the arcs of one TopoJSON ring (negative index = reversed arc)."""
    out: Ring = []
    for i in ring_arcs:
        pts = arcs[i] if i >= 0 else arcs[~i][::-1]
        out.extend(pts if not out else pts[1:])
    return out


def polygons(geom: dict, arcs: list[list[Point]]) -> Iterable[list[Ring]]:
    """Yield each polygon of a TopoJSON geometry as a list of (lon, lat) rings."""
    if geom["type"] == "Polygon":
        yield [stitch(r, arcs) for r in geom["arcs"]]
    elif geom["type"] == "MultiPolygon":
        for poly in geom["arcs"]:
            yield [stitch(r, arcs) for r in poly]


def clip_ring(ring: Ring, xmin: float, ymin: float, xmax: float, ymax: float) -> Ring:
    """Sutherland-Hodgman clip of a closed ring against an axis-aligned box."""

    def clip(pts: Ring, inside, cross) -> Ring:
        if not pts:
            return pts
        out: Ring = []
        prev = pts[-1]
        for cur in pts:
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
            prev = cur
        return out

    def at_x(x0: float):
        return lambda a, b: (x0, a[1] + (b[1] - a[1]) * (x0 - a[0]) / (b[0] - a[0]))

    def at_y(y0: float):
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y0 - a[1]) / (b[1] - a[1]), y0)

    pts = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else list(ring)
    pts = clip(pts, lambda p: p[0] >= xmin, at_x(xmin))
    pts = clip(pts, lambda p: p[0] <= xmax, at_x(xmax))
    pts = clip(pts, lambda p: p[1] >= ymin, at_y(ymin))
    pts = clip(pts, lambda p: p[1] <= ymax, at_y(ymax))
    return pts


def densify(ring: Ring, step: float) -> Ring:
    """Insert points so no (lon, lat) segment is longer than ``step`` degrees."""
    out: Ring = []
    for i, a in enumerate(ring):
        b = ring[(i + 1) % len(ring)]
        out.append(a)
        n = int(max(abs(b[0] - a[0]), abs(b[1] - a[1])) / step)
        for k in range(1, n + 1):
            t = k / (n + 1)
            out.append((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
    return out


def simplify(pts: Ring, tol: float) -> Ring:
    """Douglas-Peucker simplification of a closed ring (iterative)."""
    if len(pts) < 4:
        return pts
    # Split the ring at the point farthest from the first one so both halves
    # are open polylines with well-defined ends.
    far = max(range(len(pts)), key=lambda i: (pts[i][0] - pts[0][0]) ** 2 + (pts[i][1] - pts[0][1]) ** 2)
    closed = [*pts, pts[0]]
    keep = [False] * len(closed)
    keep[0] = keep[far] = keep[-1] = True
    stack = [(0, far), (far, len(closed) - 1)]
    tol2 = tol * tol
    while stack:
        i, j = stack.pop()
        (ax, ay), (bx, by) = closed[i], closed[j]
        dx, dy = bx - ax, by - ay
        seg2 = dx * dx + dy * dy
        best, best_d = -1, tol2
        for k in range(i + 1, j):
            px, py = closed[k]
            if seg2 == 0:
                d = (px - ax) ** 2 + (py - ay) ** 2
            else:
                d = (dx * (ay - py) - dy * (ax - px)) ** 2 / seg2
            if d > best_d:
                best, best_d = k, d
        if best >= 0:
            keep[best] = True
            stack += [(i, best), (best, j)]
    return [p for p, k in zip(closed[:-1], keep[:-1], strict=True) if k]


def area(pts: Ring) -> float:
    """Unsigned shoelace area of a ring in square pixels."""
    s = 0.0
    for i, (x1, y1) in enumerate(pts):
        x2, y2 = pts[(i + 1) % len(pts)]
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


def fmt(v: int) -> str:
    """Format a value given in tenths of a pixel, as short as possible."""
    s = f"{v / 10:.1f}".rstrip("0").rstrip(".")
    if s.startswith("0."):
        s = s[1:]
    elif s.startswith("-0."):
        s = "-" + s[2:]
    return s or "0"


def pair(a: int, b: int) -> str:
    """Two numbers; a minus sign is its own separator in SVG path syntax."""
    sb = fmt(b)
    return f"{fmt(a)}{'' if sb.startswith('-') else ' '}{sb}"


def ring_path(pts: Ring) -> str:
    """Encode a projected ring as ``M x y l dx dy ... z`` with 0.1 px precision."""
    q = [(round(x * 10), round(y * 10)) for x, y in pts]
    dedup = [q[0]] + [p for prev, p in itertools.pairwise(q) if p != prev]
    if len(dedup) > 1 and dedup[-1] == dedup[0]:
        dedup.pop()
    if len(dedup) < 3:
        return ""
    parts = [f"M{pair(*dedup[0])}l"]
    rel = [pair(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(dedup)]
    parts.append(" ".join(rel).replace(" -", "-"))
    parts.append("z")
    return "".join(parts)


def build(topo: dict, tolerance: float, min_area: float) -> dict:
    """Project, clip and simplify every visible country; return the JSON document."""
    arcs = decode_arcs(topo)
    w, h = mapproj.BASEMAP_WIDTH, mapproj.BASEMAP_HEIGHT
    box = (-MARGIN, -MARGIN, w + MARGIN, h + MARGIN)
    countries = []
    for geom in topo["objects"]["countries"]["geometries"]:
        paths = []
        for poly in polygons(geom, arcs):
            outer = poly[0]
            if not outer:
                continue
            lons = [p[0] for p in outer]
            lats = [p[1] for p in outer]
            if max(lons) < LON_MIN or min(lons) > LON_MAX or max(lats) < LAT_MIN or min(lats) > LAT_MAX:
                continue
            for ring in poly:
                ll = clip_ring(ring, LON_MIN, LAT_MIN, LON_MAX, LAT_MAX)
                if len(ll) < 3:
                    continue
                xy = [mapproj.project(lat, lon) for lon, lat in densify(ll, DENSIFY_DEG)]
                xy = clip_ring(xy, *box)
                if len(xy) < 3 or area(xy) < min_area:
                    continue
                xy = simplify(xy, tolerance)
                if len(xy) < 3 or area(xy) < min_area:
                    continue
                d = ring_path(xy)
                if d:
                    paths.append(d)
        if not paths:
            continue
        code = str(geom.get("id"))
        if code not in ISO:
            raise SystemExit(f"visible country without ISO mapping: {code} {geom['properties']}")
        iso, name = ISO[code]
        countries.append({"iso": iso, "name": name, "path": "".join(paths)})
    countries.sort(key=lambda c: ORDER.index(c["iso"]))
    return {
        "projection": mapproj.PROJECTION,
        "width": w,
        "height": h,
        "attribution": ATTRIBUTION,
        "source": {
            "data": "Natural Earth 1:10m Admin 0 - Countries v4.1.0 (public domain)",
            "package": "npm world-atlas 2.0.2, countries-10m.json (ISC licence)",
            "tolerance_px": tolerance,
            "min_area_px2": min_area,
            "generator": "scripts/build_basemap.py",
        },
        "countries": countries,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, help="world-atlas .tgz or countries-10m.json (default: npm pack)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"output JSON (default: {OUT})")
    ap.add_argument("--tolerance", type=float, default=0.2, help="simplification tolerance, pixels")
    ap.add_argument("--min-area", type=float, default=0.5, help="drop rings smaller than this, square pixels")
    args = ap.parse_args(argv)
    doc = build(load_topology(args.source), args.tolerance, args.min_area)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode()) / 1024:.1f} KiB, {len(doc['countries'])} countries)")
    for c in doc["countries"]:
        print(f"  {c['iso']} {c['name']}: {len(c['path'])} chars")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
