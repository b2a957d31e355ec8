"""A page's reads in one transaction (engine.store.db `Database.reading`): shared, yet never
stale after a write, and not poisoned by a failed statement."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from engine.store.db import Database
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA


@pytest.fixture
def deployed(team: Service) -> Service:
    team.deploy([ENGINE_DATA / "review_loop.bpmn", ENGINE_DATA / "review.schema.json"])
    return team


def _begins(db: Database) -> list[str]:
    """The transactions begun on the database from now on."""
    begun: list[str] = []

    @event.listens_for(db.engine, "begin")
    def count(_conn: Any) -> None:
        begun.append("begin")

    return begun


def test_the_reads_of_a_scope_share_one_transaction(deployed: Service) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    begun = _begins(deployed.db)
    deployed.show(iid)
    deployed.may_see("alice", iid)
    assert len(begun) == 2  # outside a scope: one each
    begun.clear()
    with deployed.reading():
        assert deployed.may_see("alice", iid)
        assert not deployed.may_see("lena", iid)  # legal neither owns nor works on it
        assert deployed.show(iid)["owner"] == "alice"
        assert deployed.tasks(instance=iid)
    assert len(begun) == 1


def test_a_write_inside_a_scope_is_seen_by_the_reads_after_it(deployed: Service) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    with deployed.reading():
        task = deployed.tasks(instance=iid)[0]
        before = len(deployed.show(iid)["history"])
        assert deployed.may_see("lena", iid) is False
        deployed.add_user("lena", ["Sales Manager"])  # a write: managers see every deal
        deployed.complete(task["task_id"], user="alice", data={"done": True})
        assert len(deployed.show(iid)["history"]) > before
        assert deployed.may_see("lena", iid) is True  # what the scope remembered is forgotten
        assert all(t["task_id"] != task["task_id"] for t in deployed.tasks(instance=iid))


def test_a_failed_statement_does_not_spoil_the_reads_after_it(db: Database) -> None:
    with db.reading():
        with pytest.raises(DBAPIError), db.read() as s:
            s.execute(text("SELECT no_such_column FROM instance"))
        with db.read() as s:
            assert s.execute(text("SELECT 1")).scalar() == 1


def test_a_scope_belongs_to_its_database(db: Database, tmp_path: Any) -> None:
    other = Database(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    try:
        other.migrate()
        with db.reading(), db.read() as mine, other.read() as theirs:
            assert mine is not theirs
            with db.read() as again:
                assert again is mine
    finally:
        other.dispose()
