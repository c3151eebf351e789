"""Schemathesis over the whole OpenAPI document (`/api/openapi.json`: the hub's API, the SciCat `/api/v3` and
`/api/v4` routes and `/panosc-api`), in process, on a fresh database of each kind: valid and invalid
input for every operation, anonymously and with an administrator's token. No answer may be a 5xx, every
status code must be one the document declares for the operation, and every body must match the declared
schema (errors: one `Error` object with `detail` as a string).

Bounded: `HALRIC_FUZZ_EXAMPLES` examples per operation, mode and caller (default 3), derandomised so a
run is repeatable; raise it locally to search harder (`HALRIC_FUZZ_EXAMPLES=100`), and narrow it to some
operations with `HALRIC_FUZZ_ONLY=/panosc-api`."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from sqlalchemy import select, update

EXAMPLES = int(os.environ.get("HALRIC_FUZZ_EXAMPLES", "3"))


def _admin_token(db, username: str) -> str:
    """A fresh token for the administrator, who is made active again first (a generated PATCH may have
    switched the account off or revoked the previous token: later operations are still tested signed in)."""
    from halric.accounts import service
    from halric.accounts.models import User
    from halric.core.actor import system_actor

    with db.session() as s:
        s.execute(update(User).where(User.username == username).values(is_active=True))
        user = s.scalar(select(User).where(User.username == username))
        token, _ = service.create_api_token(s, system_actor("fuzz"), user, "fuzz")
    return token


PLAIN = {"type", "title", "description", "default"}


def negatable(op: dict) -> bool:
    """Whether invalid input can be generated at all: a body with a schema, or a parameter constrained
    beyond "some string" (every path and query value is a string, so those have no invalid form)."""
    body = op.get("requestBody", {}).get("content", {})
    if any(media.get("schema", {}).keys() - {"title", "description"} for media in body.values()):
        return True
    return any(
        p.get("schema", {}).get("type") != "string" or p.get("schema", {}).keys() - PLAIN
        for p in op.get("parameters", [])
    )


def _runner(op, mode, headers: dict, checks: list, counts: Counter):
    """One bounded, repeatable Hypothesis run of one operation in one mode as one caller."""
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case) -> None:
        response = case.call(headers=headers, timeout=60)
        counts["cases"] += 1
        counts[f"{response.status_code // 100}xx"] += 1
        case.validate_response(response, checks=checks, headers=headers)

    return run


@pytest.mark.timeout(1200)  # ~2-3 min per database on 2 idle cores; the suite's 300 s cut would land mid-case
def test_every_operation_answers_as_documented(app, db, make_user, monkeypatch):
    import schemathesis
    from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    monkeypatch.setattr(app.state.settings, "download_roots", "")  # nothing on this machine is served
    admin = make_user(roles=["admin"], prefix="fuzzadm")

    spec = app.openapi()  # built once here: the first request for it may take seconds on a busy machine
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, timeout=120)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    failures: list[str] = []
    counts: Counter[str] = Counter()
    started = time.monotonic()

    slow: list[tuple[float, str]] = []
    only = os.environ.get("HALRIC_FUZZ_ONLY")  # a part of the operations' labels, to look at a few
    for result in schema.get_all_operations():
        op = result.ok()
        if only and only not in op.label:
            continue
        op_started = time.monotonic()
        for who in ("anonymous", "admin"):
            call_headers = {"Authorization": f"Bearer {_admin_token(db, admin)}"} if who == "admin" else {}
            raw = spec["paths"][op.path][op.method.lower()]
            modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negatable(raw) else [])
            for mode in modes:
                run = _runner(op, mode, call_headers, checks, counts)
                try:
                    try:
                        run()
                    except FlakyStrategyDefinition:  # Hypothesis could not replay its draw: try once more
                        counts["retried"] += 1
                        run()
                except Unsatisfiable:
                    counts["unsatisfiable"] += 1
                except (Exception, BaseExceptionGroup) as exc:  # one line per operation, caller, mode
                    first = str(exc).strip().splitlines()
                    failures.append(f"{op.label} [{who}, {mode.value}]: {' | '.join(first[:6])[:600]}")
        slow.append((time.monotonic() - op_started, op.label))
        if os.environ.get("HALRIC_FUZZ_TRACE"):
            with open(os.environ["HALRIC_FUZZ_TRACE"], "a") as trace:
                trace.write(f"{slow[-1][0]:7.1f} s {op.label}\n")
    elapsed = time.monotonic() - started
    print("slowest:", sorted(slow, reverse=True)[:8])
    print(f"\nschemathesis: {counts['cases']} cases in {elapsed:.0f} s; {dict(counts)}")
    assert not failures, f"{len(failures)} failing operations:\n" + "\n".join(failures)
    assert only or counts["cases"] > 150 * EXAMPLES
