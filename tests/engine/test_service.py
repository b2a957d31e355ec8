"""The engine's use cases against a real database (SQLite file, or PostgreSQL in CI)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.core.forms import check_data, make_validator
from engine.errors import (
    ConflictError,
    DefinitionError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.store.db import Database
from engine.store.models import History, Instance, OpenTask
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA


@pytest.fixture
def loop_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    for name in ("review_loop.bpmn", "review.schema.json"):
        shutil.copy(ENGINE_DATA / name, folder / name)
    return folder


@pytest.fixture
def deployed(team: Service, loop_dir: Path) -> Service:
    team.deploy([loop_dir])
    return team


def only_task(service: Service, instance_id: str) -> dict:
    tasks = service.tasks(instance=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Instance)),
            s.scalar(select(func.count()).select_from(OpenTask)),
            s.scalar(select(func.count()).select_from(History)),
        )


# --- definitions -------------------------------------------------------------------------


def test_deploy_is_identified_by_content(team: Service, loop_dir: Path) -> None:
    assert team.deploy([loop_dir]) == [{"process_id": "review_loop", "version": 1, "changed": True}]
    assert team.deploy([loop_dir]) == [
        {"process_id": "review_loop", "version": 1, "changed": False}
    ]
    old = team.start("review_loop", owner="alice")

    bpmn = loop_dir / "review_loop.bpmn"
    bpmn.write_text(bpmn.read_text().replace('name="Sign off"', 'name="Manager sign-off"'))
    assert team.deploy([loop_dir]) == [{"process_id": "review_loop", "version": 2, "changed": True}]
    # A changed form is a change of the version too.
    form = loop_dir / "review.schema.json"
    form.write_text(form.read_text().replace('"Note"', '"Notes"'))
    assert team.deploy([loop_dir])[0]["version"] == 3
    assert team.definitions() == [
        {"process_id": "review_loop", "name": "Review loop", "version": 3, "versions": 3}
    ]

    new = team.start("review_loop", owner="alice")
    assert new["version"] == 3
    # The running deal stays on the version it started with.
    for done in (True,):
        task = only_task(team, old["instance_id"])
        team.complete(task["task_id"], user="alice", data={"done": done})
    shown = team.show(old["instance_id"])
    assert shown["version"] == 1
    assert [t["name"] for t in shown["tasks"]] == ["Sign off"]
    assert team.start("review_loop", owner="alice", version=1)["version"] == 1


def test_broken_xml_names_file_and_line_and_keeps_what_was_deployed(
    team: Service, loop_dir: Path
) -> None:
    team.deploy([loop_dir])
    bpmn = loop_dir / "review_loop.bpmn"
    lines = bpmn.read_text().splitlines()
    lines[20] = lines[20] + "<bpmn:oops"
    bpmn.write_text("\n".join(lines))
    with pytest.raises(DefinitionError) as err:
        team.deploy([loop_dir])
    assert err.value.file == "review_loop.bpmn"
    assert err.value.line is not None and 21 <= err.value.line <= 23
    assert "review_loop.bpmn:" in str(err.value)
    assert team.definitions()[0]["version"] == 1
    assert team.start("review_loop", owner="alice")["status"] == "running"


def test_xsd_violation_is_refused_with_line(team: Service, loop_dir: Path) -> None:
    bpmn = loop_dir / "review_loop.bpmn"
    text = bpmn.read_text().replace(
        '<bpmn:endEvent id="end" name="Done">', '<bpmn:endEvent id="end" name="Done" colour="red">'
    )
    bpmn.write_text(text)
    with pytest.raises(DefinitionError) as err:
        team.deploy([loop_dir])
    assert err.value.file == "review_loop.bpmn"
    assert (
        err.value.line
        == text.splitlines().index(
            next(line for line in text.splitlines() if 'colour="red"' in line)
        )
        + 1
    )
    assert "colour" in str(err.value)
    assert team.definitions() == []


def test_missing_form_names_the_task(team: Service, loop_dir: Path) -> None:
    (loop_dir / "review.schema.json").unlink()
    with pytest.raises(DefinitionError) as err:
        team.deploy([loop_dir])
    assert err.value.element_id == "task_review"
    assert "review.schema.json" in str(err.value)
    assert err.value.line is not None


def test_invalid_form_schema_names_the_form(team: Service, loop_dir: Path) -> None:
    (loop_dir / "review.schema.json").write_text('{"type": "object", "required": "done"}')
    with pytest.raises(DefinitionError) as err:
        team.deploy([loop_dir])
    assert err.value.file == "review.schema.json"
    assert "required" in str(err.value)


def test_non_executable_process_is_refused(team: Service, loop_dir: Path) -> None:
    bpmn = loop_dir / "review_loop.bpmn"
    bpmn.write_text(bpmn.read_text().replace('isExecutable="true"', 'isExecutable="false"'))
    with pytest.raises(DefinitionError, match="isExecutable"):
        team.deploy([loop_dir])


def test_unknown_path_is_refused(team: Service, tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no such file"):
        team.deploy([tmp_path / "nope.bpmn"])


# --- running -----------------------------------------------------------------------------


def test_deal_runs_with_roles_history_and_stage(deployed: Service) -> None:
    started = deployed.start("review_loop", deal="ACME", owner="alice", data={"amount": 12000})
    assert started["status"] == "running"
    iid = started["instance_id"]

    task = only_task(deployed, iid)
    assert task["assignee"] == "alice"  # the owner holds the lane's role
    assert task["lane"] == "Sales Rep" and task["stage"] == "needs"
    assert deployed.tasks(user="alice") == [task]
    assert deployed.tasks(user="bob") == []  # assigned, so not in bob's queue

    result = deployed.complete(task["task_id"], user="alice", data={"done": True, "note": "ok"})
    assert result == {"instance_id": iid, "status": "running", "ready": ["task_sign_off"]}

    sign_off = only_task(deployed, iid)
    assert sign_off["assignee"] is None  # alice is no manager: it waits in the queue
    assert deployed.tasks(user="mia") == [sign_off]
    assert deployed.tasks(role="sales_manager") == [sign_off]
    with pytest.raises(ForbiddenError, match="Sales Manager"):
        deployed.complete(sign_off["task_id"], user="alice")
    assert deployed.complete(sign_off["task_id"], user="mia")["status"] == "completed"

    shown = deployed.show(iid)
    assert shown["status"] == "completed" and shown["completed_at"] is not None
    assert shown["stage"] == "contract"
    assert shown["amount"] == 12000.0
    assert shown["tasks"] == []
    assert shown["data"]["note"] == "ok" and shown["data"]["rounds"] == 1
    assert shown["position"] == {
        "start": "completed",
        "script_init": "completed",
        "task_review": "completed",
        "script_count": "completed",
        "gw_again": "completed",
        "task_sign_off": "completed",
        "end": "completed",
    }
    kinds = [(h["kind"], h["element_id"], h["actor"]) for h in shown["history"]]
    assert kinds[0] == ("started", None, "alice")
    assert ("completed", "task_review", "alice") in kinds
    assert ("completed", "task_sign_off", "mia") in kinds
    review = next(h for h in shown["history"] if h["element_id"] == "task_review")
    assert review["data"] == {"done": True, "note": "ok"}
    assert review["entered_at"] is not None and review["entered_at"] <= review["at"]


def test_bad_input_changes_nothing(deployed: Service, db: Database) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    task = only_task(deployed, iid)
    before = counts(db), deployed.show(iid)

    with pytest.raises(ValidationError) as err:
        deployed.complete(task["task_id"], user="alice", data={"note": "no decision"})
    assert err.value.field == "done"
    with pytest.raises(ValidationError) as err:
        deployed.complete(task["task_id"], user="alice", data={"done": "yes"})
    assert err.value.field == "done"
    with pytest.raises(NotFoundError, match="ghost"):
        deployed.complete(task["task_id"], user="ghost", data={"done": True})
    with pytest.raises(ForbiddenError):
        deployed.complete(task["task_id"], user="bob", data={"done": True})
    with pytest.raises(NotFoundError):
        deployed.complete("not-a-task", user="alice", data={"done": True})
    with pytest.raises(NotFoundError):
        deployed.show("12345")
    with pytest.raises(NotFoundError):
        deployed.show("abc")
    with pytest.raises(NotFoundError, match="no deployed process"):
        deployed.start("no_such_process")
    with pytest.raises(NotFoundError, match="nobody"):
        deployed.start("review_loop", owner="nobody")

    assert (counts(db), deployed.show(iid)) == before


def test_a_failing_expression_leaves_the_deal_where_it_was(
    team: Service, loop_dir: Path, db: Database
) -> None:
    # The loop's condition reads `done`; a form without `required` lets it be missing.
    (loop_dir / "review.schema.json").write_text('{"type": "object"}')
    team.deploy([loop_dir])
    iid = team.start("review_loop", owner="alice")["instance_id"]
    task = only_task(team, iid)
    before = counts(db), team.show(iid)
    with pytest.raises(ExpressionError) as err:
        team.complete(task["task_id"], user="alice", data={})
    assert "gw_again" in str(err.value) and "done" in str(err.value)
    assert (counts(db), team.show(iid)) == before
    # ... and the same task can still be completed properly.
    assert team.complete(task["task_id"], user="alice", data={"done": True})["ready"] == [
        "task_sign_off"
    ]


def test_completed_task_twice_is_a_conflict(deployed: Service) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    task = only_task(deployed, iid)
    deployed.complete(task["task_id"], user="alice", data={"done": True})
    with pytest.raises(ConflictError, match="already completed by alice"):
        deployed.complete(task["task_id"], user="alice", data={"done": True})


def test_two_simultaneous_completions_one_wins(deployed: Service, db_url: str) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    task = only_task(deployed, iid)
    # Two separate services (two processes' worth of caches and connections).
    services = [Service(Database(db_url)) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt(service: Service) -> None:
        barrier.wait()
        try:
            outcomes.append(service.complete(task["task_id"], user="alice", data={"done": True}))
        except ConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in services:
        s.db.dispose()
    wins = [o for o in outcomes if isinstance(o, dict)]
    conflicts = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(wins) == 1 and len(conflicts) == 1, outcomes
    shown = deployed.show(iid)
    assert [h["element_id"] for h in shown["history"]].count("task_review") == 1
    assert [t["element_id"] for t in shown["tasks"]] == ["task_sign_off"]


@pytest.mark.workflow_cache
def test_the_next_step_takes_the_workflow_kept_by_the_last(deployed: Service) -> None:
    """With the cache on, a committed change leaves its live workflow for the next step, for
    exactly the deal's new lock_version; with it off (`workflow_cache=0`) nothing is kept."""
    iid = int(deployed.start("review_loop", owner="alice")["instance_id"])
    with deployed.db.read() as s:
        lock_version = s.get(Instance, iid).lock_version
    assert deployed.workflows.checkout(iid, lock_version - 1) is None  # another version: no
    iid2 = int(deployed.start("review_loop", owner="alice")["instance_id"])
    with deployed.db.read() as s:
        lock_version2 = s.get(Instance, iid2).lock_version
    assert deployed.workflows.checkout(iid2, lock_version2) is not None
    uncached = Service(deployed.db, workflow_cache=0)
    iid3 = int(uncached.start("review_loop", owner="alice")["instance_id"])
    with deployed.db.read() as s:
        lock_version3 = s.get(Instance, iid3).lock_version
    assert uncached.workflows.checkout(iid3, lock_version3) is None


