"""The application as reviewers see it: one structure rendered as HTML (page) and as PDF (fpdf2).

A confidential application shown redacted (calls/confidential.py) keeps only its non-confidential summary
and the team's countries and sectors here too; the PDF of a confidential application carries, on every
page, the name of the person who downloaded it and the date (a watermark across the page and a line at its
foot), and each such download is in the audit log."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.calls import service, workflow
from halric.calls.models import Application
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import NotFound
from halric.core.timeutil import utcnow
from halric.registry import service as registry

SECTIONS = (
    ("lay_summary", "Lay summary"),
    ("research_question", "Research question"),
    ("work_plan", "Work plan"),
    ("timeline", "Timeline"),
    ("impact", "Expected impact for industry or clinic"),
    ("data_management", "Data management"),
)


def review_view(s: Session, app: Application) -> dict[str, Any]:
    """Everything a reviewer sees, in display order. Used by the page and by the PDF. ``app`` as
    ``service.get_application`` gave it: a redacted application gives the redacted view."""
    if app.redacted:
        return _redacted_view(app)
    instruments = []
    for iid in app.instruments:
        try:
            i = registry.get_instrument(s, iid)
            instruments.append(
                {"id": i.id, "name": i.name, "facility": i.infrastructure.name, "country": i.country}
            )
        except NotFound:
            instruments.append(
                {"id": iid, "name": iid, "facility": "(no longer in the registry)", "country": ""}
            )
    ev = service.evaluate(s, app)
    org_names = _organisation_names(s, app)

    def org(oid: str) -> str:
        return org_names.get(oid, oid)

    return {
        "id": app.id, "title": app.title or "(untitled)", "call": app.call.title, "state": workflow.LABELS[app.state],
        "duration_months": app.duration_months, "currency": app.call.currency,
        "sections": ([("Non-confidential summary", app.public_summary)] if app.confidential else [])
                    + [(label, getattr(app, key)) for key, label in SECTIONS],
        "team": [{"name": m.name, "organisation": org(m.organisation_id), "country": m.country, "sector": m.sector,
                  "role": m.role} for m in app.team],
        "instruments": instruments,
        "budget": [{"organisation": org(b.organisation_id), "type": b.cost_type, "description": b.description,
                    "quantity": quantity(b), "rate": rate(b), "amount": b.amount} for b in app.budget],
        "budget_total": service.budget_total(app),
        "in_kind": [{"organisation": org(k.organisation_id), "description": k.description, "amount": k.amount}
                    for k in app.in_kind],
        "in_kind_total": sum((k.amount for k in app.in_kind), Decimal("0.00")),
        "eligibility": [{"label": r.label, "status": r.status, "reason": r.reason} for r in ev.results],
        "motivations": app.motivations or {}, "org_names": org_names,
        "confidential": app.confidential, "redacted": False,
        "public_summary": app.public_summary if app.confidential else "",
    }  # fmt: skip


def _redacted_view(app: Application) -> dict[str, Any]:
    """What someone sees of a confidential application before accepting the call's terms."""
    return {
        "id": app.id, "title": app.title, "call": app.call.title, "state": workflow.LABELS[app.state],
        "duration_months": app.duration_months, "currency": app.call.currency,
        "sections": [("Non-confidential summary", app.public_summary)],
        "team": [{"name": "", "organisation": "", "country": m.country, "sector": m.sector, "role": ""}
                 for m in app.team],
        "instruments": [], "budget": [], "budget_total": Decimal("0.00"), "in_kind": [],
        "in_kind_total": Decimal("0.00"), "eligibility": [], "motivations": {}, "org_names": {},
        "confidential": True, "redacted": True, "public_summary": app.public_summary,
    }  # fmt: skip


def quantity(b: Any) -> str:
    """How much of a budget line: "3.50 person-months" or "12.500 TB"."""
    if b.is_storage:
        return f"{b.storage_tb} TB"
    return f"{b.person_months} person-months"


def rate(b: Any) -> str:
    """At what cost: "7,000.10 a month" or "40.00 per TB" (the call's rate)."""
    if b.is_storage:
        return f"{money(b.rate_per_tb or Decimal('0'))} per TB"
    return f"{money(b.monthly_cost or Decimal('0'))} a month"


