"""Data planning: the plan page (/plan) and POST /api/plan. Both public: a plan reads only the registry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.core.errors import HalricError, InvalidInput
from halric.ingest.codecs import CODECS
from halric.ingest.hashing import ALGORITHMS
from halric.ingest.plan import KINDS, MissingFigures, PlanRequest, chart, plan
from halric.web.access import PUBLIC
from halric.web.deps import DB
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/plan", tags=["data planning"])


class PlanBody(BaseModel):
    instrument: str | None = Field(default=None, description="Instrument id from the registry")
    frames: int | None = Field(default=None, description="Frames per sample (per repeat)")
    minutes: float | None = Field(default=None, description="Minutes per sample, instead of frames")
    samples: int = 1
    repeats: int = 1
    overhead_s: float = Field(default=0.0, description="Seconds between two measurements")
    frame_pixels: list[int] | None = Field(default=None, description="[width, height] in pixels")
    bit_depth: int | None = None
    frame_rate_hz: float | None = None
    event_rate_hz: float | None = None
    bytes_per_event: float | None = None
    data_kind: str | None = Field(default=None, description="mx, saxs, tomo, events or other")
    codec: str = "bslz4"
    ratio: float | None = Field(
        default=None, description="Compression ratio to assume instead of the measured one"
    )
    cores: int = 16
    hash: str = "blake3"
    storage_gbps: float | None = None
    site: str | None = Field(default=None, description="Destination infrastructure id")
    link_gbps: float = 10.0
    link_efficiency: float = 0.7
    experiments_per_year: float = 1.0
    hot_days: float = 90.0
    archive_years: float = 10.0
    hot_cost_per_tb_year: float = 100.0
    archive_cost_per_tb_year: float = 10.0
    currency: str = Field(default="EUR", max_length=8)


def plan_request(body: PlanBody) -> PlanRequest:
    from halric.ingest.codecs import check_codec
    from halric.ingest.hashing import check_algorithm

    data = body.model_dump()
    fp = data.pop("frame_pixels")
    if fp is not None and len(fp) != 2:
        raise InvalidInput("frame_pixels: give [width, height]", field="frame_pixels")
    data["instrument_id"] = data.pop("instrument") or None
    data["codec"] = check_codec(data["codec"], allow_auto=False)
    data["hash"] = check_algorithm(data["hash"])
    return PlanRequest(frame_pixels=(fp[0], fp[1]) if fp else None, **data)


@api.post("", summary="Plan an experiment's data: volume, rate, compressed size, ingest, transfer, storage")
def plan_api(body: PlanBody, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    return plan(s, plan_request(body))


# --- the page ---------------------------------------------------------------------------------------------

NUMBERS = {
    "frames": int, "minutes": float, "samples": int, "repeats": int, "overhead_s": float, "bit_depth": int,
    "frame_rate_hz": float, "event_rate_hz": float, "bytes_per_event": float, "ratio": float, "cores": int,
    "storage_gbps": float, "link_gbps": float, "link_efficiency": float, "experiments_per_year": float,
    "hot_days": float, "archive_years": float, "hot_cost_per_tb_year": float, "archive_cost_per_tb_year": float,
}  # fmt: skip
TEXTS = ("instrument", "frame_pixels", "data_kind", "codec", "hash", "site", "currency")
FIELD_IDS = {
    "frames": "plan-frames", "minutes": "plan-minutes", "samples": "plan-samples", "repeats": "plan-repeats",
    "frame_pixels": "plan-frame-pixels", "bit_depth": "plan-bit-depth", "frame_rate_hz": "plan-frame-rate",
    "event_rate_hz": "plan-event-rate",
}  # fmt: skip


def _form(params: Any) -> dict[str, str]:
    return {k: str(params.get(k, "")).strip()[:100] for k in (*NUMBERS, *TEXTS)}


def _body_from_form(form: dict[str, str]) -> PlanBody:
    from halric.ingest.units import parse_frame

    data: dict[str, Any] = {}
    for k, kind in NUMBERS.items():
        if form[k]:
            try:
                data[k] = kind(form[k])
            except ValueError:
                raise InvalidInput(f"{k}: {form[k]!r} is not a number", field=k) from None
    for k in TEXTS:
        if form[k]:
            data[k] = form[k]
    if "frame_pixels" in data:
        data["frame_pixels"] = list(parse_frame(data["frame_pixels"]))
    return PlanBody(**data)


@pages.get("/plan", response_class=HTMLResponse)
def plan_page(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    from halric.registry import service as reg

    form = _form(request.query_params)
    instruments = reg.search_instruments(s, reg.InstrumentFilter())
    with_detector = [
        i for i in instruments if (i.specs or {}).get("detector") or (i.specs or {}).get("event_rate_hz")
    ]
    others = [i for i in instruments if i not in with_detector]
    chosen = next((i for i in instruments if i.id == form["instrument"]), None)
    ctx: dict[str, Any] = {
        "form": form, "with_detector": with_detector, "others": others, "chosen": chosen,
        "detector": ((chosen.specs or {}).get("detector") or {}) if chosen else {},
        "sites": reg.list_infrastructures(s), "codecs": CODECS, "hashes": ALGORITHMS, "kinds": KINDS,
        "result": None, "error": None, "missing": {},
    }  # fmt: skip
    if form["frames"] or form["minutes"]:
        try:
            result = plan(s, plan_request(_body_from_form(form)))
        except MissingFigures as exc:
            source = (
                f"The registry has no {{}} for {chosen.name}"
                if chosen
                else "Without an instrument, give the {}"
            )
            ctx["missing"] = {name: source.format(what) + ": enter it here." for name, what, _ in exc.missing}
            ctx["error"] = (
                f"To plan for {chosen.name}, give the figures marked below"
                if chosen
                else "Choose an instrument, or give the figures marked below"
            ) + " (the detector's data sheet or the facility's staff have them)."
            return render(request, "ingest/plan.html", ctx, status_code=400)
        except HalricError as exc:
            ctx["error"] = exc.detail
            if exc.field in FIELD_IDS:
                ctx["missing"] = {exc.field: exc.detail.split(": ", 1)[-1]}
            return render(request, "ingest/plan.html", ctx, status_code=400)
        except ValueError as exc:  # pydantic validation of the form values
            ctx["error"] = " ".join(str(exc).split())[:300]
            return render(request, "ingest/plan.html", ctx, status_code=400)
        ctx["result"] = result
        ctx["chart"] = chart(result["timeline"])
    return render(request, "ingest/plan.html", ctx)


def register(app: FastAPI) -> None:
    from halric.ingest import units
    from halric.web.templating import TEMPLATES

    TEMPLATES.env.filters["human_bytes"] = units.human_bytes
    TEMPLATES.env.filters["human_duration"] = units.human_duration
    TEMPLATES.env.filters["human_rate"] = units.human_rate
    attach(app, pages)
    attach(app, api)
    app.state.nav.append(("Data", "Plan data", "/plan"))
