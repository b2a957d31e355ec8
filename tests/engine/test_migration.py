"""Moving running deals to a new version of the sales pipeline (engine.usecases.moves).

Version 2 (`make_v2`, a modified copy of processes/) adds a step (the sales manager reviews
the proposal before it is quoted), removes one (the nurture follow-up: the 30-day wait leads
straight back to qualification) and renames another (Qualify lead).  Deals at five positions
are previewed, migrated and driven to the end on version 2, after a reload from the database;
a deal at the removed step cannot move and stays exactly as it was.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from lxml import etree
from sqlalchemy import select

from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.jobs.timers import tick
from engine.store.db import Database
from engine.store.models import History, Instance, OpenTask
from engine.usecases.demo import NURTURE, WON, complete_step, drive
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA, LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
ADDED = "task_review_proposal"
REMOVED = "task_nurture_follow_up"
# The whole way to a won and serviced deal on version 2.
V2_WON = [*WON[:4], (ADDED, {}), *WON[4:], ("task_satisfaction_revisit", {})]


def _one(root: Any, xpath: str) -> Any:
    [found] = root.xpath(xpath, namespaces=NS)
    return found


def _add(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    prefix, local = tag.split(":")
    element = etree.SubElement(parent, f"{{{NS[prefix]}}}{local}", attrs)
    element.text = text
    return element


def _route(plane: Any, edge_id: str, points: list[tuple[int, int]]) -> None:
    edge = _one(plane, f"bpmndi:BPMNEdge[@bpmnElement='{edge_id}']")
    for waypoint in edge.xpath("di:waypoint", namespaces=NS):
        edge.remove(waypoint)
    for x, y in points:
        _add(edge, "di:waypoint", x=str(x), y=str(y))


def make_v2(target: Path) -> Path:
    """processes/ copied to `target`, its pipeline changed as the module's text says."""
    shutil.copytree(PROCESSES, target)
    path = target / "sales_pipeline.bpmn"
    root = etree.fromstring(path.read_bytes())
    process = _one(root, "//bpmn:process[@id='sales_pipeline']")
    # Added: Review proposal, between the proposal and the quote.
    flow = _one(process, "bpmn:sequenceFlow[@id='flow_proposal_to_quote_merge']")
    flow.set("targetRef", ADDED)
    task = etree.Element(f"{{{NS['bpmn']}}}userTask", id=ADDED, name="Review proposal")
    properties = _add(_add(task, "bpmn:extensionElements"), "spiffworkflow:properties")
    _add(properties, "spiffworkflow:property", name="stage", value="proposal")
    _add(task, "bpmn:incoming", "flow_proposal_to_quote_merge")
    _add(task, "bpmn:outgoing", "flow_review_to_quote_merge")
    flow.addprevious(task)
    _add(
        process,
        "bpmn:sequenceFlow",
        id="flow_review_to_quote_merge",
        sourceRef=ADDED,
        targetRef="gw_quote_merge",
    )
    merge = _one(process, "bpmn:exclusiveGateway[@id='gw_quote_merge']")
    _one(
        merge, "bpmn:incoming[text()='flow_proposal_to_quote_merge']"
    ).text = "flow_review_to_quote_merge"
    _add(_one(process, ".//bpmn:lane[@id='lane_sales_manager']"), "bpmn:flowNodeRef", ADDED)
    # Removed: the nurture follow-up.
    for xpath in (
        f"bpmn:userTask[@id='{REMOVED}']",
        f".//bpmn:flowNodeRef[text()='{REMOVED}']",
        "bpmn:sequenceFlow[@id='flow_nurture_follow_up_to_requalify']",
    ):
        gone = _one(process, xpath)
        gone.getparent().remove(gone)
    waiting = _one(process, "bpmn:sequenceFlow[@id='flow_wait_to_nurture_follow_up']")
    waiting.set("targetRef", "gw_requalify_merge")
    requalify = _one(process, "bpmn:exclusiveGateway[@id='gw_requalify_merge']")
    _one(
        requalify, "bpmn:incoming[text()='flow_nurture_follow_up_to_requalify']"
    ).text = "flow_wait_to_nurture_follow_up"
    # Renamed: Qualify lead.
    _one(process, "bpmn:userTask[@id='task_qualify_lead']").set("name", "Qualify lead (ICP)")
    # The drawing.
    plane = _one(root, "//bpmndi:BPMNPlane")
    for element in (REMOVED, "flow_nurture_follow_up_to_requalify"):
        plane.remove(_one(plane, f"*[@bpmnElement='{element}']"))
    _route(plane, "flow_wait_to_nurture_follow_up", [(982, 1430), (440, 1430), (440, 275)])
    shape = _add(plane, "bpmndi:BPMNShape", id=f"{ADDED}_di", bpmnElement=ADDED)
    _add(shape, "dc:Bounds", x="1360", y="420", width="100", height="80")
    _route(plane, "flow_proposal_to_quote_merge", [(1410, 620), (1410, 500)])
    edge = _add(
        plane,
        "bpmndi:BPMNEdge",
        id="flow_review_to_quote_merge_di",
        bpmnElement="flow_review_to_quote_merge",
    )
    for x, y in ((1460, 460), (1490, 460), (1490, 250), (1515, 250)):
        _add(edge, "di:waypoint", x=str(x), y=str(y))
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return target


