"""The hub's outbox for administrators (``/admin/mail``).

With ``HALRIC_MAIL_DELIVERY=local`` (what `make run` sets) the outbox is the development mailbox: every
message can be opened and its links followed, so sign-up and password reset work without a mail server.
With ``smtp`` delivery the page lists what was sent, what waits and what fails, without the bodies:
they carry single-use sign-in links meant for their recipients only.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from halric.calls import mail
from halric.calls.models import OutboxMessage
from halric.core.actor import Actor
from halric.core.errors import NotFound
from halric.web.access import ADMIN
from halric.web.deps import DB
from halric.web.params import RowId
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(prefix="/admin", include_in_schema=False)
PER_PAGE = 50
_URL = re.compile(r"https?://[^\s<>\"']+")


def linked(text: str) -> Markup:
    """The plain-text body, escaped, with its web addresses as links."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:)")
        out.append(escape(text[last : m.start()]))
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = m.start() + len(url)
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _local(request: Request) -> bool:
    return request.app.state.settings.mail_delivery == "local"


@pages.get("/mail", response_class=HTMLResponse)
def outbox(
    request: Request,
    page: int = Query(1, ge=1, le=100000),
    actor: Actor = Depends(ADMIN),
    s: Session = DB,
) -> Response:
    rows, total = mail.recent(s, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render(
        request,
        "admin_mail.html",
        {"rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
         "local": _local(request)},
    )  # fmt: skip


@pages.get("/mail/{message_id}", response_class=HTMLResponse)
def message(request: Request, message_id: RowId, actor: Actor = Depends(ADMIN), s: Session = DB) -> Response:
    m = s.get(OutboxMessage, message_id)
    if m is None:
        raise NotFound(f"No message {message_id} in the outbox.")
    body = linked(m.body) if _local(request) else None
    return render(request, "admin_mail_message.html", {"m": m, "body": body, "local": _local(request)})


def register(app: FastAPI) -> None:
    attach(app, pages)
    app.state.dashboard_cards += [
        {
            "roles": ["admin"],
            "title": "Mail",
            "text": "The hub's outbox: what was sent, what waits and what fails "
            "(in development, the mailbox itself).",
            "href": "/admin/mail",
            "link": "Open the outbox",
        },
    ]
