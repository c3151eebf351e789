"""``halric mail``: deliver the outbox (run from cron or a systemd timer)."""

from __future__ import annotations

import typer

from halric.cli.common import console, database, settings

app = typer.Typer(help="Outgoing e-mail.", no_args_is_help=True)


@app.command("send")
def send() -> None:
    """Deliver pending messages over SMTP; failures stay queued and are retried later."""
    from halric.calls.mail import send_pending

    db = database()
    with db.session() as s:
        sent, failed = send_pending(s, settings())
    db.dispose()
    console.print(f"Sent {sent} message(s); {failed} failed and will be retried.")
    if failed and not sent:
        raise typer.Exit(1)


@app.command("status")
def status() -> None:
    """Count queued, sent and failing messages."""
    from sqlalchemy import func, select

    from halric.calls.models import OutboxMessage

    db = database()
    with db.session() as s:
        queued = s.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None))) or 0
        failing = (
            s.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts > 0))
            or 0
        )
        sent = s.scalar(select(func.count()).where(OutboxMessage.sent_at.is_not(None))) or 0
    db.dispose()
    console.print(f"queued {queued} (of which failing {failing}), sent {sent}")