def new_deal(service: Service, company: str, steps: list[Any], version: int | None = None) -> str:
    data = {**LEAD, "company": company}
    iid = service.start("sales_pipeline", owner="alice", data=data, version=version)
    drive(service, iid["instance_id"], steps)
    return str(iid["instance_id"])


def history(service: Service, iid: str) -> list[dict[str, Any]]:
    return list(service.show(iid)["history"])


def row(db: Database, iid: str) -> tuple[str, int, int]:
    with db.read() as s:
        inst = s.get(Instance, int(iid))
        assert inst is not None
        return inst.state, inst.lock_version, inst.version_number


def open_rows(db: Database, iid: str) -> dict[str, OpenTask]:
    with db.read() as s:
        rows = s.scalars(select(OpenTask).where(OpenTask.instance_id == int(iid)))
        return {r.element_id: r for r in rows}


@pytest.fixture
def designer(team: Service) -> Service:
    team.add_user("dora", ["designer"])
    team.add_user("root", ["admin"])
    return team


def test_five_positions_previewed_migrated_and_finished_on_the_new_version(
    designer: Service, db_url: str, tmp_path: Path
) -> None:
    service = designer
    with time_machine.travel(T0, tick=False) as clock:
        service.deploy([PROCESSES], actor="dora")
        stuck = new_deal(service, "Stuck at follow-up", NURTURE)
        clock.shift(timedelta(days=30, seconds=1))
        assert tick(service) == {"fired": 1}
        assert {t["element_id"] for t in service.tasks(instance=stuck)} == {REMOVED}
        deals = {
            "qualify": new_deal(service, "At qualification", []),
            "nurture": new_deal(service, "Waiting to be nurtured", NURTURE),
            "needs": new_deal(service, "At needs analysis", WON[:2]),
            "proposal": new_deal(service, "At the proposal", WON[:3]),
            "contract": new_deal(service, "At the contract", WON[:7]),
        }
        nurture_due = service.show(deals["nurture"])["timers"][0]["due_at"]
        needs_due = open_rows(service.db, deals["needs"])["task_needs_analysis"].due_at
        clock.shift(timedelta(hours=5))
        assert service.deploy([make_v2(tmp_path / "v2")], actor="dora")[1]["version"] == 2
        before = {name: history(service, iid) for name, iid in {**deals, "stuck": stuck}.items()}
        tasks_before = {name: service.tasks(instance=iid) for name, iid in deals.items()}
        stuck_row = row(service.db, stuck)

        preview = service.migrate("sales_pipeline", 2, user="mia", dry_run=True)
        assert (preview["dry_run"], preview["movable"], preview["refused"]) == (True, 5, 1)
        assert preview["migrated"] == 0
        by_id = {d["instance_id"]: d for d in preview["deals"]}
        refused = by_id[stuck]
        assert (refused["can_move"], refused["code"], refused["element_id"]) == (
            False,
            "element_removed",
            REMOVED,
        )
        assert "Nurture follow-up" in refused["reason"]
        assert refused["position"][REMOVED] == "ready"  # where it stays
        landing = by_id[deals["proposal"]]
        assert landing["can_move"] and landing["code"] is None
        assert [t["element_id"] for t in landing["open"]] == ["task_design_proposal"]
        assert landing["position"]["task_design_proposal"] == "ready"
        assert landing["position"]["task_needs_analysis"] == "completed"
        assert ADDED not in landing["position"]
        timer = by_id[deals["nurture"]]["timers"]
        assert timer == [
            {
                "element_id": "timer_wait_30_days",
                "name": "Wait 30 days",
                "due_at": nurture_due,
                "restarted": False,
            }
        ]
        assert {t["element_id"] for t in by_id[deals["contract"]]["open"]} == {
            "task_confirm_down_payment"
        }
        assert by_id[deals["contract"]]["position"]["gw_contract_join"] == "waiting"
        # A preview changes nothing.
        assert all(row(service.db, iid)[2] == 1 for iid in deals.values())

        result = service.migrate("sales_pipeline", 2, user="dora")
        assert (result["dry_run"], result["migrated"], result["refused"]) == (False, 5, 1)
        batch = result["batch"]
        assert batch and len(batch) == 12

        # The deal that cannot move is untouched.
        assert row(service.db, stuck) == stuck_row
        assert history(service, stuck) == before["stuck"]
        for name, iid in deals.items():
            shown = service.show(iid)
            assert shown["version"] == 2, name
            rows = shown["history"]
            assert rows[: len(before[name])] == before[name], name
            assert len(rows) == len(before[name]) + 1, name
            migrated = rows[-1]
            assert (migrated["kind"], migrated["actor"]) == ("migrated", None)
            assert migrated["data"] == {
                "from_version": 1,
                "to_version": 2,
                "by": "dora",
                "batch": batch,
            }
            # Open tasks keep their ids (drafts stay valid); the rename reached the inbox.
            now_open = {t["task_id"]: t for t in service.tasks(instance=iid)}
            assert set(now_open) == {t["task_id"] for t in tasks_before[name]}, name
        [qualify] = service.tasks(instance=deals["qualify"])
        assert qualify["name"] == "Qualify lead (ICP)"
        assert service.show(deals["nurture"])["timers"][0]["due_at"] == nurture_due
        assert service.show(deals["nurture"])["next_due_at"] == nurture_due
        assert open_rows(service.db, deals["needs"])["task_needs_analysis"].due_at == needs_due
        with service.db.read() as s:
            versions_now = {
                i.id: (i.version_id, i.version_number) for i in s.scalars(select(Instance))
            }
        assert len({versions_now[int(iid)] for iid in deals.values()}) == 1

        # On to the end on version 2, with every workflow reloaded from the database.
        again = Service(Database(db_url))
        try:
            clock.shift(timedelta(days=30))
            # The nurture wait (now straight back to qualification) and the idle needs analysis.
            assert tick(again) == {"fired": 2}
            assert {t["element_id"] for t in again.tasks(instance=deals["nurture"])} == {
                "task_qualify_lead"
            }
            complete_step(again, deals["needs"], "task_escalate_needs_idle")
            drive(again, deals["qualify"], V2_WON)
            drive(again, deals["nurture"], V2_WON)
            drive(again, deals["needs"], V2_WON[2:])
            drive(again, deals["proposal"], V2_WON[3:])
            drive(again, deals["contract"], V2_WON[-2:])
            for name, iid in deals.items():
                shown = again.show(iid)
                assert shown["status"] == "completed", name
                assert shown["position"]["end_deal_won"] == "completed", name
                reviewed = [h for h in shown["history"] if h["element_id"] == ADDED]
                assert len(reviewed) == (0 if name == "contract" else 1), name
        finally:
            again.db.dispose()


