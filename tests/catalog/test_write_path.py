"""The short path of a dataset write (#13): a pid the hub draws skips the look-up and savepoint a retry
needs, yet the record is stored whole (search text, terms, audit) exactly as on the long path; a pid the
client names, or an Idempotency-Key, still takes the long path (retry answered, other body refused)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from halric.catalog import config, folders, service
from halric.catalog.models import Dataset, DatasetTerm
from halric.core.actor import Actor
from halric.core.audit import AuditEvent
from halric.core.errors import Conflict

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


def test_the_default_serving_root_follows_the_data_directory(monkeypatch, tmp_path):
    """The data directory is remembered per environment, never across a change of it."""
    unset = config.CatalogSettings(download_roots=None, data_roots=None)
    for name in ("one", "two", "one"):
        monkeypatch.setenv("HALRIC_DATA_DIR", str(tmp_path / name))
        assert folders.serving_roots(unset) == (str((tmp_path / name / "data").resolve()),)
