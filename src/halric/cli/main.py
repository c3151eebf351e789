"""Entry point of the ``halric`` command. Heavy imports stay inside the commands."""

from __future__ import annotations

import sys

import typer

from halric.cli import common

app = typer.Typer(
    name="halric",
    help="HALRIC Hub: research infrastructure registry, matchmaking, pilot calls and data handling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from halric.cli import (
        catalog,
        db,
        download,
        federation,
        idp,
        ingest,
        mail,
        match,
        personal,
        privacy,
        registry,
        serve,
        users,
        worker,
    )

    app.add_typer(db.app, name="db")
    users.app.command("export")(personal.export)
    users.app.command("erase")(personal.erase)
    app.add_typer(users.app, name="user")
    app.add_typer(users.token_app, name="token")
    app.add_typer(registry.app, name="registry")
    app.add_typer(mail.app, name="mail")
    app.add_typer(catalog.app, name="catalog")
    app.add_typer(federation.sites_app, name="sites")
    app.add_typer(idp.app, name="idp")
    app.command("search")(federation.search)
    app.command("serve")(serve.serve)
    app.command("worker")(worker.worker)
    app.add_typer(worker.jobs_app, name="jobs")
    app.command("init")(serve.init)
    app.command("match")(match.match)
    app.command("plan")(ingest.plan)
    app.command("ingest")(ingest.ingest)
    app.command("verify")(ingest.verify)
    app.command("compress")(ingest.compress)
    app.add_typer(ingest.codecs_app, name="codecs")
    app.command("demo-data")(ingest.demo_data)
    app.command("download")(download.download)
    app.command("pseudonymise")(privacy.pseudonymise)
    app.command("guard")(privacy.guard)


_register()


def main(argv: list[str] | None = None) -> None:
    from pydantic import ValidationError

    from halric.core.errors import HalricError

    try:  # typer >= 0.25 vendors click
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover
        from click import ClickException

    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="halric", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        common.print_error("aborted")
        sys.exit(130)
    except ClickException as exc:
        common.print_error(exc.format_message())
        sys.exit(2)
    except (common.CliError, HalricError) as exc:
        common.print_error(str(exc))
        sys.exit(2)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()]
        common.print_error("; ".join(parts).replace("Value error, ", ""))
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
