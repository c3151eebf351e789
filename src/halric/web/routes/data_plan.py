"""Plan the data of an application: the planner (``halric plan``, /plan) run for one of the instruments the
application requests, and the storage cost at the call's rate per TB added to the budget — as a requested
data-storage line or as an in-kind contribution. The page and ``POST /api/applications/{id}/data-plan``
share one computation; the planner lives in ingest, the budget in calls (which may not import ingest)."""

from __future__ import annotations

import math
from decimal import ROUND_UP, Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from halric.calls import budget, service
from halric.calls.models import Application
from halric.core.actor import Actor
from halric.core.errors import HalricError, InvalidInput
from halric.ingest.plan import MissingFigures, plan
from halric.registry import service as registry
from halric.web.access import SIGNED_IN
from halric.web.deps import DB, FORM, FormData
from halric.web.params import RowId
from halric.web.routes.ingest import FIELD_IDS, PlanBody, plan_request
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["calls"])

TB = Decimal("0.001")
# the experiment, as the application's plan step asks for it (the rest of the planner keeps its defaults)
NUMBERS = {"samples": int, "frames": int, "minutes": float, "repeats": int, "bit_depth": int,
           "frame_rate_hz": float, "event_rate_hz": float, "link_gbps": float}  # fmt: skip
TEXTS = ("instrument", "frame_pixels")


def storage_tb(compressed_bytes: float) -> Decimal:
    """Terabytes to store (10¹² bytes), rounded up to the next GB: a budget never falls short by rounding."""
    if not math.isfinite(compressed_bytes) or compressed_bytes < 0:
        raise InvalidInput("The plan gave no storable volume.")
    return max((Decimal(repr(compressed_bytes)) / Decimal(10**12)).quantize(TB, rounding=ROUND_UP), TB)


def requested_instruments(s: Session, app: Application) -> list[Any]:
    out = []
    for iid in app.instruments:
        try:
            out.append(registry.get_instrument(s, iid))
        except HalricError:
            continue
    return out


def plan_for(s: Session, app: Application, body: PlanBody) -> dict[str, Any]:
    """The plan for one of the application's instruments, with the TB to store and their cost at the call's
    rate (``amount`` None when the call sets no rate)."""
    if not body.instrument or body.instrument not in app.instruments:
        names = ", ".join(i.name for i in requested_instruments(s, app)) or "none yet"
        raise InvalidInput(
            f"instrument: choose one of the instruments this application requests ({names})",
            field="instrument",
        )
    result = plan(s, plan_request(body))
    tb = storage_tb(result["compression"]["compressed_bytes"])
    rate = app.call.storage_rate_per_tb
    inst = registry.get_instrument(s, body.instrument)
    inputs = result["inputs"]
    description = (
        f"Data storage for {inst.name}: {tb} TB after {inputs['codec']} compression "
        f"({inputs['samples']} sample(s) × {inputs['repeats']})"
    )
    return {
        "plan": result, "instrument": inst, "storage_tb": tb, "rate_per_tb": rate, "currency": app.call.currency,
        "amount": budget.storage_cost(app.call, tb) if rate is not None else None,
        "fundable": bool(app.call.data_costs_fundable), "description": description[:300],
    }  # fmt: skip


def _draft(s: Session, actor: Actor, app_id: int) -> Application | None:
    """The draft if the actor applies with it (None: show the application instead)."""
    app, hats = service.get_application(s, actor, app_id)
    return app if "applicant" in hats and app.state == "draft" else None


def _form(params: Any) -> dict[str, str]:
    return {k: str(params.get(k, "")).strip()[:100] for k in (*NUMBERS, *TEXTS)}


def _body(form: dict[str, str]) -> PlanBody:
    from halric.ingest.units import parse_frame

    data: dict[str, Any] = {}
    for k, kind in NUMBERS.items():
        if form[k]:
            try:
                data[k] = kind(form[k])
            except ValueError:
                raise InvalidInput(f"{k}: write a number, e.g. 20", field=k) from None
    for k in TEXTS:
        if form[k]:
            data[k] = form[k]
    if "frame_pixels" in data:
        data["frame_pixels"] = list(parse_frame(data["frame_pixels"]))
    return PlanBody(**data)


def _context(s: Session, app: Application, form: dict[str, str]) -> dict[str, Any]:
    insts = requested_instruments(s, app)
    chosen = next((i for i in insts if i.id == form["instrument"]), insts[0] if len(insts) == 1 else None)
    if chosen is not None:
        form["instrument"] = chosen.id
    return {
        "app": app, "form": form, "instruments": insts, "chosen": chosen,
        "detector": ((chosen.specs or {}).get("detector") or {}) if chosen else {},
        "orgs": registry.list_organisations(s), "result": None, "error": None, "missing": {},
        "default_org": chosen.organisation_id if chosen else "",
    }  # fmt: skip


