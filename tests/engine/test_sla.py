"""Task SLAs: the due time of the needs analysis (3 days), its escalation to the sales
manager, the SLA clock with business hours, and the deploy-time check of SLA properties."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, update

from engine.errors import DefinitionError
from engine.jobs.escalation import escalate_due
from engine.store import team_settings as settings
from engine.store.db import Database
from engine.store.models import History, Notification, OpenTask, User
from engine.usecases.deals import deal_sla
from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SLA = timedelta(days=3)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at_needs_analysis(service: Service, owner: str = "alice") -> str:
    deal = service.start("sales_pipeline", owner=owner, actor=owner, data=LEAD)
    drive(service, deal["instance_id"], WON[:2])
    return str(deal["instance_id"])


def needs_analysis(service: Service, iid: str) -> dict[str, object]:
    found = [t for t in service.tasks(instance=iid) if t["element_id"] == "task_needs_analysis"]
    assert len(found) == 1
    return found[0]


def notifications(db: Database, kind: str = "escalated") -> list[Notification]:
    with db.read() as s:
        query = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
        return list(s.scalars(query))


def test_the_needs_analysis_escalates_to_the_manager_after_3_days(team: Service) -> None:
    team.add_user("max", ["Sales Manager"])  # a manager who left: not told
    with team.db.write() as s:
        s.execute(update(User).where(User.username == "max").values(active=False))
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        iid = at_needs_analysis(team)
        task = needs_analysis(team, iid)
        assert task["due_at"] == (T0 + SLA).isoformat()
        with team.db.read() as s:
            row = s.get(OpenTask, task["task_id"])
            assert row is not None
            assert row.escalate_to == "Sales Manager" and row.escalated_at is None
        # The due time shows on the deal's chart too.
        _graph, view, _key = team.instance_chart(iid)
        assert view.due["task_needs_analysis"] == "2026-03-05 09:00 UTC"

        clock.move_to(T0 + SLA - timedelta(seconds=1))
        assert escalate_due(team.db) == 0
        assert deal_sla(team.db, int(iid))["escalated_at"] is None

        clock.move_to(T0 + SLA + timedelta(seconds=1))
        assert escalate_due(team.db) == 1
        assert escalate_due(team.db) == 0  # once
        escalated_at = (T0 + SLA + timedelta(seconds=1)).isoformat()

        told = notifications(team.db)
        assert sorted(n.username for n in told) == ["alice", "mia"]  # manager and assignee
        assert {n.instance_id for n in told} == {int(iid)}
        assert {n.task_id for n in told} == {task["task_id"]}
        assert "Needs analysis" in told[0].text and "Sales Manager" in told[0].text

        flags = deal_sla(team.db, int(iid))
        assert flags["escalated_at"] == escalated_at
        assert flags["tasks"][task["task_id"]] == {
            "escalate_to": "Sales Manager",
            "escalated_at": escalated_at,
        }
        history = [h for h in team.show(iid)["history"] if h["kind"] == "escalated"]
        assert len(history) == 1
        assert history[0]["element_id"] == "task_needs_analysis"
        assert history[0]["data"] == {
            "escalate_to": "Sales Manager",
            "due_at": (T0 + SLA).isoformat(),
        }

        # Not interrupted: the task is still open, still alice's, and completable, by a
        # service that never saw the escalation (a restart).
        assert needs_analysis(team, iid)["assignee"] == "alice"
        restarted = Service(Database(team.db.url))
        drive(restarted, iid, WON[2:3])
        restarted.db.dispose()
        shown = team.show(iid)
        assert shown["stage"] == "proposal"
        assert "task_needs_analysis" not in {t["element_id"] for t in shown["tasks"]}
        # The escalated task is done: the deal's flag is gone, and nothing escalates again.
        assert deal_sla(team.db, int(iid))["escalated_at"] is None
        clock.shift(timedelta(days=30))
        assert escalate_due(team.db) == 0
        assert len(notifications(team.db)) == 2


def test_two_sweeps_at_the_same_time_escalate_once(team: Service, db_url: str) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        deals = [at_needs_analysis(team) for _ in range(3)]
        clock.move_to(T0 + SLA + timedelta(minutes=1))
        workers = [Database(db_url), Database(db_url)]
        counts: list[int] = []
        barrier = threading.Barrier(2)

        def sweep(db: Database) -> None:
            barrier.wait()
            counts.append(escalate_due(db))

        threads = [threading.Thread(target=sweep, args=(db,)) for db in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for db in workers:
            db.dispose()
    assert sorted(counts) in ([0, 3], [1, 2], [3, 0])  # every task once, whoever took it
    assert sum(counts) == 3
    with team.db.read() as s:
        rows = s.scalars(select(History).where(History.kind == "escalated"))
        assert sorted(str(h.instance_id) for h in rows) == sorted(deals)
    assert len(notifications(team.db)) == 6  # mia and alice, per deal


def test_the_sla_clock_counts_business_hours_and_holidays(team: Service) -> None:
    settings.save(
        team.db,
        {
            "timezone": "Asia/Shanghai",
            "business_hours": {"weekdays": [0, 1, 2, 3, 4], "opens": "09:00", "closes": "18:00"},
            "holidays": ["2026-03-09"],  # the Monday after
        },
        actor="root",
    )
    team.deploy([PROCESSES])
    friday_five = datetime(2026, 3, 6, 17, 0, tzinfo=SHANGHAI)
    # 3 working days: Friday's last hour, then Tuesday, Wednesday, Thursday (Monday is off).
    due = datetime(2026, 3, 12, 17, 0, tzinfo=SHANGHAI)
    with time_machine.travel(friday_five, tick=False) as clock:
        iid = at_needs_analysis(team)
        assert needs_analysis(team, iid)["due_at"] == due.astimezone(UTC).isoformat()

        # Three calendar days later the SLA is far from over.
        clock.move_to(friday_five + timedelta(days=3, hours=1))
        assert escalate_due(team.db) == 0
        clock.move_to(due - timedelta(seconds=1))
        assert escalate_due(team.db) == 0
        clock.move_to(due + timedelta(seconds=1))
        assert escalate_due(team.db) == 1
    assert deal_sla(team.db, int(iid))["escalated_at"] is not None


def test_an_sla_without_a_role_shows_a_due_time_and_escalates_to_no_one(
    team: Service, tmp_path: Path
) -> None:
    folder = changed_pipeline(
        tmp_path, '<spiffworkflow:property name="escalateTo" value="Sales Manager" />', ""
    )
    team.deploy([folder])
    with time_machine.travel(T0, tick=False) as clock:
        iid = at_needs_analysis(team)
        assert needs_analysis(team, iid)["due_at"] == (T0 + SLA).isoformat()
        clock.shift(SLA * 2)
        assert escalate_due(team.db) == 0
    assert notifications(team.db) == []


def changed_pipeline(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES, folder)
    bpmn = folder / "sales_pipeline.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    assert old in text
    bpmn.write_text(text.replace(old, new), encoding="utf-8")
    return folder


SLA_PROPERTY = '<spiffworkflow:property name="sla" value="P3D" />'
ROLE_PROPERTY = '<spiffworkflow:property name="escalateTo" value="Sales Manager" />'


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (SLA_PROPERTY, SLA_PROPERTY.replace("P3D", "3 days"), "'3 days' is not an ISO 8601"),
        (SLA_PROPERTY, SLA_PROPERTY.replace("P3D", "P1M"), "months and years"),
        (ROLE_PROPERTY, ROLE_PROPERTY.replace("Sales Manager", "Chief Hugger"), "Chief Hugger"),
        (SLA_PROPERTY, "", "'escalateTo' needs an 'sla'"),
    ],
)
def test_a_bad_sla_is_refused_at_deploy_naming_the_element(
    team: Service, tmp_path: Path, old: str, new: str, says: str
) -> None:
    folder = changed_pipeline(tmp_path, old, new)
    with pytest.raises(DefinitionError) as err:
        team.deploy([folder])
    assert err.value.element_id == "task_needs_analysis"
    assert err.value.file == "sales_pipeline.bpmn" and err.value.line is not None
    assert says in str(err.value)
    assert team.definitions() == []  # nothing was deployed


def test_roles_are_lanes_or_team_roles_in_any_spelling(team: Service, tmp_path: Path) -> None:
    # "sales_manager" is the manager's role spelled as a key: it reaches the manager.
    folder = changed_pipeline(
        tmp_path, ROLE_PROPERTY, ROLE_PROPERTY.replace("Sales Manager", "sales_manager")
    )
    assert "sales_pipeline" in {d["process_id"] for d in team.deploy([folder])}
    with time_machine.travel(T0, tick=False) as clock:
        at_needs_analysis(team)
        clock.shift(SLA * 2)
        assert escalate_due(team.db) == 1
    assert sorted(n.username for n in notifications(team.db)) == ["alice", "mia"]


def test_an_sla_on_a_task_no_one_works_on_is_refused(team: Service, tmp_path: Path) -> None:
    # The lead grading is a business rule task: nobody holds it open.
    stage = '<spiffworkflow:property name="stage" value="qualification" />\n        </spiffworkflow'
    folder = changed_pipeline(tmp_path, stage, SLA_PROPERTY + stage)
    with pytest.raises(DefinitionError) as err:
        team.deploy([folder])
    assert err.value.element_id == "task_grade_lead"
    assert "user and manual tasks only" in str(err.value)