def test_chosen_deals_only_and_the_reasons_of_those_that_cannot_move(
    designer: Service, tmp_path: Path
) -> None:
    service = designer
    service.deploy([PROCESSES])
    first = new_deal(service, "First", WON[:1])
    second = new_deal(service, "Second", WON[:1])
    lost = ("task_negotiate", {"outcome": "lost", "lost_reason": "no budget"})
    done = new_deal(service, "Lost", [*WON[:5], lost])
    service.deploy([make_v2(tmp_path / "v2")])
    result = service.migrate("sales_pipeline", 2, user="root", instance_ids=[first, done, "999"])
    by_id = {d["instance_id"]: d for d in result["deals"]}
    assert set(by_id) == {first, done, "999"}
    assert by_id[first]["migrated"] and by_id[first]["stage"] == "contact"
    assert (by_id[done]["code"], by_id[done]["reason"]) == ("not_running", "it is completed")
    assert by_id["999"]["code"] == "not_found"
    assert row(service.db, second)[2] == 1  # not chosen
    again = service.migrate("sales_pipeline", 2, user="root", instance_ids=[first])
    assert again["deals"][0]["code"] == "same_version" and again["migrated"] == 0
    assert again["batch"] is None
    # By stage: only the deals at that stage.
    third = new_deal(service, "Third", WON[:2], version=1)
    new_deal(service, "On version 2", WON[:2])
    staged = service.migrate("sales_pipeline", 2, user="root", stage="needs", dry_run=True)
    assert [d["instance_id"] for d in staged["deals"]] == [third]
    with pytest.raises(ValidationError):
        service.migrate("sales_pipeline", 2, user="root", instance_ids=["x"])
    with pytest.raises(NotFoundError):
        service.migrate("sales_pipeline", 3, user="root")