def _compute(s: Session, app: Application, ctx: dict[str, Any]) -> int:
    """Fill ``ctx`` with the plan or with what is missing; the page's status code."""
    form, chosen = ctx["form"], ctx["chosen"]
    try:
        ctx["result"] = plan_for(s, app, _body(form))
    except MissingFigures as exc:
        source = f"The registry has no {{}} for {chosen.name}" if chosen else "Give the {}"
        ctx["missing"] = {name: source.format(what) + ": enter it here." for name, what, _ in exc.missing}
        ctx["error"] = (
            "Give the figures marked below (the detector's data sheet or the facility's staff have them)."
        )
        return 400
    except HalricError as exc:
        ctx["error"] = exc.detail
        if exc.field in (*FIELD_IDS, "instrument"):
            ctx["missing"] = {exc.field: exc.detail.split(": ", 1)[-1]}
        return 400
    except ValidationError as exc:
        ctx["error"] = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:300]
        return 400
    return 200


@pages.get("/applications/{app_id}/plan", response_class=HTMLResponse)
def plan_page(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Response:
    app = _draft(s, actor, app_id)
    if app is None:
        return RedirectResponse(f"/applications/{app_id}", status_code=303)
    ctx = _context(s, app, _form(request.query_params))
    status = _compute(s, app, ctx) if ctx["form"]["frames"] or ctx["form"]["minutes"] else 200
    return render(request, "calls/plan.html", ctx, status_code=status)


@pages.post("/applications/{app_id}/plan", response_class=HTMLResponse)
def plan_add(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), posted: FormData = FORM
) -> Response:
    """Add the storage cost of the plan in the form (computed again here, never taken from the page)."""
    db = request.app.state.db
    form = _form(posted)
    as_ = str(posted.get("as", ""))
    organisation = str(posted.get("organisation_id", "")).strip()
    try:
        with db.session() as s:
            app = _draft(s, actor, app_id)
            if app is None:
                return RedirectResponse(f"/applications/{app_id}", status_code=303)
            if as_ not in ("requested", "in-kind"):
                raise InvalidInput(
                    "as: choose a requested budget line or an in-kind contribution", field="as"
                )
            if not organisation:
                raise InvalidInput("organisation_id: choose the organisation that stores the data",
                                   field="organisation_id")  # fmt: skip
            found = plan_for(s, app, _body(form))
            budget.add_data_storage(s, actor, app_id, organisation_id=organisation, storage_tb=found["storage_tb"],
                                    description=found["description"], in_kind=as_ == "in-kind")  # fmt: skip
    except (HalricError, ValidationError) as exc:
        if isinstance(exc, HalricError) and exc.status in (401, 403, 404):
            raise
        with db.session() as s:
            app = _draft(s, actor, app_id)
            if app is None:
                return RedirectResponse(f"/applications/{app_id}", status_code=303)
            ctx = _context(s, app, form)
            status = _compute(s, app, ctx)
            if isinstance(exc, HalricError):
                ctx["add_error"] = {"field": exc.field or "", "detail": exc.detail.split(": ", 1)[-1]}
            ctx.update(posted_as=as_, posted_org=organisation)
            return render(request, "calls/plan.html", ctx, status_code=max(status, 400))
    anchor = "in-kind" if as_ == "in-kind" else "budget"
    return RedirectResponse(f"/applications/{app_id}/edit?storage={as_}#{anchor}", status_code=303)


class DataPlanBody(PlanBody):
    add: Literal["requested", "in-kind"] | None = Field(
        default=None, description="Also add the storage cost: as a requested budget line, or in kind"
    )
    organisation_id: str | None = Field(
        default=None, max_length=64, description="The organisation that stores the data (with add)"
    )


@api.post(
    "/applications/{app_id}/data-plan",
    summary="Plan the data of a requested instrument; optionally add its storage cost to the budget",
)
def data_plan_api(
    app_id: RowId, body: DataPlanBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    app, hats = service.get_application(s, actor, app_id)
    if "applicant" not in hats:
        from halric.core.errors import PermissionDenied

        raise PermissionDenied("Only the applicants plan this application's data.")
    found = plan_for(s, app, PlanBody(**body.model_dump(exclude={"add", "organisation_id"})))
    added = None
    if body.add:
        if not body.organisation_id:
            raise InvalidInput(
                "organisation_id: name the organisation that stores the data", field="organisation_id"
            )
        row = budget.add_data_storage(s, actor, app_id, organisation_id=body.organisation_id,
                                      storage_tb=found["storage_tb"], description=found["description"],
                                      in_kind=body.add == "in-kind")  # fmt: skip
        added = {"as": body.add, "organisation_id": row.organisation_id, "description": row.description,
                 "amount": str(row.amount), "version": app.version}  # fmt: skip
    return {
        "instrument": found["instrument"].id, "storage_tb": str(found["storage_tb"]),
        "rate_per_tb": None if found["rate_per_tb"] is None else str(found["rate_per_tb"]),
        "amount": None if found["amount"] is None else str(found["amount"]), "currency": found["currency"],
        "data_costs_fundable": found["fundable"], "description": found["description"], "plan": found["plan"],
        "added": added,
    }  # fmt: skip


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
