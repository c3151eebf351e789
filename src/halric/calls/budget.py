"""Budget operations beyond saving the whole draft: a data plan's storage cost added at the call's rate per
TB (as a requested line or in kind), and a requested line moved to in-kind contributions."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from halric.calls.drafts import editable_draft, known_org, touch_draft
from halric.calls.models import DATA_STORAGE, BudgetLine, Call, InKind
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput

TB = Decimal("0.001")


def storage_cost(call: Call, storage_tb: Decimal) -> Decimal:
    """What storing ``storage_tb`` costs at the call's rate (exact to the cent)."""
    if call.storage_rate_per_tb is None:
        raise Conflict("This call sets no rate for data storage.")
    return (storage_tb.quantize(TB) * call.storage_rate_per_tb).quantize(Decimal("0.01"))


def add_data_storage(
    s: Session, actor: Actor, app_id: int, *, organisation_id: str, storage_tb: Decimal, description: str,
    in_kind: bool,
) -> BudgetLine | InKind:  # fmt: skip
    """Add the cost of storing a data plan's volume at the call's rate per TB: a requested budget line
    (``cost_type`` data-storage: TB × rate) or an in-kind contribution of the same value."""
    app = editable_draft(s, actor, app_id)
    if app.call.storage_rate_per_tb is None:
        raise Conflict(
            "This call sets no rate for data storage, so no cost line can be added; describe the storage "
            "under data management."
        )
    if storage_tb < 0:
        raise InvalidInput("storage_tb: give 0 or more terabytes", field="storage_tb")
    known_org(s, organisation_id, "organisation_id")
    storage_tb = storage_tb.quantize(TB)
    description = description.strip()[:300] or f"Data storage: {storage_tb} TB"
    row: BudgetLine | InKind
    if in_kind:
        row = InKind(organisation_id=organisation_id, description=description,
                     amount=storage_cost(app.call, storage_tb))  # fmt: skip
        app.in_kind.append(row)
    else:
        row = BudgetLine(position=len(app.budget), organisation_id=organisation_id, cost_type=DATA_STORAGE,
                         description=description, storage_tb=storage_tb, rate_per_tb=app.call.storage_rate_per_tb)  # fmt: skip
        app.budget.append(row)
    touch_draft(app, actor)
    s.flush()
    audit.record(s, actor, "add-data-storage", "application", app.id, {
        "as": "in-kind" if in_kind else "requested", "organisation": organisation_id, "storage_tb": str(storage_tb),
        "rate_per_tb": str(app.call.storage_rate_per_tb), "amount": str(row.amount)})  # fmt: skip
    return row


def move_to_in_kind(s: Session, actor: Actor, app_id: int, index: int) -> InKind:
    """Turn requested budget line ``index`` (0-based) into an in-kind contribution of the same value, by the
    same organisation (what to do with a cost the call does not fund)."""
    app = editable_draft(s, actor, app_id)
    if not 0 <= index < len(app.budget):
        raise InvalidInput(f"budget: there is no budget line {index + 1}", field="budget")
    line = app.budget[index]
    text = line.description or ("Data storage" if line.is_storage else line.cost_type.capitalize())
    if line.is_storage and line.storage_tb is not None:
        text = text if "TB" in text else f"{text} ({line.storage_tb} TB)"
    kind = InKind(organisation_id=line.organisation_id, description=text[:300], amount=line.amount)
    app.budget.remove(line)
    for n, b in enumerate(app.budget):
        b.position = n
    app.in_kind.append(kind)
    touch_draft(app, actor)
    s.flush()
    audit.record(s, actor, "move-to-in-kind", "application", app.id,
                 {"line": index + 1, "cost_type": line.cost_type, "amount": str(kind.amount)})  # fmt: skip
    return kind
