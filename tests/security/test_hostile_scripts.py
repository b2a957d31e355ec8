"""Issue 13, item 1: a published script cannot stall the server.

The attack: five lines build two structures by `a = [a, a]` thirty times (2**30 leaves, a few
hundred bytes in memory), then compare, sort, hash or test membership on them, or just keep
them in the task data.  Before the fix each ran for minutes inside C code, where the step
budget never looked, with SQLite's write lock held.  Now every value such an operation would
walk is measured first, what stays in the task data is bounded, every evaluation and every
engine step has a time limit, and on SQLite the engine runs before the write lock is taken.
Replayed here on the expression engine, through the use cases (SQLite and PostgreSQL) and
against a real `salesflow serve` (waitress)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.core import runtime
from engine.core.expressions import (
    MAX_DATA_SIZE,
    SafeEnvironment,
    time_limit,
)
from engine.errors import ConflictError, ExpressionError
from engine.store.db import Database
from engine.store.models import Instance
from engine.usecases.service import Service
from tests.security.test_server import serving

HOSTILE = Path(__file__).parent / "data" / "hostile.bpmn"
BUILD = (
    "a = [0]\nb = [0]\nt = (0,)\n"
    "for i in range(30):\n    a = [a, a]\n    b = [b, b]\n    t = (t, t)\n"
)

# Each consumer of a whole value that C code walks: refused before it starts.
WALKS = [
    "r = a == b",
    "r = a != b",
    "r = a < b",
    "r = [a] == [b]",
    "r = {'x': a} == {'x': b}",
    "r = sorted([a, b])",
    "r = min(a, b)",
    "r = max([a, b])",
    "r = a in [b]",
    "r = [b].count(a)",
    "r = [b].index(a)",
    "r = {t: 1}",
    "r = {t}",
    "d = {}\nd[t] = 1",
    "r = {'k': 1}.get(t)",
    "r = set([t])",
    "r = dict([(t, 1)])",
    "r = {x: 1 for x in [t]}",
    "r = {x for x in [t]}",
    "a.append(a)",
]


@pytest.fixture
def env() -> SafeEnvironment:
    return SafeEnvironment()


@pytest.mark.parametrize("attack", WALKS)
def test_a_walk_over_shared_parts_is_refused(env: SafeEnvironment, attack: str) -> None:
    data: dict[str, Any] = {}
    with pytest.raises(ExpressionError, match="too large to compare"):
        env.execute(BUILD + attack, data)
    # Nothing unbounded is left behind to be copied or saved.
    assert not {"a", "b", "t"} & set(data)


@pytest.mark.parametrize(
    "text",
    [
        "[[[0] * 1000] * 1000] * 1000 == [[[0] * 1000] * 1000] * 1000",
        "sorted([[[0] * 1000] * 1000] * 1000)",
        "x.append(x) or x == x",
    ],
)
def test_one_expression_cannot_build_and_walk_a_huge_value(env: SafeEnvironment, text: str) -> None:
    data: dict[str, Any] = {"x": [1]}
    with pytest.raises(ExpressionError, match="too large"):
        env.evaluate(text, data)
    assert "x" not in data or len(json.dumps(data)) < 100


def test_what_a_script_keeps_is_bounded(env: SafeEnvironment) -> None:
    data: dict[str, Any] = {"company": "ACME"}
    with pytest.raises(ExpressionError, match=f"over {MAX_DATA_SIZE:,} characters") as caught:
        env.execute(BUILD, data)
    assert "'a', 'b', 't' not kept" in str(caught.value)
    assert set(data) == {"company", "i"}
    # A value that contains itself is endless written out: refused the same way.
    with pytest.raises(ExpressionError, match="contain itself"):
        env.execute("x = []\ny = [x]\nx.extend(y)", data)
    assert set(data) == {"company", "i"}


@pytest.mark.parametrize("script", ["x[0] = x", "d['self'] = d", "x.append(x)"])
def test_a_change_in_place_is_measured_too(env: SafeEnvironment, script: str) -> None:
    # Nothing is rebound, but a value of the data now contains itself.
    data: dict[str, Any] = {"x": [1], "d": {}, "company": "ACME"}
    with pytest.raises(ExpressionError, match="contain"):
        env.execute(script, data)
    assert data.get("company") == "ACME"
    json.dumps(data)  # what is left can be written out


def test_ordinary_values_of_a_sales_process_pass(env: SafeEnvironment) -> None:
    lines = [{"sku": f"S{i}", "qty": i % 7, "price": 99.5} for i in range(2_000)]
    data: dict[str, Any] = {"lines": lines, "tiers": ("A", "B")}
    env.execute(
        "skus = sorted(line['sku'] for line in lines)\n"
        "big = [line for line in lines if line['qty'] > 3]\n"
        "same = lines == lines\n"
        "by_tier = {('A', 1): 1, tiers: 2}\n"
        "found = {'sku': 'S5', 'qty': 5, 'price': 99.5} in lines\n",
        data,
    )
    assert data["found"] is True and data["same"] is True
    # Just under the limit is allowed: ~992,000 items, shared parts counted each time.
    assert env.evaluate("[[0] * 990] * 1000 == [[0] * 990] * 1000", {}) is True


def test_an_evaluation_stops_at_its_deadline(env: SafeEnvironment) -> None:
    with time_limit(0.0), pytest.raises(ExpressionError, match="ran longer than allowed"):
        env.execute("n = 0\nfor i in range(10):\n    n += i", {})
    # An inner limit never extends an outer one.
    with (
        time_limit(0.0),
        time_limit(60.0),
        pytest.raises(ExpressionError, match="ran longer than allowed"),
    ):
        env.evaluate("[i for i in range(10)]", {})
    # Outside any limit the evaluation's own limit applies: this one finishes.
    assert env.evaluate("sum([i for i in range(10)])", {}) == 45


# --- through the use cases ------------------------------------------------------------------


@pytest.fixture
def hostile(team: Service) -> Service:
    team.deploy([HOSTILE])
    return team


def prepared(service: Service, attack: str, depth: int = 30) -> tuple[str, str]:
    """A deal of the hostile process at its first task: (deal id, task id)."""
    iid = service.start("hostile", owner="alice", data={"attack": attack, "depth": depth})[
        "instance_id"
    ]
    (task,) = service.tasks(instance=iid)
    return iid, task["task_id"]


def stored_state(service: Service, iid: str) -> str:
    with service.db.read() as s:
        state = s.scalar(select(Instance.state).where(Instance.id == int(iid)))
    assert state is not None
    return state


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        ("compare", "too large to compare"),
        ("sort", "too large to compare"),
        ("member", "too large to compare"),
        ("hash", "too large to compare"),
        ("keep", "the task data would be over"),
    ],
)
def test_the_hostile_script_ends_in_an_incident(
    hostile: Service, attack: str, message: str
) -> None:
    iid, task_id = prepared(hostile, attack)
    done = hostile.complete(task_id, user="alice")
    # The rep's task stays done; the deal waits in incidents with a message that says why.
    assert done["status"] == "error"
    (incident,) = [i for i in hostile.incidents(user="mia") if i["instance_id"] == iid]
    assert incident["error"]["element_id"] == "script_work"
    assert message in incident["error"]["message"]
    if attack != "keep":  # the line the script stopped at, in the designer's words
        assert incident["error"]["message"].startswith("line ")
    deal = hostile.show(iid)
    assert not {"a", "b", "t"} & set(deal["data"])
    assert len(json.dumps(deal, default=str)) < 100_000
    assert len(stored_state(hostile, iid)) < 100_000


def test_the_same_model_on_harmless_data_runs_on(hostile: Service) -> None:
    _iid, task_id = prepared(hostile, "compare", depth=3)
    assert hostile.complete(task_id, user="alice")["ready"] == ["task_review"]


def test_a_process_looping_without_end_is_stopped(
    hostile: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.Change, "MAX_TASKS", 300)
    iid, task_id = prepared(hostile, "loop", depth=2)
    assert hostile.complete(task_id, user="alice")["status"] == "error"
    (incident,) = [i for i in hostile.incidents(user="mia") if i["instance_id"] == iid]
    assert "stopped after 300 steps without waiting for anyone" in incident["error"]["message"]
    assert "loop without end" in incident["error"]["message"]


def test_a_state_beyond_its_limit_is_not_saved(
    hostile: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid, task_id = prepared(hostile, "none", depth=2)
    before = stored_state(hostile, iid)
    monkeypatch.setattr(runtime, "MAX_STATE_CHARS", len(before) + 10)
    with pytest.raises(ExpressionError, match=r"the deal's state would be .* MB; the limit is"):
        hostile.complete(task_id, user="alice", data={"notes": "x" * 5_000})
    # Nothing was changed: the task is still open, the state as it was.
    assert [t["task_id"] for t in hostile.tasks(instance=iid)] == [task_id]
    assert stored_state(hostile, iid) == before


def test_the_engine_runs_before_the_write_lock_is_taken(hostile: Service) -> None:
    """While one change has read its deal and run the engine, another writer goes ahead (on
    SQLite it would have waited for the database's write lock); the first change still saves,
    and a change whose deal was changed meanwhile saves nothing."""
    first, first_task = prepared(hostile, "none", depth=2)
    _second, second_task = prepared(hostile, "none", depth=2)
    other = Service(Database(hostile.db.url))
    try:
        with hostile.space.write() as unit:
            deal = unit.deal(first)
            task = next(t for t in runtime.open_human_tasks(deal.workflow))
            deal.run(task.run)
            deal.run(deal.change.engine_steps)
            # Meanwhile someone else starts a deal and completes a task of another one.
            started = other.start("hostile", owner="bob", data={"attack": "none", "depth": 1})
            other.complete(second_task, user="alice")
            deal.save(actor="alice")
        assert [t["element_id"] for t in hostile.tasks(instance=first)] == ["task_review"]
        assert other.show(started["instance_id"])["status"] == "running"
        if not hostile.db.is_sqlite:
            return  # PostgreSQL locks the deal's row: the other change would wait for it
        # The same deal changed between the read and the write: nothing is written.
        with (
            pytest.raises(ConflictError, match="changed by someone else"),
            hostile.space.write() as unit,
        ):
            deal = unit.deal(first)
            (task,) = runtime.open_human_tasks(deal.workflow)
            deal.run(task.run)
            (review,) = other.tasks(instance=first)
            other.complete(review["task_id"], user="alice", data={"by": "other"})
            deal.save(actor="alice")
        deal_now = hostile.show(first)
        assert deal_now["status"] == "completed"
        assert deal_now["data"]["by"] == "other"
    finally:
        other.db.dispose()
    assert first_task != second_task


# --- against the real server ----------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path, db_url: str, hostile: Service) -> Iterator[tuple[int, str]]:
    """`salesflow serve` (waitress) on the test database; (port, alice's API token)."""
    token = hostile.create_token("alice", "security test")["token"]
    with serving(db_url, tmp_path) as (port, _process):
        yield port, token


def call(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_while_a_hostile_step_runs_the_server_serves_others(
    server: tuple[int, str], hostile: Service
) -> None:
    port, token = server
    iid, task_id = prepared(hostile, "loop", depth=2)
    finished: list[str] = []
    answers: dict[str, tuple[int, Any]] = {}

    def hostile_completion() -> None:
        answers["hostile"] = call(port, token, "POST", f"/api/v1/tasks/{task_id}/complete", {})
        finished.append("hostile")

    attacker = threading.Thread(target=hostile_completion)
    attacker.start()
    try:
        # The loop runs for seconds (up to its step limit): the others are answered meanwhile.
        time.sleep(0.3)  # let the server take the hostile request up first
        answers["health"] = call(port, token, "GET", "/healthz")
        answers["deals"] = call(port, token, "GET", "/api/v1/deals")
        answers["start"] = call(
            port,
            token,
            "POST",
            "/api/v1/deals",
            {"process_id": "hostile", "data": {"attack": "none", "depth": 1}},
        )
        finished.append("others")
    finally:
        attacker.join()
    assert answers["health"][0] == 200
    assert answers["deals"][0] == 200
    assert answers["start"][0] == 201, answers["start"]
    assert finished == ["others", "hostile"]
    status, done = answers["hostile"]
    assert status == 200 and done["status"] == "error"
    status, deal = call(port, token, "GET", f"/api/v1/deals/{iid}")
    assert status == 200
    assert "loop without end" in deal["error"]["message"]
