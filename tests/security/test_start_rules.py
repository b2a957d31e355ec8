"""Issue 13, item 5 replayed: a rep started the initiative process, and deals for any owner,
through the API, although the pages and the initiatives endpoint refused it.  Now one rule of
the use cases (engine.usecases.deals.check_starter over engine.core.starters, and
check_owner) holds for the API, the pages, the initiatives and the command line alike: who
may start which process (its `startRoles` property; Sales Rep and Sales Manager when it names
none; admins always), and who may own a deal."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient

from engine.core.lint import check
from engine.core.roles import DEAL_OWNERS, TEAM_ROLES, role_key
from engine.core.starters import (
    DEFAULT_START_ROLES,
    declared_roles,
    may_start,
    parse_roles,
    start_roles,
)
from engine.errors import ForbiddenError
from engine.usecases.service import Service
from salesflow.cli import main
from tests.webui.conftest import LEAD, login, post, text
from tests.webui.test_api import error_of

API = "/api/v1"
INITIATIVE = "optimization_initiative"

# A process of the finance team, which no one else starts: a start event, one task, an end.
REFUND = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="definitions_refund" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="refund_request" name="Refund request" isExecutable="true">
    <bpmn:extensionElements>
      <spiffworkflow:properties>
        <spiffworkflow:property name="startRoles" value="finance" />
      </spiffworkflow:properties>
    </bpmn:extensionElements>
    <bpmn:laneSet id="lanes_refund">
      <bpmn:lane id="lane_finance" name="Finance">
        <bpmn:flowNodeRef>start_refund</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>task_pay</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_refund</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start_refund" name="Refund asked"><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="task_pay" name="Pay the refund"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end_refund" name="Refunded"><bpmn:incoming>f2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_refund" targetRef="task_pay" />
    <bpmn:sequenceFlow id="f2" sourceRef="task_pay" targetRef="end_refund" />
  </bpmn:process>
</bpmn:definitions>
"""


def bearer(service: Service, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.create_token(username)['token']}"}


# --- the rule itself -----------------------------------------------------------------------


def test_the_rule_reads_start_roles_as_roles_and_falls_back_to_the_deal_owners() -> None:
    assert parse_roles("Sales Rep, sales_manager;  Finance \uff0cLegal,,") == {
        "sales rep",
        "sales manager",
        "finance",
        "legal",
    }
    assert parse_roles(" , ") == frozenset()
    assert declared_roles({"refund.bpmn": REFUND}, "refund_request") == {"finance"}
    # Another process of the file, no property, a property naming no role: nothing declared.
    assert declared_roles({"refund.bpmn": REFUND}, "other") is None
    assert (
        declared_roles({"refund.bpmn": REFUND.replace('"startRoles"', '"x"')}, "refund_request")
        is None
    )
    assert (
        declared_roles({"a.bpmn": REFUND.replace('"finance"', '" , "')}, "refund_request") is None
    )
    assert declared_roles({"broken.bpmn": "<bpmn:definitions"}, "refund_request") is None
    assert start_roles(None) == DEFAULT_START_ROLES == DEAL_OWNERS
    assert start_roles(frozenset({"finance"})) == {"finance"}

    managers = start_roles(parse_roles("Sales Manager"))
    assert may_start({role_key("Sales Manager")}, managers)
    assert not may_start({role_key("Sales Rep")}, managers)
    assert may_start({"admin"}, managers)  # admins always may
    assert not may_start(set(), DEFAULT_START_ROLES)
    assert may_start({"sales rep", "marketing"}, DEFAULT_START_ROLES)


def test_the_designer_check_warns_of_a_start_role_no_one_holds() -> None:
    team = {role_key(r) for r in TEAM_ROLES}
    assert check({"refund.bpmn": REFUND}, held_roles=team) == []
    typo = REFUND.replace('value="finance"', 'value="Finance, Fnance"')
    [problem] = check({"refund.bpmn": typo}, held_roles=team)
    assert (problem.severity, problem.element_id) == ("warning", "refund_request")
    assert "no active user holds the role 'Fnance' that startRoles names" in problem.message
    assert check({"refund.bpmn": typo}, held_roles=None) == []  # no users given: no warning


