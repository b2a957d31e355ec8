"""The daily digest: my tasks due today or overdue, my stale deals, my timers in the next
24 hours; one notification per rep per day; `salesflow digest USER`."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from engine.errors import NotFoundError
from engine.jobs.digest import send_digests
from engine.jobs.timers import tick
from engine.store import team_settings as settings
from engine.store.db import Database
from engine.store.models import Notification
from engine.usecases.demo import WON, drive
from engine.usecases.digests import digest
from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 09:00 UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at_needs_analysis(service: Service, owner: str = "alice", company: str = "ACME") -> str:
    deal = service.start(
        "sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": company}
    )
    drive(service, deal["instance_id"], WON[:2])
    return str(deal["instance_id"])


def digests(db: Database) -> list[Notification]:
    with db.read() as s:
        query = select(Notification).where(Notification.kind == "digest").order_by(Notification.id)
        return list(s.scalars(query))


def test_the_digest_lists_what_is_due_stale_and_about_to_fire(team: Service) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        iid = at_needs_analysis(team)
        at_needs_analysis(team, owner="bob", company="Not alice's")
        today = digest(team.db, "alice")
        # Due in 3 days, the idle timer in 3 days, active today: nothing yet.
        assert (today["tasks"], today["stale"], today["timers"]) == ([], [], [])
        assert today["date"] == "2026-03-02"

        # Two days later the idle timer fires within 24 hours.
        clock.move_to(T0 + timedelta(days=2, hours=1))
        found = digest(team.db, "alice")
        assert found["tasks"] == []
        assert [(t["instance_id"], t["element_id"], t["due_at"]) for t in found["timers"]] == [
            (iid, "timer_needs_idle", (T0 + timedelta(days=3)).isoformat())
        ]

        # On the day the needs analysis is due (later that day): due today, not overdue.
        clock.move_to(T0 + timedelta(days=3) - timedelta(hours=2))
        (task,) = digest(team.db, "alice")["tasks"]
        assert task["name"] == "Needs analysis" and task["deal"] == "ACME"
        assert task["instance_id"] == iid and task["overdue"] is False

        # A day later: overdue; and after a week without activity, the deal is stale.
        clock.move_to(T0 + timedelta(days=7, hours=1))
        assert tick(team)["fired"] == 2  # the worker fired the idle timers meanwhile
        found = digest(team.db, "alice")
        assert [t["overdue"] for t in found["tasks"]] == [True]
        assert [(d["instance_id"], d["stage"], d["quiet_days"]) for d in found["stale"]] == [
            (iid, "needs", 7)
        ]
        assert found["timers"] == []  # fired: nothing about to fire
        # bob's digest has his own deal only.
        assert [d["name"] for d in digest(team.db, "bob")["stale"]] == ["Not alice's"]

    with pytest.raises(NotFoundError):
        digest(team.db, "nobody")


def test_the_day_ends_at_midnight_of_the_team_time_zone(team: Service) -> None:
    settings.save(team.db, {"timezone": "Asia/Shanghai"}, actor="root")
    team.deploy([PROCESSES])
    start = datetime(2026, 3, 2, 22, 0, tzinfo=SHANGHAI)  # due Thursday 22:00 Shanghai
    with time_machine.travel(start, tick=False) as clock:
        at_needs_analysis(team)
        clock.move_to(datetime(2026, 3, 4, 23, 59, tzinfo=SHANGHAI))  # Wednesday
        assert digest(team.db, "alice")["tasks"] == []
        clock.move_to(datetime(2026, 3, 5, 0, 1, tzinfo=SHANGHAI))  # Thursday: due today
        found = digest(team.db, "alice")
        assert found["date"] == "2026-03-05" and len(found["tasks"]) == 1


def test_digests_go_out_once_a_day_after_the_digest_time(team: Service) -> None:
    team.deploy([PROCESSES])
    settings.save(team.db, {"digest_time": "08:00", "timezone": "UTC"}, actor="root")
    with time_machine.travel(T0, tick=False) as clock:
        at_needs_analysis(team)
        at_needs_analysis(team, owner="bob")
        clock.move_to(T0 + timedelta(days=7, hours=-2))  # Monday 07:00: too early
        assert send_digests(team.db) == 0
        clock.move_to(T0 + timedelta(days=7, seconds=1))  # 09:00, a week after the start
        assert send_digests(team.db) == 2
        assert send_digests(team.db) == 0
        clock.shift(timedelta(hours=10))
        assert send_digests(team.db) == 0
        sent = digests(team.db)
        assert [n.username for n in sent] == ["alice", "bob"]
        assert "1 task(s) due (1 overdue), 1 stale deal(s)" in sent[0].text
        # Nothing to tell mia (no tasks of her own, no deals): no notification for her.
        clock.move_to(T0 + timedelta(days=8))
        assert send_digests(team.db) == 2
        assert len(digests(team.db)) == 4


def test_no_digest_on_days_off(team: Service) -> None:
    team.deploy([PROCESSES])
    settings.save(
        team.db,
        {
            "business_hours": {"weekdays": [0, 1, 2, 3, 4], "opens": "09:00", "closes": "18:00"},
            "holidays": ["2026-03-09"],
        },
        actor="root",
    )
    with time_machine.travel(T0, tick=False) as clock:
        at_needs_analysis(team)
        for day in (5, 6, 7):  # Saturday, Sunday, the Monday holiday
            clock.move_to(T0 + timedelta(days=day, hours=3))
            assert send_digests(team.db) == 0
        clock.move_to(T0 + timedelta(days=8, hours=3))  # Tuesday
        assert send_digests(team.db) == 1


def test_two_workers_send_one_digest(team: Service, db_url: str) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        at_needs_analysis(team)
        clock.shift(timedelta(days=3))
        other = Database(db_url)
        assert send_digests(team.db) + send_digests(other) == 1
        other.dispose()
    assert len(digests(team.db)) == 1


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()


def test_salesflow_digest(team: Service, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        iid = at_needs_analysis(team)
        clock.shift(timedelta(days=8))
        code, out = run_cli("digest", "alice", "--json")
        assert code == 0
        found = json.loads(out)
        assert [t["instance_id"] for t in found["tasks"]] == [iid]
        assert [d["instance_id"] for d in found["stale"]] == [iid]
        code, out = run_cli("digest", "alice")
        assert code == 0
        assert "Needs analysis (ACME, #1)  OVERDUE" in out
        assert "quiet for 8 days" in out
    assert run_cli("digest", "nobody")[0] == 4