def test_only_designers_and_admins_migrate_managers_preview(
    designer: Service, tmp_path: Path
) -> None:
    service = designer
    service.deploy([PROCESSES])
    iid = new_deal(service, "ACME", [])
    service.deploy([make_v2(tmp_path / "v2")])
    state = row(service.db, iid)
    for user in ("alice", "mia"):
        with pytest.raises(ForbiddenError):
            service.migrate("sales_pipeline", 2, user=user)
    with pytest.raises(ForbiddenError):
        service.migrate("sales_pipeline", 2, user="alice", dry_run=True)
    [seen] = service.migrate("sales_pipeline", 2, user="mia", dry_run=True)["deals"]
    assert (seen["can_move"], seen["name"], seen["owner"]) == (True, "ACME", "alice")
    # A designer moves deals without seeing them (engine.usecases.access): no name, no owner.
    [unseen] = service.migrate("sales_pipeline", 2, user="dora", dry_run=True)["deals"]
    assert (unseen["instance_id"], unseen["name"], unseen["owner"]) == (iid, None, None)
    assert unseen["stage"] == "qualification" and unseen["can_move"]
    assert row(service.db, iid) == state
    assert service.migrate("sales_pipeline", 2, user=None)["migrated"] == 1  # command line
    [entry] = [h for h in service.show(iid)["history"] if h["kind"] == "migrated"]
    assert entry["actor"] is None and entry["data"]["by"] is None
    # Moving a deal does not make it the designer's: who moved it is no actor of it.
    service.migrate("sales_pipeline", 1, user="dora")
    assert not service.may_see("dora", iid)
    [_, back] = [h for h in service.show(iid)["history"] if h["kind"] == "migrated"]
    assert (back["actor"], back["data"]["by"], back["data"]["to_version"]) == (None, "dora", 1)


def test_the_process_comes_first_and_no_deal_of_it_reads_alike_whatever_the_id(
    designer: Service, tmp_path: Path
) -> None:
    service = designer
    service.deploy([PROCESSES])
    iid = new_deal(service, "ACME", [])
    other = str(service.start("optimization_initiative", owner="mia")["instance_id"])
    service.deploy([make_v2(tmp_path / "v2")])
    # An unknown process or version is not found, for anyone, before the role is looked at.
    for user in ("alice", "mia", "dora"):
        with pytest.raises(NotFoundError):
            service.migrate("sales_pipeline", 3, user=user)
        with pytest.raises(NotFoundError):
            service.migrate("no_such_process", 1, user=user, dry_run=True)
    # A deal of another process, no deal, an id no row can have: the same answer, for the
    # designers (a right over this process only) and the managers' preview alike.
    ids = [other, "999", str(2**63), iid]
    for user in ("dora", "root", "mia"):
        result = service.migrate("sales_pipeline", 2, user=user, instance_ids=ids, dry_run=True)
        by_id = {d["instance_id"]: d for d in result["deals"]}
        assert set(by_id) == set(ids) and by_id[iid]["can_move"]
        nothing = [{**by_id[i], "instance_id": None} for i in ids[:3]]
        assert nothing[0] == nothing[1] == nothing[2], user
        assert (nothing[0]["code"], nothing[0]["reason"]) == (
            "not_found",
            "no such deal of this process",
        )
        assert (nothing[0]["name"], nothing[0]["stage"], nothing[0]["position"]) == (
            None,
            None,
            {},
        )
    before = row(service.db, other)
    moved = service.migrate("sales_pipeline", 2, user="dora", instance_ids=ids)
    assert (moved["migrated"], moved["refused"]) == (1, 3)
    assert row(service.db, other) == before and row(service.db, iid)[2] == 2


