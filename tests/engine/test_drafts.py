"""Drafts of task forms: one per task and user, in the database, gone once the task is done."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import drafts
from engine.store.db import Database
from engine.store.models import Draft
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA


@pytest.fixture
def review(team: Service) -> Service:
    team.deploy([ENGINE_DATA / "review_loop.bpmn", ENGINE_DATA / "review.schema.json"])
    return team


def draft_count(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Draft)) or 0


def test_a_draft_is_kept_per_user_and_replaced(review: Service, db: Database) -> None:
    # mia owns the deal but is no rep: the review waits in the sales reps' queue.
    iid = review.start("review_loop", deal="ACME", owner="mia")["instance_id"]
    task_id = review.tasks(instance=iid)[0]["task_id"]
    assert review.draft(task_id, user="alice") is None

    saved = review.save_draft(task_id, user="alice", data={"note": ["first try"]})
    assert saved["data"] == {"note": ["first try"]} and saved["saved_at"] is not None
    review.save_draft(task_id, user="bob", data={"note": ["bob's"]})
    review.save_draft(task_id, user="alice", data={"note": ["second", "try"]})
    alice = review.draft(task_id, user="alice")
    assert alice is not None and alice["data"] == {"note": ["second", "try"]}
    bob = review.draft(task_id, user="bob")
    assert bob is not None and bob["data"] == {"note": ["bob's"]}
    assert draft_count(db) == 2
    # A draft survives a new Service (a restart, another worker).
    again = Service(Database(review.db.engine.url.render_as_string(hide_password=False)))
    kept = again.draft(task_id, user="alice")
    again.db.dispose()
    assert kept is not None and kept["data"] == {"note": ["second", "try"]}
    # Nothing of it reached the deal.
    assert "note" not in review.show(iid)["data"]

    assert review.discard_draft(task_id, user="bob") is True
    assert review.discard_draft(task_id, user="bob") is False
    assert review.draft(task_id, user="bob") is None
    assert review.draft(task_id, user="alice") is not None


def test_completing_the_task_discards_every_draft_of_it(review: Service, db: Database) -> None:
    iid = review.start("review_loop", deal="ACME", owner="mia")["instance_id"]
    task_id = review.tasks(instance=iid)[0]["task_id"]
    review.save_draft(task_id, user="alice", data={"note": ["a"]})
    review.save_draft(task_id, user="bob", data={"note": ["b"]})
    other = review.start("review_loop", deal="Other", owner="alice")["instance_id"]
    other_task = review.tasks(instance=other)[0]["task_id"]
    review.save_draft(other_task, user="alice", data={"note": ["other"]})

    review.complete(task_id, user="bob", data={"done": True})
    assert review.draft(task_id, user="alice") is None
    assert review.draft(task_id, user="bob") is None
    assert review.draft(other_task, user="alice") is not None  # another task: kept
    assert draft_count(db) == 1
    with pytest.raises(ConflictError, match="already completed"):
        review.save_draft(task_id, user="alice", data={"note": ["late"]})


def test_a_failed_completion_keeps_the_draft(review: Service) -> None:
    iid = review.start("review_loop", deal="ACME", owner="alice")["instance_id"]
    task_id = review.tasks(instance=iid)[0]["task_id"]
    review.save_draft(task_id, user="alice", data={"note": ["half"]})
    with pytest.raises(ValidationError):
        review.complete(task_id, user="alice", data={"note": 5})
    assert review.draft(task_id, user="alice") is not None


def test_only_who_may_complete_the_task_keeps_a_draft(review: Service, db: Database) -> None:
    iid = review.start("review_loop", deal="ACME", owner="alice")["instance_id"]
    task_id = review.tasks(instance=iid)[0]["task_id"]
    with pytest.raises(ForbiddenError):
        review.save_draft(task_id, user="bob", data={"note": ["not mine"]})  # alice's task
    with pytest.raises(ForbiddenError):
        review.save_draft(task_id, user="lena", data={})
    with pytest.raises(NotFoundError):
        review.save_draft("no-such-task", user="alice", data={})
    with pytest.raises(NotFoundError):
        review.save_draft(task_id, user="ghost", data={})
    assert draft_count(db) == 0


def test_a_huge_draft_is_refused(review: Service) -> None:
    iid = review.start("review_loop", deal="ACME", owner="alice")["instance_id"]
    task_id = review.tasks(instance=iid)[0]["task_id"]
    # Far more than a cookie could hold is fine ...
    review.save_draft(task_id, user="alice", data={"note": ["x" * 50_000]})
    # ... only absurd sizes are refused, and the older draft stays.
    with pytest.raises(ValidationError, match="at most"):
        review.save_draft(task_id, user="alice", data={"note": ["x" * drafts.MAX_DRAFT_CHARS]})
    kept = review.draft(task_id, user="alice")
    assert kept is not None and len(kept["data"]["note"][0]) == 50_000


def test_saving_drops_the_users_drafts_of_closed_tasks(review: Service, db: Database) -> None:
    iid = review.start("review_loop", deal="ACME", owner="alice")["instance_id"]
    task_id = review.tasks(instance=iid)[0]["task_id"]
    with review.db.write() as s:  # left behind by a task closed without a completion
        drafts.save_draft(s, "closed-task", "alice", {"note": ["old"]})
        drafts.save_draft(s, "closed-task", "bob", {"note": ["bob's"]})
    assert draft_count(db) == 2
    review.save_draft(task_id, user="alice", data={"note": ["new"]})
    assert review.draft("closed-task", user="alice") is None
    assert review.draft("closed-task", user="bob") is not None  # bob's own save cleans his
    assert draft_count(db) == 2