@pytest.mark.workflow_cache
def test_stale_cache_is_not_used(deployed: Service, db_url: str) -> None:
    """Another process changed the deal: this service's cached workflow must not be reused."""
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    other = Service(Database(db_url))
    task = only_task(other, iid)
    other.complete(task["task_id"], user="alice", data={"done": False})
    other.db.dispose()
    task = only_task(deployed, iid)
    deployed.complete(task["task_id"], user="alice", data={"done": True})
    assert [t["element_id"] for t in deployed.tasks(instance=iid)] == ["task_sign_off"]
    assert deployed.show(iid)["data"]["rounds"] == 2


@pytest.mark.workflow_cache  # a thousand rounds from the cache, then one reload
def test_a_thousand_rounds_keep_going_after_a_reload(deployed: Service, db_url: str) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    for _ in range(1000):
        task = only_task(deployed, iid)
        deployed.complete(task["task_id"], user="alice", data={"done": False})
    reloaded = Service(Database(db_url))  # a restart: nothing cached
    task = only_task(reloaded, iid)
    assert task["element_id"] == "task_review"
    result = reloaded.complete(task["task_id"], user="alice", data={"done": True})
    assert result == {"instance_id": iid, "status": "running", "ready": ["task_sign_off"]}
    shown = reloaded.show(iid)
    assert shown["status"] == "running" and shown["data"]["rounds"] == 1001
    with reloaded.db.read() as s:
        state = s.get(Instance, int(iid)).state
    # The stored state stays small: history lives in its own table, not in the task tree.
    assert len(state) < 20_000
    reloaded.db.dispose()


