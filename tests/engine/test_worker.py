"""The worker: fires due timers in batches (and only due ones), survives a broken deal, runs
its jobs, stops on a signal, refuses a second worker on SQLite, and — against the real
database, in real processes — never fires a timer twice nor skips one, even when killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import event, func, select, update

from engine.errors import ConflictError
from engine.jobs import timers
from engine.jobs import worker as worker_module
from engine.jobs.timers import tick
from engine.jobs.worker import Job, Worker
from engine.store.db import Database
from engine.store.models import History, Instance, ReportFact, ReportPending
from engine.store.models import WorkerHeartbeat as WorkerRow
from engine.usecases.demo import NURTURE, WON, complete_step, drive
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA, LEAD, PG_URL, PROCESSES, ROOT

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALESFLOW = str(Path(sys.executable).parent / "salesflow")


def open_ids(service: Service, iid: str) -> set[str]:
    return {t["element_id"] for t in service.tasks(instance=iid)}


def timer_rows(service: Service) -> dict[int, int]:
    """Fired timer events per deal."""
    with service.db.read() as s:
        rows = s.execute(
            select(History.instance_id, func.count())
            .where(History.kind == "timer")
            .group_by(History.instance_id)
        )
        return {iid: n for iid, n in rows}


def test_the_seven_day_revisit_and_the_nurture_loop_run_on_the_worker(team: Service) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        won = team.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
        drive(team, won, WON)
        nurtured = team.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
        drive(team, nurtured, NURTURE)
        worker = Worker(team, jobs=[])

        clock.shift(timedelta(days=6, hours=23))
        assert worker.run_once() is False
        assert worker.stats.fired == 0  # nothing is due yet: nothing was touched

        clock.shift(timedelta(hours=1, seconds=1))
        worker.run_once()
        assert open_ids(team, won) == {"task_satisfaction_revisit", "task_revisit_overdue"}
        assert open_ids(team, nurtured) == set()  # its 30 days are not over

        # Three nurture rounds of 30 days, each fired by the worker, then the lead is lost.
        for _round in range(3):
            clock.shift(timedelta(days=30, seconds=1))
            worker.run_once()
            assert open_ids(team, nurtured) == {"task_nurture_follow_up"}
            complete_step(team, nurtured, "task_nurture_follow_up")
            drive(team, nurtured, NURTURE)  # still not qualified
        shown = team.show(nurtured)
        assert shown["status"] == "completed" and shown["stage"] == "lost"
        assert timer_rows(team) == {int(won): 1, int(nurtured): 3}
        assert worker.stats.fired == 4


def test_one_broken_deal_does_not_keep_the_others_from_firing(
    team: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    team.deploy([ENGINE_DATA / "timers.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:
        ids = [team.start("timers", owner="alice")["instance_id"] for _ in range(3)]
        clock.shift(timedelta(days=3, seconds=1))
        real = timers._fire
        broken = int(ids[1])

        def fire(unit: object, inst: Instance, *more: object) -> object:
            if inst.id == broken:
                raise RuntimeError("the disk is full")
            return real(unit, inst, *more)  # type: ignore[arg-type]

        monkeypatch.setattr(timers, "_fire", fire)
        # (A generous time budget: a loaded machine must not end the batch early.)
        batch = timers.fire_due_batch(team, seconds=3600)
        assert (batch.deals, batch.fired, batch.failed) == (2, 2, [broken])
        assert timer_rows(team) == {int(ids[0]): 1, int(ids[2]): 1}
        # The broken deal is where it was, and looked at again a minute later, not at once.
        shown = team.show(ids[1])
        assert shown["status"] == "running" and open_ids(team, ids[1]) == {"task_call"}
        assert shown["next_due_at"] == (T0 + timedelta(days=3, seconds=1, minutes=1)).isoformat()
        assert timers.fire_due_batch(team).deals == 0

        monkeypatch.setattr(timers, "_fire", real)
        clock.shift(timedelta(minutes=1))
        assert timers.fire_due_batch(team).fired == 1
        assert timer_rows(team) == {int(i): 1 for i in ids}


def test_batches_are_bounded_and_the_rest_is_fired_next(team: Service) -> None:
    team.deploy([ENGINE_DATA / "timers.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:
        ids = [team.start("timers", owner="alice")["instance_id"] for _ in range(5)]
        clock.shift(timedelta(days=3, seconds=1))
        first = timers.fire_due_batch(team, limit=2, seconds=3600)
        assert (first.deals, first.more) == (2, True)
        # The earliest due first.
        assert set(timer_rows(team)) == {int(ids[0]), int(ids[1])}
        assert tick(team) == {"fired": 3}
        assert timers.next_due(team) is None  # the 7-day wait starts after the call


def test_jobs_run_at_their_interval_and_a_failing_job_stops_nothing(team: Service) -> None:
    calls: list[str] = []

    def good(_service: Service, _now: datetime) -> int:
        calls.append("good")
        return 1

    def bad(_service: Service, _now: datetime) -> int:
        calls.append("bad")
        raise RuntimeError("SMTP is down")

    worker = Worker(team, jobs=[Job("bad", 0.0, bad), Job("good", 3600.0, good)])
    worker.run_once()
    worker.run_once()
    assert calls == ["bad", "good", "bad"]
    assert worker.stats.jobs == 1


def test_a_second_worker_on_sqlite_is_refused_until_the_first_is_gone(
    team: Service, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only: on PostgreSQL several workers are the point")
    first = Worker(team, jobs=[])
    first.register()
    other = Worker(Service(Database(db_url)), jobs=[])
    with pytest.raises(ConflictError, match="SQLite supports one worker"):
        other.register()
    first.unregister()
    other.register()
    other.unregister()
    other.service.db.dispose()


def test_a_dead_workers_row_does_not_block_the_next(team: Service) -> None:
    if not team.db.is_sqlite:
        pytest.skip("SQLite only")
    now = datetime.now(UTC)
    with team.db.write() as s:
        # Killed with -9 on this machine a moment ago: its process is gone.
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            check=True,
            capture_output=True,
            text=True,
        )
        s.add(
            WorkerRow(
                name="dead",
                host=socket.gethostname(),
                pid=int(dead.stdout),
                started_at=now,
                heartbeat_at=now,
            )
        )
        # Silent for longer than STALE_AFTER on another machine.
        s.add(
            WorkerRow(
                name="silent",
                host="elsewhere",
                pid=1,
                started_at=now - timedelta(hours=1),
                heartbeat_at=now - timedelta(minutes=1),
            )
        )
    worker = Worker(team, jobs=[])
    worker.register()
    worker.unregister()
    with team.db.write() as s:
        s.execute(update(WorkerRow).where(WorkerRow.name == "silent").values(heartbeat_at=now))
    with pytest.raises(ConflictError, match="silent, pid 1 on elsewhere"):
        Worker(team, jobs=[]).register()


# --- real processes --------------------------------------------------------------------


@pytest.fixture
def due_deals(team: Service, db_url: str) -> Iterator[tuple[Service, list[str]]]:
    """1,000 deals whose 3-day timer was due a day ago (started four days back)."""
    team.deploy([ENGINE_DATA / "timers.bpmn"])
    with time_machine.travel(datetime.now(UTC) - timedelta(days=4), tick=False):
        ids = [team.start("timers", owner="alice")["instance_id"] for _ in range(1000)]
    yield team, ids


def worker_env(db_url: str) -> dict[str, str]:
    return {**os.environ, "SALESFLOW_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}


def assert_each_fired_once(service: Service, ids: list[str]) -> None:
    fired = timer_rows(service)
    assert sorted(fired) == sorted(int(i) for i in ids)
    assert set(fired.values()) == {1}
    with service.db.read() as s:
        waiting = s.scalar(
            select(func.count()).where(
                Instance.next_due_at <= datetime.now(UTC), Instance.status == "running"
            )
        )
    assert waiting == 0
    for iid in ids[:: len(ids) // 10]:
        assert open_ids(service, iid) == {"task_call", "task_escalation"}


@pytest.mark.skipif(not PG_URL, reason="needs SALESFLOW_TEST_DATABASE_URL (PostgreSQL)")
def test_two_workers_on_postgresql_fire_every_timer_exactly_once(
    due_deals: tuple[Service, list[str]], db_url: str
) -> None:
    service, ids = due_deals
    workers = [
        subprocess.Popen(
            [SALESFLOW, "--json", "worker", "--once"],
            env=worker_env(db_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _out, err in results]
    import json

    fired = [json.loads(out)["fired"] for out, _err in results]
    # Both took part, and between them every timer fired once.
    assert sum(fired) == 1000 and min(fired) > 0, fired
    assert_each_fired_once(service, ids)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
    due_deals: tuple[Service, list[str]], db_url: str
) -> None:
    service, ids = due_deals
    worker = subprocess.Popen(
        [SALESFLOW, "worker"], env=worker_env(db_url), stderr=subprocess.DEVNULL
    )
    try:
        # Wait until it is in the middle of the work, then kill it without warning.
        deadline = time.monotonic() + 120
        while sum(timer_rows(service).values()) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    done = sum(timer_rows(service).values())
    assert 200 <= done < 1000, "the kill came too late to test anything"
    again = subprocess.run(
        [SALESFLOW, "--json", "worker", "--once"],
        env=worker_env(db_url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert_each_fired_once(service, ids)


def test_sigterm_stops_the_worker_cleanly(team: Service, db_url: str) -> None:
    worker = subprocess.Popen(
        [SALESFLOW, "worker"], env=worker_env(db_url), stderr=subprocess.PIPE, text=True
    )
    assert worker.stderr is not None
    with worker.stderr:
        assert "started" in worker.stderr.readline()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    with team.db.read() as s:
        rows = s.scalars(select(WorkerRow)).all()
    assert len(rows) == 1 and rows[0].stopped_at is not None


def test_the_worker_escalates_slas_and_fires_the_idle_timer_together(team: Service) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        iid = team.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
        drive(team, iid, WON[:2])  # at the needs analysis: SLA P3D, escalates to the manager
        worker = Worker(team)  # the default jobs
        clock.shift(timedelta(days=3, seconds=2))
        worker.run_once()
        shown = team.show(iid)
        assert shown["escalated_at"] is not None
        kinds = [h["kind"] for h in shown["history"]]
        assert kinds.count("escalated") == 1 and kinds.count("timer") == 1
        worker.run_once()  # nothing twice
        assert [h["kind"] for h in team.show(iid)["history"]].count("escalated") == 1


def test_a_batch_stops_taking_deals_when_its_time_is_up(team: Service) -> None:
    team.deploy([ENGINE_DATA / "timers.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(3):
            team.start("timers", owner="alice")
        clock.shift(timedelta(days=3, seconds=1))
        # No time at all: one deal is always done (progress), the rest left for the next batch.
        batch = timers.fire_due_batch(team, seconds=0)
        assert (batch.deals, batch.more) == (1, True)
        assert len(timer_rows(team)) == 1


def test_the_worker_keeps_the_reports_facts_up_to_date(team: Service) -> None:
    """Every change notes its deal for the reports; the worker works the notes off, so a
    report opened after a burst of fired timers does not have to."""
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        ids = [team.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"] for _ in "abc"]
        for iid in ids:
            drive(team, iid, WON[:3])
        with team.db.read() as s:
            assert s.scalar(select(func.count()).select_from(ReportPending)) > 0
        worker = Worker(team)  # the default jobs
        clock.shift(timedelta(seconds=6))
        worker.run_once()
        with team.db.read() as s:
            assert s.scalar(select(func.count()).select_from(ReportPending)) == 0
            entered = s.scalar(
                select(func.count()).select_from(ReportFact).where(ReportFact.kind == "stage")
            )
        assert entered and entered >= 3 * 2  # each deal entered at least two stages


def test_the_worker_waits_out_a_database_it_cannot_write(
    team: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only database (SQLite's query_only, PostgreSQL's read-only transactions: real
    refusals of the database itself) stops nothing: the worker waits and fires the timer
    once writes work again."""
    team.deploy([ENGINE_DATA / "timers.bpmn"])
    engine = team.db.engine

    def read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if team.db.is_sqlite:
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        cursor.close()

    with time_machine.travel(T0, tick=False) as clock:
        iid = team.start("timers", owner="alice")["instance_id"]
        clock.shift(timedelta(days=3, seconds=1))
        worker = Worker(team, jobs=[])
        worker.register()
        event.listen(engine, "connect", read_only)
        engine.dispose()
        pauses: list[float] = []

        def wait(seconds: float | None = None) -> bool:
            pauses.append(seconds or 0.0)
            if event.contains(engine, "connect", read_only):
                event.remove(engine, "connect", read_only)  # room again
                engine.dispose()
            return False

        monkeypatch.setattr(worker.stopping, "wait", wait)
        stats = worker.run(until_idle=True)
    assert stats.storage_failures == 1
    assert pauses[0] == worker_module.STORAGE_PAUSE
    assert stats.fired == 1
    assert timer_rows(team) == {int(iid): 1}