def test_the_shipped_processes_say_who_starts_them(staff: Service) -> None:
    assert [p["process_id"] for p in staff.startable("alice")] == ["sales_pipeline"]
    assert [p["process_id"] for p in staff.startable("mia")] == [INITIATIVE, "sales_pipeline"]
    assert [p["process_id"] for p in staff.startable("root")] == [INITIATIVE, "sales_pipeline"]
    assert staff.startable("fay") == [] and staff.startable("dora") == []
    assert staff.startable("nobody") == []
    assert staff.may_start("mia", INITIATIVE) and not staff.may_start("alice", INITIATIVE)
    assert not staff.may_start("mia", "no_such_process")


# --- the finding, replayed on the API ------------------------------------------------------


def test_a_rep_cannot_start_the_initiative_process_through_the_api(
    client: FlaskClient, staff: Service
) -> None:
    alice = bearer(staff, "alice")
    for body in (
        {"process_id": INITIATIVE},
        {"process_id": INITIATIVE, "owner": "alice"},
        {"process_id": INITIATIVE, "version": 1},
    ):
        refused = client.post(f"{API}/deals", json=body, headers=alice)
        error = error_of(refused, 403, "ForbiddenError")
        assert "alice may not start the process 'optimization_initiative'" in error["message"]
        assert "Sales Manager" in error["message"]
    # The initiatives endpoint refuses by the same rule.
    mine = {"name": "Mine", "process_id": "sales_pipeline", "lead": "mia"}
    refused = client.post(f"{API}/initiatives", json=mine, headers=alice)
    assert "may not start the process" in error_of(refused, 403, "ForbiddenError")["message"]
    assert staff.instances() == [] and staff.initiatives() == []

    # Who the process names may start it; admins always may.
    for user in ("mia", "root"):
        started = client.post(
            f"{API}/deals", json={"process_id": INITIATIVE}, headers=bearer(staff, user)
        )
        assert started.status_code == 201, started.get_json()
    assert {d["owner"] for d in staff.instances()} == {"mia", "root"}


def test_a_rep_cannot_give_a_deal_to_a_finance_user(client: FlaskClient, staff: Service) -> None:
    alice = bearer(staff, "alice")
    body = {"process_id": "sales_pipeline", "data": LEAD}
    refused = client.post(f"{API}/deals", json={**body, "owner": "fay"}, headers=alice)
    error = error_of(refused, 422, "ValidationError")
    assert error["field"] == "owner" and "fay may not own a deal" in error["message"]
    assert staff.instances() == []
    # Nor start one for herself: Finance does not start the sales pipeline.
    error_of(client.post(f"{API}/deals", json=body, headers=bearer(staff, "fay")), 403)
    # The allowed cases: for herself, for another rep, for her manager.
    for owner in ("alice", "bob", "mia"):
        started = client.post(f"{API}/deals", json={**body, "owner": owner}, headers=alice)
        assert started.status_code == 201, started.get_json()
    assert sorted(str(d["owner"]) for d in staff.instances()) == ["alice", "bob", "mia"]


def test_the_latest_version_says_who_starts_even_an_older_one(
    client: FlaskClient, staff: Service
) -> None:
    """Starting version 1 does not bring back who version 1 let start it."""
    files = staff.definition_files("sales_pipeline")
    [bpmn] = [name for name in files if name.endswith(".bpmn")]
    files[bpmn] = files[bpmn].replace(
        'name="startRoles" value="Sales Rep, Sales Manager"',
        'name="startRoles" value="Sales Manager"',
    )
    assert staff.publish(files, actor="dora", replaces=("sales_pipeline",))["version"] == 2
    body = {"process_id": "sales_pipeline", "version": 1, "data": LEAD}
    error_of(client.post(f"{API}/deals", json=body, headers=bearer(staff, "alice")), 403)
    with pytest.raises(ForbiddenError):
        staff.start("sales_pipeline", version=1, owner="alice", data=LEAD)
    assert client.post(f"{API}/deals", json=body, headers=bearer(staff, "mia")).status_code == 201


# --- the pages -----------------------------------------------------------------------------