def test_long_script_loop_does_not_stall(team: Service) -> None:
    team.deploy([ENGINE_DATA / "script_loop.bpmn"])
    iid = team.start("script_loop", data={"n": 3000})["instance_id"]
    shown = team.show(iid)
    assert shown["status"] == "running"
    assert shown["data"]["i"] == 3000
    assert [t["element_id"] for t in shown["tasks"]] == ["task_after_loop"]


def test_survives_a_restart(deployed: Service, db_url: str) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    task = only_task(deployed, iid)
    deployed.complete(task["task_id"], user="alice", data={"done": False, "note": "again"})
    deployed.db.dispose()

    restarted = Service(Database(db_url))
    task = only_task(restarted, iid)
    restarted.complete(task["task_id"], user="alice", data={"done": True})
    sign_off = only_task(restarted, iid)
    restarted.complete(sign_off["task_id"], user="mia")
    assert restarted.show(iid)["status"] == "completed"
    restarted.db.dispose()


def test_role_names_match_case_insensitively(deployed: Service) -> None:
    iid = deployed.start("review_loop", owner="mia")["instance_id"]
    task = only_task(deployed, iid)
    assert task["assignee"] is None  # mia is no rep
    # bob holds "sales_rep", the lane is "Sales Rep".
    assert deployed.tasks(user="bob") == [task]
    deployed.complete(task["task_id"], user="bob", data={"done": True})
    sign_off = only_task(deployed, iid)
    assert sign_off["assignee"] == "mia"


def test_every_missing_field_is_named() -> None:
    validator = make_validator(
        {"type": "object", "required": ["company", "contact", "intent"], "properties": {}}
    )
    with pytest.raises(ValidationError) as err:
        check_data(validator, {"contact": "Li"})
    assert [e["field"] for e in err.value.errors] == ["company", "intent"]
