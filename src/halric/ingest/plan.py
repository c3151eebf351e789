"""``halric plan``: what an experiment will produce, before it runs.

From the detector (frame size, bit depth, frame rate) or the event rate of a neutron instrument, and the
experiment plan (samples, frames or minutes per sample, repeats), compute the raw volume and rate, the
size after lossless compression (ratios measured by ``bench/data.py``), the time to checksum and ingest
it, the time to move it to another site, and what keeping it for a year costs. Every figure comes with
the assumption behind it. A figure the registry lacks is never guessed: the plan names it and asks for
it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from halric.core.errors import InvalidInput
from halric.ingest import ratios

KINDS = ("mx", "saxs", "tomo", "events", "other")
# PaNET roots that decide the kind of data an instrument writes (ids checked against PaNET.csv).
KIND_ROOTS = (("PaNET01082", "mx"), ("PaNET01124", "saxs"), ("PaNET01129", "tomo"))
LINK_EFFICIENCY = 0.7
BYTES_PER_EVENT = 8.0
HOT_COST = 100.0
ARCHIVE_COST = 10.0
MAX_POINTS = 200


@dataclass
class PlanRequest:
    instrument_id: str | None = None
    frame_pixels: tuple[int, int] | None = None
    bit_depth: int | None = None
    frame_rate_hz: float | None = None
    event_rate_hz: float | None = None
    bytes_per_event: float | None = None
    samples: int = 1
    frames: int | None = None  # per sample and repeat
    minutes: float | None = None  # per sample and repeat (instead of frames)
    repeats: int = 1
    overhead_s: float = 0.0  # between two measurements (sample change, alignment)
    data_kind: str | None = None
    codec: str = "bslz4"
    ratio: float | None = None
    cores: int = 16
    hash: str = "blake3"
    storage_gbps: float | None = None
    site: str | None = None
    link_gbps: float = 10.0
    link_efficiency: float = LINK_EFFICIENCY
    experiments_per_year: float = 1.0
    hot_days: float = 90.0
    archive_years: float = 10.0
    hot_cost_per_tb_year: float = HOT_COST
    archive_cost_per_tb_year: float = ARCHIVE_COST
    currency: str = "EUR"


@dataclass
class Resolved:
    """The figures the computation uses, and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: list[tuple[str, str, str]] = field(default_factory=list)  # (field, what, option)


