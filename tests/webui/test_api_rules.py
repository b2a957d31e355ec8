"""Rules that used to live in the pages, now the engine's (engine.usecases), so the lead form,
the designer, the API and the command line answer alike: who may own a deal, which process
a designer's edit may replace, and who may act on a task."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.errors import ForbiddenError, ProcessIdTakenError, ValidationError
from engine.usecases.service import Service
from engine.usecases.tasks import may_complete
from tests.webui.conftest import LEAD
from tests.webui.test_api import error_of

API = "/api/v1"


@pytest.fixture
def tokens(staff: Service) -> dict[str, dict[str, str]]:
    return {
        u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"}
        for u in ("alice", "pete", "dora")
    }


def test_the_api_gives_a_deal_only_to_someone_who_may_own_deals(
    client: FlaskClient, tokens: dict[str, dict[str, str]], staff: Service
) -> None:
    # The lead form offers a rep the people holding Sales Rep or Sales Manager.
    assert [u["username"] for u in staff.deal_owners("alice")] == ["alice", "bob", "mia"]
    body = {"process_id": "sales_pipeline", "data": LEAD}

    refused = client.post(f"{API}/deals", json={**body, "owner": "pete"}, headers=tokens["alice"])
    error = error_of(refused, 422, "ValidationError")
    assert error["field"] == "owner"
    assert error["message"].startswith("owner: pete may not own a deal")
    assert staff.instances() == []

    given = client.post(f"{API}/deals", json={**body, "owner": "mia"}, headers=tokens["alice"])
    assert given.status_code == 201
    own = client.post(f"{API}/deals", json=body, headers=tokens["alice"])
    assert own.status_code == 201
    # Who may start the pipeline is a rule of its own (its startRoles: Sales Rep, Sales
    # Manager; tests/security/test_start_rules.py): not pete, even for himself.
    error_of(client.post(f"{API}/deals", json=body, headers=tokens["pete"]), 403, "ForbiddenError")
    owners = {d["instance_id"]: d["owner"] for d in staff.instances()}
    assert owners == {
        given.get_json()["instance_id"]: "mia",
        own.get_json()["instance_id"]: "alice",
    }


def test_the_lead_form_offers_who_the_engine_lets_own_a_deal(staff: Service) -> None:
    # Whoever starts a deal may own it (when the process lets them start it at all).
    assert [u["username"] for u in staff.deal_owners("pete")] == ["pete", "alice", "bob", "mia"]
    with pytest.raises(ValidationError) as refused:
        staff.start("sales_pipeline", owner="pete", data=LEAD, actor="alice")
    assert refused.value.field == "owner"
    with pytest.raises(ForbiddenError):
        staff.start("sales_pipeline", owner="pete", data=LEAD, actor="pete")
    assert staff.instances() == []


def test_one_deal_goes_over_only_to_someone_who_may_own_it(staff: Service) -> None:
    iid = staff.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    with pytest.raises(ValidationError) as refused:
        staff.hand_over("alice", "pete", actor="mia", instance_id=iid)
    assert refused.value.field == "to"
    with pytest.raises(ValidationError):
        staff.handover_preview("alice", "pete", actor="mia", instance_id=iid)
    assert staff.show(iid)["owner"] == "alice"
    # A rep's whole work may go to anyone active, as the people page offers.
    assert staff.hand_over("alice", "pete", actor="mia")["deals"] == 1


def test_a_publish_replaces_only_the_process_it_may(
    client: FlaskClient, tokens: dict[str, dict[str, str]], staff: Service
) -> None:
    files = staff.definition_files("sales_pipeline")
    # The designer opened another process, or a new one: the pipeline's id is taken.
    for replaces in ((), ("call_back",)):
        with pytest.raises(ProcessIdTakenError) as taken:
            staff.publish(files, actor="dora", replaces=replaces)
        assert taken.value.process_id == "sales_pipeline"
        with pytest.raises(ProcessIdTakenError):
            staff.check_definition(files, replaces=replaces)
        with pytest.raises(ProcessIdTakenError):
            staff.save_designer_draft(files, actor="dora", opened=None, base_version=None)
    assert staff.definition_draft("sales_pipeline", "dora") is None
    # Opened in the designer, or named by the API's caller: the pipeline's next version.
    assert staff.publish(files, actor="dora", replaces=("sales_pipeline",))["changed"] is False
    answer = client.post(f"{API}/definitions", json={"files": files}, headers=tokens["dora"])
    assert answer.status_code == 200 and answer.get_json()["process_id"] == "sales_pipeline"
    # The rule never lets anyone else publish.
    with pytest.raises(ForbiddenError):
        staff.publish(files, actor="alice", replaces=("sales_pipeline",))


def test_the_pages_buttons_follow_the_rule_the_engine_completes_by(staff: Service) -> None:
    iid = staff.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    queued = staff.start("sales_pipeline", data=LEAD)["instance_id"]  # no owner: in the queue
    tasks = staff.tasks(instance=iid) + staff.tasks(instance=queued)
    assert {t["assignee"] for t in tasks} == {"alice", None}
    for username in ("alice", "bob", "mia", "pete"):
        roles = staff.roles(username)
        for task in tasks:
            offered = may_complete(username, roles, task)
            try:
                staff.save_draft(task["task_id"], user=username, data={})
            except ForbiddenError:
                allowed = False
            else:
                allowed = True
            assert offered == allowed, (username, task)