def test_the_new_deal_page_offers_only_the_processes_the_user_may_start(
    client: FlaskClient, staff: Service
) -> None:
    staff.deploy_sources({"refund.bpmn": REFUND}, actor="dora")
    login(client, "alice")
    page = text(client.get("/deals/new"))
    assert 'name="company"' in page  # the sales pipeline's lead form
    assert 'id="choose-process"' not in page  # nothing else to choose
    assert "refund_request" not in page and INITIATIVE not in page
    refused = client.get("/deals/new?process=refund_request")
    assert refused.status_code == 403
    assert "You may not start this process" in text(refused)
    assert client.get("/deals/new?process=no_such_thing").status_code == 404
    # A form posted for a process she may not start starts nothing.
    answer = post(client, "/deals/new", {"process": "refund_request", "deal_owner": "alice"})
    assert answer.status_code == 403 and staff.instances() == []


def test_finance_starts_its_own_process_and_nothing_else(
    client: FlaskClient, staff: Service
) -> None:
    staff.deploy_sources({"refund.bpmn": REFUND}, actor="dora")
    login(client, "fay")
    page = text(client.get("/deals/new"))
    assert "Start a deal of the process Refund request." in page
    assert 'name="process" value="refund_request"' in page
    assert 'id="choose-process"' not in page
    answer = post(client, "/deals/new", {"process": "refund_request", "deal_name": "R-1"})
    assert answer.status_code == 302
    [deal] = staff.instances()
    assert (deal["process_id"], deal["owner"], deal["name"]) == ("refund_request", "fay", "R-1")
    # The sales pipeline is not hers to start, on the page or on the API.
    refused = client.get("/deals/new?process=sales_pipeline")
    assert refused.status_code == 403
    assert 'href="/deals/new?process=refund_request"' in text(refused)
    error_of(
        client.post(
            f"{API}/deals",
            json={"process_id": "sales_pipeline", "data": LEAD},
            headers=bearer(staff, "fay"),
        ),
        403,
    )


def test_someone_who_starts_nothing_is_told_so(client: FlaskClient, staff: Service) -> None:
    login(client, "lena")
    refused = client.get("/deals/new")
    assert refused.status_code == 403
    assert "Each process says which roles start it." in text(refused)
    assert 'name="company"' not in text(refused)


def test_a_manager_chooses_among_the_processes_but_not_the_initiatives(
    client: FlaskClient, staff: Service
) -> None:
    """The initiative process starts from the initiatives page, which keeps its table."""
    both = REFUND.replace('value="finance"', 'value="Finance, Sales Manager"')
    staff.deploy_sources({"refund.bpmn": both})
    login(client, "mia")
    page = text(client.get("/deals/new"))
    start = page.index('id="choose-process"')
    chooser = page[start : page.index("</form>", start)]
    assert re.findall(r'<option value="([^"]+)"', chooser) == ["refund_request", "sales_pipeline"]
    assert 'name="company"' in page  # the sales pipeline unless another is chosen
    page = text(client.get("/deals/new?process=refund_request"))
    assert "Start a deal of the process Refund request." in page and 'name="company"' not in page


# --- the command line ----------------------------------------------------------------------


def test_the_command_line_refuses_by_the_same_rule(
    staff: Service, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    # Without --user the deal is started in its owner's name: the owner must be allowed.
    assert main(["start", INITIATIVE, "--owner", "alice"]) == 5
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "alice may not start the process" in err
    assert main(["start", INITIATIVE, "--owner", "mia", "--user", "alice"]) == 5
    assert "alice may not start" in capsys.readouterr().err
    # The owner rule first, as before (7: invalid data).
    assert main(["start", "sales_pipeline", "--owner", "fay", "--user", "alice"]) == 7
    assert "fay may not own a deal" in capsys.readouterr().err
    assert staff.instances() == []

    assert main(["--json", "start", INITIATIVE, "--owner", "mia"]) == 0
    assert json.loads(capsys.readouterr().out)["process_id"] == INITIATIVE
    data = json.dumps(LEAD)
    assert (
        main(["start", "sales_pipeline", "--owner", "bob", "--user", "alice", "--data", data]) == 0
    )
    assert (
        main(["start", "sales_pipeline", "--owner", "alice", "--user", "root", "--data", data]) == 0
    )
    assert sorted(str(d["owner"]) for d in staff.instances()) == ["alice", "bob", "mia"]