def _organisation_names(s: Session, app: Application) -> dict[str, str]:
    """Registry names of the organisations the application and its project mention (ids stay as they are
    when an organisation has left the registry)."""
    from sqlalchemy import select

    from halric.calls.models import Project
    from halric.registry.models import Organisation

    ids = {m.organisation_id for m in app.team} | {b.organisation_id for b in app.budget}
    ids |= {k.organisation_id for k in app.in_kind}
    project = s.scalar(select(Project).where(Project.application_id == app.id))
    if project is not None:
        ids |= {str(c.get("organisation_id", "")) for c in project.cost_claims}
    if not ids:
        return {}
    return {o.id: o.name for o in s.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def money(x: Decimal) -> str:
    return f"{x:,.2f}"


def watermark(s: Session, actor: Actor) -> str:
    """Who downloaded a confidential PDF, and when: their name (and account) and today's date (UTC)."""
    user = s.get(User, actor.user_id) if actor.user_id is not None else None
    name = user.full_name if user is not None and user.full_name else actor.username
    who = f"{name} ({actor.username})" if name != actor.username else name
    return f"Confidential · downloaded by {who} · {utcnow():%Y-%m-%d}"


def application_pdf(s: Session, actor: Actor, app: Application) -> bytes:
    """The PDF of ``app`` (as ``service.get_application`` gave it to ``actor``). A confidential one is
    watermarked with the downloader's name and the date, and the download is audited."""
    view = review_view(s, app)
    if not app.confidential:
        return pdf(view)
    mark = watermark(s, actor)
    audit.record(
        s, actor, "download-pdf", "application", app.id, {"watermark": mark, "redacted": app.redacted}
    )
    return pdf(view, mark)


def pdf(view: dict[str, Any], mark: str | None = None) -> bytes:
    """The application as PDF; ``mark``: a watermark on every page (across it, and a line at its foot)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class Marked(FPDF):
        def header(self) -> None:
            if not mark:
                return
            self.set_font("DejaVu", "B", 22)
            self.set_text_color(215, 215, 215)  # light: the text stays legible over it
            x, y = 18.0, self.h - 60.0
            with self.rotation(55, x, y):
                self.text(x, y, mark)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            if not mark:
                return
            self.set_font("DejaVu", "", 8)
            self.set_text_color(90, 90, 90)
            self.text(self.l_margin, self.h - 7, f"{mark} · page {self.page_no()}")
            self.set_text_color(0, 0, 0)

    doc = Marked(format="A4")
    doc.set_auto_page_break(True, margin=15)
    fonts = _font_dir()
    doc.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    doc.set_title(view["title"])
    doc.set_author("HALRIC Hub")
    doc.add_page()
    w = doc.epw

    def heading(text: str, size: int = 13) -> None:
        doc.ln(2)
        doc.set_font("DejaVu", "B", size)
        doc.multi_cell(w, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        doc.set_font("DejaVu", "", 10)

    def para(text: str) -> None:
        doc.set_font("DejaVu", "", 10)
        # every line starts at the left margin (a multi_cell otherwise leaves x at the right edge, and the
        # next paragraph ran off the page); words longer than a line are broken, never cut
        doc.multi_cell(w, 5, text or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        doc.ln(1)

    heading(view["title"], 16)
    para(f"HALRIC pilot-project application #{view['id']} · {view['call']} · {view['state']} · "
         f"{view['duration_months'] or '?'} months")  # fmt: skip
    if view["redacted"]:
        para("Confidential application: only its non-confidential summary is shown. Accept the call's "
             "confidentiality terms in the HALRIC Hub to read it.")  # fmt: skip
    elif view["confidential"]:
        para("Confidential application: do not pass it on to anyone who has not accepted the call's "
             "confidentiality terms in the HALRIC Hub.")  # fmt: skip
    for label, text in view["sections"]:
        heading(label)
        para(text)
    if view["redacted"]:
        heading("Team (countries and sectors)")
        with doc.table(col_widths=(20, 20), text_align="LEFT") as t:
            t.row(["Country", "Sector"])
            for m in view["team"]:
                t.row([m["country"], m["sector"]])
        return bytes(doc.output())
    heading("Team")
    with doc.table(col_widths=(30, 25, 10, 15, 20), text_align="LEFT") as t:
        t.row(["Name", "Organisation", "Country", "Sector", "Role"])
        for m in view["team"]:
            t.row([m["name"], m["organisation"], m["country"], m["sector"], m["role"] or ""])
    heading("Infrastructure")
    with doc.table(col_widths=(35, 45, 10), text_align="LEFT") as t:
        t.row(["Instrument", "Facility", "Country"])
        for i in view["instruments"]:
            t.row([i["name"], i["facility"], i["country"]])
    heading(f"Budget requested ({view['currency']})")
    with doc.table(
        col_widths=(20, 17, 22, 15, 15, 14), text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")
    ) as t:
        t.row(["Organisation", "Type", "Description", "Quantity", "Rate", "Amount"])
        for b in view["budget"]:
            t.row(
                [b["organisation"], b["type"], b["description"], b["quantity"], b["rate"], money(b["amount"])]
            )
        t.row(["Total", "", "", "", "", money(view["budget_total"])])
    if view["in_kind"]:
        heading("In-kind contributions")
        with doc.table(col_widths=(25, 50, 20), text_align=("LEFT", "LEFT", "RIGHT")) as t:
            t.row(["Organisation", "Contribution", "Value"])
            for k in view["in_kind"]:
                t.row([k["organisation"], k["description"], money(k["amount"])])
    heading("Eligibility")
    for r in view["eligibility"]:
        para(f"[{r['status'].upper()}] {r['label']}: {r['reason']}")
    return bytes(doc.output())
