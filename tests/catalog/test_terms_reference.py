"""A dataset's terms always belong to a dataset: a foreign key on SQLite, statement-level triggers on
PostgreSQL (migration 0027) — the same guarantees either way, checked on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from halric.catalog import service
from halric.core.actor import Actor

ALICE = Actor(user_id=1, username="alice", groups=frozenset({"lab-terms"}))


def _dataset(db, **extra) -> str:
    pid = extra.pop("pid", None) or f"terms/{uuid.uuid4().hex[:10]}"
    with db.session() as s:
        service.create_dataset(
            s,
            ALICE,
            {
                "pid": pid,
                "owner": "Alice",
                "contactEmail": "alice@example.org",
                "sourceFolder": f"/data/{pid}",
                "creationTime": "2026-01-01T00:00:00Z",
                "type": "raw",
                "ownerGroup": "lab-terms",
                "keywords": ["reference-check", "second"],
                "accessGroups": ["partners-terms"],
                **extra,
            },
        )
    return pid


def _terms(db, pid: str) -> set[tuple[str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, value FROM catalog_dataset_terms WHERE dataset_pid = :p"), {"p": pid}
        )
        return {(k, v) for k, v in rows}


def test_a_dataset_written_by_the_service_has_its_terms(db):
    pid = _dataset(db)
    expected = {("keyword", "reference-check"), ("keyword", "second"), ("group", "partners-terms")}
    assert expected <= _terms(db, pid)


def test_terms_of_a_missing_dataset_are_refused_and_nothing_is_written(db):
    pid = _dataset(db)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(  # one statement, two rows: the good row must not stay either
            text(
                "INSERT INTO catalog_dataset_terms (dataset_pid, kind, value) "
                "VALUES (:good, 'keyword', 'fine'), ('no/such-dataset', 'keyword', 'orphan')"
            ),
            {"good": pid},
        )
    assert ("keyword", "fine") not in _terms(db, pid)
    assert _terms(db, "no/such-dataset") == set()


def test_moving_terms_to_a_missing_dataset_is_refused(db):
    pid = _dataset(db)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE catalog_dataset_terms SET dataset_pid = 'no/such-dataset' WHERE dataset_pid = :p"),
            {"p": pid},
        )
    assert ("keyword", "reference-check") in _terms(db, pid)


def test_deleting_a_dataset_past_the_service_deletes_its_terms(db):
    keep, gone, gone_too = _dataset(db), _dataset(db), _dataset(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM catalog_datasets WHERE pid IN (:a, :b)"), {"a": gone, "b": gone_too})
    assert _terms(db, gone) == set() and _terms(db, gone_too) == set()
    assert ("keyword", "reference-check") in _terms(db, keep)
    # a new dataset under a deleted pid starts without the old one's terms (its groups grant no access)
    assert _dataset(db, pid=gone, keywords=["fresh"]) == gone
    assert {k for k in _terms(db, gone) if k[0] == "keyword"} == {("keyword", "fresh")}


def test_a_dataset_with_terms_keeps_its_pid(db):
    pid = _dataset(db)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE catalog_datasets SET pid = :new WHERE pid = :p"), {"p": pid, "new": pid + "x"}
        )
    with db.engine.begin() as conn:  # other columns change freely
        conn.execute(text("UPDATE catalog_datasets SET description = 'changed' WHERE pid = :p"), {"p": pid})
    assert ("keyword", "reference-check") in _terms(db, pid)


def test_postgresql_checks_once_per_statement_not_per_row(db):
    """The reason for the triggers: no foreign key (a per-row check) on the terms in PostgreSQL."""
    with db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            fks = conn.execute(text("PRAGMA foreign_key_list(catalog_dataset_terms)")).all()
            assert [fk[2] for fk in fks] == ["catalog_datasets"]
            return
        fks = conn.execute(
            text(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                "AND conrelid = 'catalog_dataset_terms'::regclass"
            )
        ).scalar()
        triggers = set(
            conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                    "AND tgrelid IN ('catalog_dataset_terms'::regclass, 'catalog_datasets'::regclass)"
                )
            ).scalars()
        )
    assert fks == 0
    assert {
        "catalog_dataset_terms_check_dataset_ai",
        "catalog_dataset_terms_check_dataset_au",
        "catalog_datasets_delete_terms",
        "catalog_datasets_keep_pid",
    } <= triggers
