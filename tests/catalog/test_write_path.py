"""The short path of a dataset write (#13): a pid the hub draws skips the look-up and savepoint a retry
needs, yet the record is stored whole (search text, terms, audit) exactly as on the long path; a pid the
client names, or an Idempotency-Key, still takes the long path (retry answered, other body refused)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from halric.catalog import folders, service
from halric.catalog.models import Dataset, DatasetTerm
from halric.core.actor import Actor
from halric.core.audit import AuditEvent
from halric.core.errors import Conflict
from halric.core.settings import Settings

ALICE = Actor(user_id=9001, username="alice-w", groups=frozenset({"wgroup"}), via="api")


def body(name: str, **extra: object) -> dict[str, object]:
    return {
        "type": "raw", "ownerGroup": "wgroup", "owner": "Alice", "contactEmail": "alice@example.org",
        "sourceFolder": "/data/w/" + name, "creationTime": "2026-11-02T10:00:00Z", "datasetName": name,
        "description": f"Zeolite Powder {name}", "keywords": ["zeolite", "powder"], "isPublished": False,
        **extra,
    }  # fmt: skip


def test_a_hub_drawn_pid_stores_the_whole_record_once(db):
    with db.session() as s:
        out = service.create_dataset(s, ALICE, body("short-path"))
    with db.session() as s:
        ds = s.get(Dataset, out["pid"])
        assert ds is not None and ds.search_text == service._search_text(ds)
        assert "zeolite powder short-path" in ds.search_text
        terms = set(
            s.execute(select(DatasetTerm.kind, DatasetTerm.value).where(DatasetTerm.dataset_pid == ds.pid))
        )
        assert ("keyword", "zeolite") in terms and ("keyword", "powder") in terms
        n = s.scalar(select(func.count()).select_from(Dataset).where(Dataset.dataset_name == "short-path"))
        assert n == 1
        events = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_id == ds.pid, AuditEvent.action == "create")
        )
        assert events == 1


def test_named_pids_and_idempotency_keys_still_take_the_retry_path(db):
    with db.session() as s:
        first = service.create_dataset(s, ALICE, body("keyed"), idempotency_key="key-w-1")
    with db.session() as s:  # the retry answers the stored dataset
        again = service.create_dataset(s, ALICE, body("keyed"), idempotency_key="key-w-1")
    assert again["pid"] == first["pid"]
    with db.session() as s, pytest.raises(Conflict):  # the same key with another body is refused
        service.create_dataset(s, ALICE, body("keyed-other"), idempotency_key="key-w-1")
    named = body("named", pid="PID.w/named-1")
    with db.session() as s:
        service.create_dataset(s, ALICE, named)
    with db.session() as s:
        assert service.create_dataset(s, ALICE, named)["pid"] == "PID.w/named-1"
    with db.session() as s, pytest.raises(Conflict):
        service.create_dataset(s, ALICE, body("named-other", pid="PID.w/named-1"))
    with db.session() as s:
        names = ("keyed", "keyed-other", "named", "named-other")
        rows = s.scalars(select(Dataset.dataset_name).where(Dataset.dataset_name.in_(names))).all()
        assert sorted(rows) == ["keyed", "named"]


def test_the_default_serving_root_follows_the_data_directory(tmp_path):
    """The default serving root is the data directory of the settings given, never one remembered."""
    for name in ("one", "two", "one"):
        cfg = Settings(data_dir=tmp_path / name, download_roots=None, data_roots=None)
        assert folders.serving_roots(cfg) == (str((tmp_path / name / "data").resolve()),)


def test_each_database_writes_with_the_settings_it_was_given(db, settings):
    """No settings are cached per process: two hubs' databases in one process (as two apps, or an app and a
    command) each draw pids under their own prefix and give their own default embargo."""
    from halric.core.db import Database

    other = Database(
        settings.db_url,
        settings=settings.model_copy(update={"catalog_pid_prefix": "PID.other", "catalog_embargo_years": 7}),
    )
    try:
        with db.session() as s:
            here = service.create_dataset(s, ALICE, body("own-settings-here"))
        with other.session() as s:
            there = service.create_dataset(s, ALICE, body("own-settings-there"))
        with db.session() as s:
            again = service.create_dataset(s, ALICE, body("own-settings-again"))
    finally:
        other.dispose()
    assert here["pid"].startswith(settings.catalog_pid_prefix + "/")
    assert there["pid"].startswith("PID.other/") and again["pid"].startswith(
        settings.catalog_pid_prefix + "/"
    )
    years = {
        p: int(d["embargoUntil"][:4]) - int(d["creationTime"][:4]) for p, d in (("a", here), ("b", there))
    }
    # created 2026, registered now (2026 or later): the embargo counts from registration
    assert years["b"] - years["a"] == 7 - settings.catalog_embargo_years