def _positive(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(f"{name}: must be a positive number", field=name)


def validate(req: PlanRequest) -> None:
    for name in ("bit_depth", "frame_rate_hz", "event_rate_hz", "bytes_per_event", "frames", "minutes",
                 "ratio", "storage_gbps", "link_gbps", "experiments_per_year"):  # fmt: skip
        _positive(name, getattr(req, name))
    for name in (
        "overhead_s",
        "hot_days",
        "archive_years",
        "hot_cost_per_tb_year",
        "archive_cost_per_tb_year",
    ):
        _positive(name, getattr(req, name), allow_zero=True)
    if req.samples < 1 or req.repeats < 1 or req.cores < 1:
        bad = "samples" if req.samples < 1 else "repeats" if req.repeats < 1 else "cores"
        raise InvalidInput(f"{bad}: must be at least 1", field=bad)
    if req.samples * req.repeats > 10_000_000:
        raise InvalidInput("samples: more than ten million measurements is not a plan", field="samples")
    if not 0 < req.link_efficiency <= 1:
        raise InvalidInput(
            "link_efficiency: give a fraction between 0 and 1, e.g. 0.7", field="link_efficiency"
        )
    if req.frame_pixels and (req.frame_pixels[0] < 1 or req.frame_pixels[1] < 1):
        raise InvalidInput("frame_pixels: width and height must be at least 1", field="frame_pixels")
    if req.bit_depth is not None and req.bit_depth not in (8, 12, 16, 24, 32, 64):
        raise InvalidInput("bit_depth: use 8, 12, 16, 24, 32 or 64", field="bit_depth")
    if req.data_kind is not None and req.data_kind not in KINDS:
        raise InvalidInput(f"data_kind: use one of {', '.join(KINDS)}", field="data_kind")
    if (req.frames is None) == (req.minutes is None):
        raise InvalidInput(
            "frames: give either frames per sample (--frames, API frames) or minutes per sample "
            "(--minutes, API minutes)",
            field="frames",
        )


def resolve(req: PlanRequest, specs: dict[str, Any] | None, instrument_id: str | None) -> Resolved:
    """Take each figure from the request, else from the instrument's registry specs; list what is missing."""
    r = Resolved()
    det = (specs or {}).get("detector") or {}
    who = f"instrument {instrument_id}" if instrument_id else "no instrument was given, and the request"

    def take(name: str, given: Any, registry: Any, what: str, option: str) -> None:
        if given is not None:
            r.values[name], r.sources[name] = given, "given"
        elif registry is not None:
            r.values[name], r.sources[name] = registry, "registry"
        else:
            r.missing.append((name, what, option))

    event_rate = req.event_rate_hz if req.event_rate_hz is not None else (specs or {}).get("event_rate_hz")
    if event_rate is not None and req.frame_rate_hz is None and req.frame_pixels is None:
        take(
            "event_rate_hz",
            req.event_rate_hz,
            (specs or {}).get("event_rate_hz"),
            "event rate",
            "--event-rate HZ",
        )
        r.values["bytes_per_event"] = req.bytes_per_event or BYTES_PER_EVENT
        r.sources["bytes_per_event"] = "given" if req.bytes_per_event else "assumed"
        r.values["mode"] = "events"
        if req.minutes is None:
            r.missing.append(("minutes", "measuring time (an event-mode instrument counts events, not frames)",
                              "--minutes MIN"))  # fmt: skip
    else:
        fp = det.get("frame_pixels")
        take("frame_pixels", list(req.frame_pixels) if req.frame_pixels else None,
             list(fp) if fp else None, "detector frame size", "--frame-pixels WIDTHxHEIGHT")  # fmt: skip
        take("bit_depth", req.bit_depth, det.get("bit_depth"), "detector bit depth", "--bit-depth BITS")
        take("frame_rate_hz", req.frame_rate_hz, det.get("max_frame_rate_hz"), "detector frame rate",
             "--frame-rate HZ")  # fmt: skip
        r.values["mode"] = "frames"
    if r.missing:
        first = r.missing[0][0]
        parts = [f"{what} ({name}; give it with {opt})" for name, what, opt in r.missing]
        raise MissingFigures(f"{first}: {who} lacks the {'; the '.join(parts)}", r.missing)
    return r


class MissingFigures(InvalidInput):
    """Figures neither given nor in the registry; ``missing`` lists (field, what, CLI option) so each
    interface can ask for them its own way (the web form marks the fields, the CLI names options)."""

    def __init__(self, detail: str, missing: list[tuple[str, str, str]]) -> None:
        super().__init__(detail, field=missing[0][0])
        self.missing = missing


def data_kind_for(s: Session | None, technique_ids: list[str], mode: str) -> str | None:
    if mode == "events":
        return "events"
    if s is None or not technique_ids:
        return None
    from halric.registry.service import ancestors, parents_map

    parents = parents_map(s)
    for tid in technique_ids:
        up = ancestors(tid, parents) | {tid}
        for root, kind in KIND_ROOTS:
            if root in up:
                return kind
    return None


def compute(
    req: PlanRequest, res: Resolved, *, kind: str | None, instrument: dict[str, Any] | None
) -> dict[str, Any]:
    """The plan: every figure, with its assumptions. Pure arithmetic."""
    v = res.values
    assumptions: list[str] = []
    samples, repeats = req.samples, req.repeats
    measurements = samples * repeats
    if v["mode"] == "events":
        seconds_each = req.minutes * 60  # type: ignore[operator]
        bytes_each = v["event_rate_hz"] * seconds_each * v["bytes_per_event"]
        frames_each = None
        acq_rate = v["event_rate_hz"] * v["bytes_per_event"]
        if res.sources["bytes_per_event"] == "assumed":
            assumptions.append(
                f"{BYTES_PER_EVENT:g} bytes per neutron event: a 32-bit pixel id and a 32-bit time offset, as "
                "NeXus NXevent_data stores them (the per-pulse index is negligible); give --bytes-per-event "
                "otherwise."
            )
    else:
        w, h = v["frame_pixels"]
        bpp = math.ceil(v["bit_depth"] / 8)
        v["bytes_per_pixel"] = bpp
        frame_bytes = w * h * bpp
        frames_each = req.frames if req.frames is not None else round(req.minutes * 60 * v["frame_rate_hz"])  # type: ignore[operator]
        seconds_each = frames_each / v["frame_rate_hz"]
        bytes_each = frames_each * frame_bytes
        acq_rate = frame_bytes * v["frame_rate_hz"]
        if v["bit_depth"] % 8:
            assumptions.append(f"{v['bit_depth']}-bit pixels are stored in {bpp} bytes each.")
        assumptions.append(
            "The detector runs at the given frame rate for the whole measurement; container overhead "
            "(HDF5/NeXus headers) is below 0.1 % and left out."
        )
    raw = bytes_each * measurements
    duration = measurements * seconds_each + max(0, measurements - 1) * req.overhead_s
    if req.overhead_s:
        assumptions.append(f"{req.overhead_s:g} s between two measurements (sample change, alignment).")

    # compression
    kind = req.data_kind or kind
    ratio_source = "given"
    if req.ratio is not None:
        ratio = req.ratio
    else:
        measured = ratios.RATIOS.get(kind or "", {}).get(req.codec)
        if measured:
            ratio, ratio_source = measured["ratio"], f"measured on simulated {kind} data ({ratios.SOURCE})"
        elif kind == "events" or kind is None or kind == "other":
            ratio, ratio_source = 1.0, "not measured for this kind of data: no compression assumed"
        else:
            ratio, ratio_source = 1.0, f"codec {req.codec} not measured for {kind}: no compression assumed"
    compressed = raw / ratio
    assumptions.append(
        f"Lossless compression with {req.codec}: ratio {ratio:.3g} ({ratio_source}). Real data compress "
        "less when they are noisier than the simulation; measure yours with `halric codecs advise FILE`."
    )

    # checksum and ingest
    per_core = ratios.HASH_BPS_PER_CORE.get(req.hash, ratios.HASH_BPS_PER_CORE["blake3"])
    ingest_bps = per_core * req.cores * ratios.DASK_EFFICIENCY
    if req.storage_gbps:
        ingest_bps = min(ingest_bps, req.storage_gbps * 1e9)
    ingest_s = raw / ingest_bps
    assumptions.append(
        f"Checksum ({req.hash}) and ingest at {per_core / 1e9:.2g} GB/s per core (measured), "
        f"{ratios.DASK_EFFICIENCY:.0%} parallel efficiency on {req.cores} cores"
        + (f", capped by storage at {req.storage_gbps:g} GB/s." if req.storage_gbps else
           "; the storage is assumed to deliver that rate (give --storage-gbps to cap it).")
    )  # fmt: skip
    codec_speed = ratios.RATIOS.get(kind or "", {}).get(req.codec, {}).get("compress_bps")
    compress_s = raw / (codec_speed * req.cores) if codec_speed else None

    # transfer
    link_bps = req.link_gbps * 1e9 / 8 * req.link_efficiency
    transfer_s = compressed / link_bps
    assumptions.append(
        f"Transfer over a {req.link_gbps:g} Gbit/s link at {req.link_efficiency:.0%} efficiency "
        f"({link_bps / 1e9:.3g} GB/s of payload): TCP/IP and protocol overhead and sharing the link leave "
        "60–80 % for a well-tuned bulk transfer tool; compressed data are sent."
    )

    # storage
    per_year = compressed * req.experiments_per_year
    hot_tb = per_year / 1e12 * min(req.hot_days, 365) / 365
    archive_tb_year = per_year / 1e12
    storage = {
        "per_year_bytes": per_year,
        "hot": {
            "days": req.hot_days,
            "tb_held": hot_tb,
            "cost_per_year": hot_tb * req.hot_cost_per_tb_year,
            "cost_per_tb_year": req.hot_cost_per_tb_year,
        },
        "archive": {
            "years": req.archive_years,
            "tb_added_per_year": archive_tb_year,
            "tb_held_after_years": archive_tb_year * req.archive_years,
            "cost_first_year": archive_tb_year * req.archive_cost_per_tb_year,
            "cost_per_year_at_full_retention": archive_tb_year
            * req.archive_years
            * req.archive_cost_per_tb_year,
            "cost_per_tb_year": req.archive_cost_per_tb_year,
        },
        "currency": req.currency,
    }
    assumptions.append(
        f"{req.experiments_per_year:g} such experiment(s) a year; compressed data stay {req.hot_days:g} days on "
        f"disk (hot) and {req.archive_years:g} years in the archive. Costs {req.hot_cost_per_tb_year:g} and "
        f"{req.archive_cost_per_tb_year:g} {req.currency} per TB and year are illustrative defaults, not a "
        "quote: give your provider's prices (--hot-cost, --archive-cost)."
    )

    inputs = {k: v[k] for k in ("frame_pixels", "bit_depth", "bytes_per_pixel", "frame_rate_hz",
                                "event_rate_hz", "bytes_per_event") if k in v}  # fmt: skip
    inputs.update(
        {"mode": v["mode"], "sources": res.sources, "samples": samples, "repeats": repeats,
         "frames_per_measurement": frames_each, "seconds_per_measurement": seconds_each,
         "overhead_s": req.overhead_s, "data_kind": kind, "codec": req.codec, "cores": req.cores,
         "hash": req.hash, "link_gbps": req.link_gbps, "link_efficiency": req.link_efficiency,
         "site": req.site}
    )  # fmt: skip
    return {
        "instrument": instrument,
        "inputs": inputs,
        "raw_bytes": raw,
        "duration_s": duration,
        "acquisition_rate_bytes_per_s": acq_rate,
        "average_rate_bytes_per_s": raw / duration if duration else 0,
        "measurements": measurements,
        "frames_total": frames_each * measurements if frames_each is not None else None,
        "compression": {
            "codec": req.codec,
            "ratio": ratio,
            "source": ratio_source,
            "compressed_bytes": compressed,
        },
        "ingest": {
            "checksum_and_ingest_s": ingest_s,
            "rate_bytes_per_s": ingest_bps,
            "compress_s": compress_s,
        },
        "transfer": {
            "site": req.site,
            "link_gbps": req.link_gbps,
            "efficiency": req.link_efficiency,
            "seconds": transfer_s,
            "raw_seconds": raw / link_bps,
        },
        "storage": storage,
        "timeline": timeline(measurements, seconds_each, req.overhead_s, bytes_each, ratio),
        "assumptions": assumptions,
    }


def timeline(
    n: int, seconds_each: float, overhead: float, bytes_each: float, ratio: float
) -> list[dict[str, float]]:
    """Cumulative volume after each measurement (at most MAX_POINTS points, evenly spread)."""
    step = max(1, math.ceil(n / MAX_POINTS))
    points = [{"t_s": 0.0, "raw_bytes": 0.0, "compressed_bytes": 0.0}]
    for k in list(range(step, n + 1, step)) + ([n] if n % step else []):
        t = k * seconds_each + (k - 1) * overhead
        points.append({"t_s": t, "raw_bytes": k * bytes_each, "compressed_bytes": k * bytes_each / ratio})
    return points


def chart(
    points: list[dict[str, float]], width: int = 640, height: int = 260, margin: int = 48
) -> dict[str, Any]:
    """Geometry of the volume-over-time chart (SVG coordinates), rendered by the page template."""
    tmax = max(p["t_s"] for p in points) or 1
    vmax = max(p["raw_bytes"] for p in points) or 1

    def xy(p: dict[str, float], key: str) -> str:
        x = margin + p["t_s"] / tmax * (width - 2 * margin)
        y = height - margin - p[key] / vmax * (height - 2 * margin)
        return f"{x:.1f},{y:.1f}"

    from halric.ingest.units import human_bytes, human_duration

    return {
        "width": width, "height": height, "margin": margin,
        "raw": " ".join(xy(p, "raw_bytes") for p in points),
        "compressed": " ".join(xy(p, "compressed_bytes") for p in points),
        "y_label": human_bytes(vmax), "x_label": human_duration(tmax),
    }  # fmt: skip


def plan(s: Session | None, req: PlanRequest) -> dict[str, Any]:
    """Resolve the instrument in the registry (when given) and compute the plan."""
    validate(req)
    specs: dict[str, Any] | None = None
    instrument = None
    techniques: list[str] = []
    if req.instrument_id:
        if s is None:
            raise InvalidInput("instrument: no registry available", field="instrument")
        from halric.registry.service import get_instrument

        inst = get_instrument(s, req.instrument_id)
        specs = inst.specs or {}
        techniques = inst.technique_ids
        det = specs.get("detector") or {}
        instrument = {"id": inst.id, "name": inst.name, "detector": det.get("name"), "techniques": techniques}
    if req.site and s is not None:
        from halric.registry.service import get_infrastructure

        site = get_infrastructure(s, req.site)
        req.site = site.id
    res = resolve(req, specs, req.instrument_id)
    kind = data_kind_for(s, techniques, res.values["mode"])
    out = compute(req, res, kind=kind, instrument=instrument)
    out["request"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(req).items()}
    return out
