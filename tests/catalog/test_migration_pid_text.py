"""Migration 0028 takes each dataset's pid off the front of its search text, on both databases; the words
stay found (SQLite's full-text table follows the update), the pid is found through its column, and the
downgrade puts the pid back."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from tests.support.migrations import insert


def test_the_pid_leaves_the_search_text_and_comes_back_on_downgrade(empty_url):
    from alembic import command

    from halric.catalog.search import SearchQuery, search
    from halric.core.actor import Actor
    from halric.core.db import Database
    from halric.migrations import alembic_config, upgrade

    upgrade(empty_url, "0027")
    db = Database(empty_url)
    texts = {
        "20.500.12345/0f3c2b1a-1111-4a2b-9c3d-1234567890ab": "lysozyme soak lab-a raw",
        "10.5555/MAXIV-Run-0042": "perovskite anneal lab-a raw",
    }
    try:
        with db.engine.begin() as conn:
            for pid, words in texts.items():
                insert(conn, "catalog_datasets", pid=pid, type="raw", owner="alice", contact_email="a@lab-a",
                       owner_group="lab-a", source_folder="/data/a", creation_time=datetime(2026, 4, 1, tzinfo=UTC),
                       search_text=f"{pid.lower()} {words}", access_groups=[], is_published=False)  # fmt: skip

        def stored() -> dict[str, str]:
            with db.engine.connect() as conn:
                return dict(conn.execute(sa.text("SELECT pid, search_text FROM catalog_datasets")).all())

        upgrade(empty_url, "0028")
        assert stored() == texts
        alice = Actor(user_id=1, username="alice", groups=frozenset({"lab-a"}))
        with db.session() as s:

            def found(words: str) -> set[str]:
                return {d["pid"] for d in search(s, alice, SearchQuery(text=words, limit=10))["items"]}

            assert found("lysozyme") == {"20.500.12345/0f3c2b1a-1111-4a2b-9c3d-1234567890ab"}
            assert found("0f3c2b1a-1111-4a2b-9c3d-1234567890ab") == {
                "20.500.12345/0f3c2b1a-1111-4a2b-9c3d-1234567890ab"
            }
            assert found("10.5555/MAXIV-Run-0042 anneal") == {"10.5555/MAXIV-Run-0042"}
            assert found("maxiv") == set()  # the pid's letters are no longer words of the text
        command.downgrade(alembic_config(empty_url), "0027")
        assert stored() == {pid: f"{pid.lower()} {words}" for pid, words in texts.items()}
    finally:
        db.dispose()