def test_a_changed_timer_restarts_and_the_preview_says_so(
    designer: Service, tmp_path: Path
) -> None:
    service = designer
    with time_machine.travel(T0, tick=False) as clock:
        service.deploy([PROCESSES])
        iid = new_deal(service, "Nurtured", NURTURE)
        changed = tmp_path / "v2"
        shutil.copytree(PROCESSES, changed)
        bpmn = changed / "sales_pipeline.bpmn"
        bpmn.write_text(bpmn.read_text().replace('"P30D"', '"P20D"'))
        service.deploy([changed])
        clock.shift(timedelta(days=2))
        preview = service.migrate("sales_pipeline", 2, user="dora", dry_run=True)
        [timer] = preview["deals"][0]["timers"]
        due = (T0 + timedelta(days=22)).isoformat()
        assert (timer["due_at"], timer["restarted"]) == (due, True)
        service.migrate("sales_pipeline", 2, user="dora")
        assert service.show(iid)["next_due_at"] == due


def test_the_version_list_says_who_published_and_how_many_deals_run(
    designer: Service, tmp_path: Path
) -> None:
    service = designer
    service.deploy([PROCESSES], actor="dora")
    new_deal(service, "A", [])
    new_deal(service, "B", WON[:1])
    with time_machine.travel(T0, tick=False):
        service.deploy([make_v2(tmp_path / "v2")], actor="root")
    new_deal(service, "C", [])
    listed = service.definition_versions("sales_pipeline")
    assert [v["version"] for v in listed] == [2, 1]
    assert listed[0] == {
        "version": 2,
        "latest": True,
        "deployed_by": "root",
        "deployed_at": T0.isoformat(),
        "running": 1,
        "error": 0,
        "total": 1,
    }
    assert (listed[1]["running"], listed[1]["total"], listed[1]["latest"]) == (2, 2, False)
    assert listed[1]["deployed_by"] == "dora"
    with pytest.raises(NotFoundError):
        service.definition_versions("no_such_process")
    with service.db.read() as s:
        assert s.scalar(select(History.id).where(History.kind == "migrated")) is None


def test_deals_in_error_or_failing_on_the_new_version_stay_where_they_are(
    designer: Service, tmp_path: Path
) -> None:
    service = designer
    source = ENGINE_DATA / "incident_order.bpmn"
    service.deploy([source])
    waiting = service.start("incident_order", owner="alice")["instance_id"]
    failed = service.start("incident_order", owner="alice")["instance_id"]
    [task] = service.tasks(instance=failed)
    assert (
        service.complete(task["task_id"], user="alice", data={"price": 1, "discount": 0})["status"]
        == "error"
    )  # no quantity: the total fails
    # Version 2: entering the order becomes a script that fails on a new deal's data.
    text = source.read_text()
    user_task = re.search(r'<bpmn:userTask id="task_enter_order".*?</bpmn:userTask>', text, re.S)
    assert user_task is not None
    script = (
        user_task.group(0)
        .replace("bpmn:userTask", "bpmn:scriptTask")
        .replace(
            "</bpmn:scriptTask>", "<bpmn:script>total = price * 2</bpmn:script></bpmn:scriptTask>"
        )
    )
    changed = tmp_path / "incident_order.bpmn"
    changed.write_text(text.replace(user_task.group(0), script))
    assert service.deploy([changed])[0]["version"] == 2
    before = {iid: row(service.db, iid) for iid in (waiting, failed)}
    result = service.migrate("incident_order", 2, user="dora")
    by_id = {d["instance_id"]: d for d in result["deals"]}
    assert by_id[failed]["code"] == "in_error"
    assert "Total the order" in by_id[failed]["reason"]
    assert by_id[waiting]["code"] == "fails"
    assert by_id[waiting]["element_id"] == "task_enter_order"
    assert "price" in by_id[waiting]["reason"]
    assert result["migrated"] == 0 and result["batch"] is None
    assert {iid: row(service.db, iid) for iid in (waiting, failed)} == before
