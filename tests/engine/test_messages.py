"""Messages from outside: delivered to the deal waiting for them, once, to one deal only.

tests/engine/data/messages.bpmn: prepare the contract, wait for `contract_signed` (kept for
2 days when early), a kick-off that `deal_cancelled` interrupts, then an event-based gateway
waiting for `payment_received` or 30 days.  messages_invoice.bpmn: `payment_received` with a
BPMN correlation property.  Each delivery goes through a fresh Service (no cached workflow),
so every step also survives a save and a reload from the database.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.store.db import Database
from engine.store.models import MessageSubscription, ReceivedMessage
from engine.usecases.messages import AmbiguousMessageError, correlation_pairs
from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import ENGINE_DATA

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def svc(team: Service) -> Service:
    team.deploy([ENGINE_DATA / "messages.bpmn"])
    return team


def fresh(service: Service) -> Service:
    """Another Service on the same database: nothing cached, workflows load from rows."""
    return Service(service.db)


def start(service: Service, company: str, **data: Any) -> str:
    deal = service.start("messages", owner="alice", data={"company": company, **data})
    return str(deal["instance_id"])


def complete(
    service: Service, iid: str, element_id: str, data: dict[str, Any] | None = None
) -> None:
    [task] = [t for t in service.tasks(instance=iid) if t["element_id"] == element_id]
    service.complete(task["task_id"], user="alice", data=data)


def ready(service: Service, iid: str) -> list[str]:
    return sorted(t["element_id"] for t in service.tasks(instance=iid))


def subscriptions(service: Service, iid: str) -> set[tuple[str, str]]:
    with service.db.read() as s:
        rows = s.execute(
            select(MessageSubscription.name, MessageSubscription.element_id).where(
                MessageSubscription.instance_id == int(iid)
            )
        )
        return {(r.name, r.element_id) for r in rows}


def notes(service: Service, iid: str) -> list[tuple[str, str | None, Any]]:
    """(kind, element, data) of the history rows that tell of a message."""
    return [
        (h["kind"], h["element_id"], h["data"])
        for h in service.show(iid)["history"]
        if isinstance(h["data"], dict) and "message" in h["data"]
    ]


def at_contract_signed(service: Service, company: str, **data: Any) -> str:
    iid = start(service, company, **data)
    complete(service, iid, "task_prepare")
    return iid


# --- the three kinds of waiting ----------------------------------------------------------


def test_a_message_catch_after_a_user_task_waits_and_then_moves_on(svc: Service) -> None:
    iid = start(svc, "ACME")
    assert subscriptions(svc, iid) == set()  # not waiting yet: only the task is open
    complete(svc, iid, "task_prepare")
    assert subscriptions(svc, iid) == {("contract_signed", "msg_signed")}
    assert svc.show(iid)["position"]["msg_signed"] == "waiting"

    sent = fresh(svc).deliver_message(
        "contract_signed", instance_id=iid, data={"signed_by": "Li Wei"}, message_id="esign-1"
    )
    assert sent == {
        "name": "contract_signed",
        "message_id": "esign-1",
        "status": "delivered",
        "duplicate": False,
        "instance_id": iid,
        "received_at": sent["received_at"],
        "delivered_at": sent["received_at"],
        "expires_at": None,
    }
    shown = svc.show(iid)
    assert shown["data"] == {"company": "ACME", "signed_by": "Li Wei"}
    assert shown["position"]["msg_signed"] == "completed"
    assert ready(svc, iid) == ["task_kickoff"]
    # Now the kick-off's boundary event waits.
    assert subscriptions(svc, iid) == {("deal_cancelled", "msg_cancelled")}
    assert notes(svc, iid) == [
        (
            "message",
            "msg_signed",
            {
                "message": "contract_signed",
                "message_id": "esign-1",
                "data": {"signed_by": "Li Wei"},
            },
        )
    ]


def test_a_boundary_message_interrupts_its_task(svc: Service) -> None:
    iid = at_contract_signed(svc, "ACME")
    svc.deliver_message("contract_signed", instance_id=iid)
    fresh(svc).deliver_message("deal_cancelled", instance_id=iid, data={"reason": "budget cut"})
    shown = svc.show(iid)
    assert shown["position"]["task_kickoff"] == "cancelled"
    assert shown["position"]["msg_cancelled"] == "completed"
    assert shown["data"]["reason"] == "budget cut"
    assert ready(svc, iid) == ["task_wrap_up"]
    assert subscriptions(svc, iid) == set()
    with pytest.raises(
        NotFoundError, match=f"deal {iid} is not waiting for message 'deal_cancelled'"
    ):
        svc.deliver_message("deal_cancelled", instance_id=iid)


def test_an_event_based_gateway_takes_the_message_branch(svc: Service) -> None:
    iid = at_contract_signed(svc, "ACME")
    svc.deliver_message("contract_signed", instance_id=iid)
    complete(svc, iid, "task_kickoff")
    assert subscriptions(svc, iid) == {("payment_received", "msg_paid")}
    assert svc.show(iid)["position"]["gw_payment"] == "waiting"

    fresh(svc).deliver_message("payment_received", instance_id=iid, data={"amount": 120000})
    shown = svc.show(iid)
    assert ready(svc, iid) == ["task_thank"]
    assert shown["data"]["amount"] == 120000
    assert shown["position"]["msg_paid"] == "completed"
    assert "timer_overdue" not in shown["position"]  # the other branch was never taken
    assert subscriptions(svc, iid) == set()
    # The history row of the branch taken tells of the message.
    assert notes(svc, iid)[-1] == (
        "message",
        "msg_paid",
        {"message": "payment_received", "data": {"amount": 120000}},
    )


# --- correlation -------------------------------------------------------------------------


def test_correlation_by_deal_fields_finds_the_one_deal(svc: Service) -> None:
    acme = at_contract_signed(svc, "ACME", contract_no="C-1", revenue=8000000)
    bolt = at_contract_signed(svc, "Bolt", contract_no="C-2", revenue=5000000)

    went = fresh(svc).deliver_message("contract_signed", correlate={"contract_no": "C-2"})
    assert went["instance_id"] == bolt
    assert ready(svc, bolt) == ["task_kickoff"] and ready(svc, acme) == []

    # A deal column (its name), and a number sent as text as the command line does.
    went = svc.deliver_message("contract_signed", correlate={"name": "ACME", "revenue": "8000000"})
    assert went["instance_id"] == acme
    # Nothing waits that matches: a clear error, and nothing kept (no keep property here).
    with pytest.raises(NotFoundError, match="no deal with contract_no='C-9' is waiting"):
        svc.deliver_message("deal_cancelled", correlate={"contract_no": "C-9"})
    with svc.db.read() as s:
        assert (
            s.scalar(select(ReceivedMessage).where(ReceivedMessage.delivered_at.is_(None))) is None
        )


def test_several_matching_deals_are_a_conflict_and_none_receives_it(svc: Service) -> None:
    one = at_contract_signed(svc, "ACME", region="East")
    two = at_contract_signed(svc, "Bolt", region="East")
    with pytest.raises(AmbiguousMessageError) as err:
        svc.deliver_message("contract_signed", correlate={"region": "East"}, message_id="m-1")
    assert isinstance(err.value, ConflictError)
    assert err.value.to_dict()["instance_ids"] == [one, two]
    assert f"{one}, {two}" in str(err.value)
    assert ready(svc, one) == ready(svc, two) == []
    # The id was not used up: the same message, made precise, goes through.
    went = svc.deliver_message(
        "contract_signed", correlate={"region": "East", "owner": "alice", "name": "Bolt"},
        message_id="m-1",
    )  # fmt: skip
    assert (went["instance_id"], went["duplicate"]) == (two, False)


def test_the_same_message_id_is_delivered_once(svc: Service) -> None:
    iid = at_contract_signed(svc, "ACME")
    first = svc.deliver_message(
        "contract_signed", instance_id=iid, data={"signer": "Li"}, message_id="esign-7"
    )
    again = fresh(svc).deliver_message(
        "contract_signed", instance_id=iid, data={"signer": "Wang"}, message_id="esign-7"
    )
    assert again == {**first, "duplicate": True}
    assert svc.show(iid)["data"]["signer"] == "Li"  # the second one changed nothing
    assert len(notes(svc, iid)) == 1
    # Even sent by correlation, once the deal waits for something else.
    assert svc.deliver_message("contract_signed", correlate={"company": "ACME"},
                               message_id="esign-7")["duplicate"] is True  # fmt: skip
    with pytest.raises(ConflictError, match="already used for message 'contract_signed'"):
        svc.deliver_message("deal_cancelled", instance_id=iid, message_id="esign-7")
    assert ready(svc, iid) == ["task_kickoff"]


def test_unknown_names_deals_and_bad_messages_are_refused(svc: Service) -> None:
    iid = at_contract_signed(svc, "ACME")
    with pytest.raises(NotFoundError, match="no deployed process receives a message named 'x'"):
        svc.deliver_message("x", correlate={"company": "ACME"})
    with pytest.raises(NotFoundError, match=f"deal {iid} never waits for a message named 'x'"):
        svc.deliver_message("x", instance_id=iid)
    with pytest.raises(NotFoundError, match="no deal with id '999'"):
        svc.deliver_message("contract_signed", instance_id="999")
    bad: list[dict[str, Any]] = [
        {},  # which deal?
        {"instance_id": "one"},
        {"correlate": {"company": None}},
        {"correlate": ["company"]},
        {"instance_id": iid, "data": [1, 2]},
        {"instance_id": iid, "message_id": ""},
    ]
    for kwargs in bad:
        with pytest.raises(ValidationError):
            svc.deliver_message("contract_signed", **kwargs)
    with pytest.raises(ValidationError):
        svc.deliver_message(" ", instance_id=iid)
    assert ready(svc, iid) == [] and svc.show(iid)["position"]["msg_signed"] == "waiting"


# --- kept messages -----------------------------------------------------------------------


def test_an_early_message_is_kept_and_delivered_when_the_deal_starts_waiting(
    svc: Service,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = start(svc, "ACME", contract_no="C-1")
        other = start(svc, "Bolt", contract_no="C-2")
        kept = svc.deliver_message(
            "contract_signed", correlate={"contract_no": "C-1"}, data={"signer": "Li"},
            message_id="early-1",
        )  # fmt: skip
        assert (kept["status"], kept["instance_id"]) == ("kept", None)
        assert kept["expires_at"] == (T0 + timedelta(days=2)).isoformat()
        assert svc.deliver_message("contract_signed", correlate={"contract_no": "C-1"},
                                   message_id="early-1") == {**kept, "duplicate": True}  # fmt: skip

        clock.shift(timedelta(days=1))
        complete(fresh(svc), other, "task_prepare")  # waits, but does not match
        assert svc.show(other)["position"]["msg_signed"] == "waiting"
        complete(fresh(svc), iid, "task_prepare")  # starts waiting: receives it at once
        shown = svc.show(iid)
        assert shown["position"]["msg_signed"] == "completed"
        assert shown["data"]["signer"] == "Li"
        assert ready(svc, iid) == ["task_kickoff"]
        assert subscriptions(svc, iid) == {("deal_cancelled", "msg_cancelled")}
        assert notes(svc, iid) == [
            (
                "message",
                "msg_signed",
                {"message": "contract_signed", "message_id": "early-1", "data": {"signer": "Li"}},
            )
        ]
        again = svc.deliver_message("contract_signed", instance_id=iid, message_id="early-1")
        assert (again["status"], again["instance_id"], again["duplicate"]) == (
            "delivered", iid, True
        )  # fmt: skip
        assert again["delivered_at"] == (T0 + timedelta(days=1)).isoformat()


def test_a_kept_message_goes_to_a_deal_started_later(svc: Service) -> None:
    kept = svc.deliver_message("contract_signed", correlate={"contract_no": "C-5"})
    assert kept["status"] == "kept"
    iid = start(svc, "Delta", contract_no="C-5")
    assert ready(svc, iid) == ["task_prepare"]  # not waiting for it yet
    complete(svc, iid, "task_prepare")
    assert ready(svc, iid) == ["task_kickoff"]
    with svc.db.read() as s:
        row = s.scalars(select(ReceivedMessage)).one()
        assert row.instance_id == int(iid) and row.delivered_at is not None


def test_a_deal_that_waits_from_its_start_receives_a_kept_message_at_once(
    team: Service,
) -> None:
    team.deploy([ENGINE_DATA / "messages_invoice.bpmn"])
    kept = team.deliver_message(
        "payment_received", correlate={"company": "Zeta"}, data={"invoice_no": "INV-9"}
    )
    assert kept["status"] == "kept"
    iid = str(team.start("invoices", owner="alice", data={"company": "Zeta"})["instance_id"])
    shown = team.show(iid)
    assert shown["position"]["msg_first_payment"] == "completed"
    assert shown["position"]["msg_second_payment"] == "waiting"
    assert shown["data"]["invoice_no"] == "INV-9"
    assert subscriptions(team, iid) == {("payment_received", "msg_second_payment")}
    with team.db.read() as s:
        row = s.scalars(select(ReceivedMessage)).one()
        assert row.instance_id == int(iid)  # set once the new deal had its id


def test_an_expired_kept_message_is_not_delivered(svc: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = start(svc, "ACME")
        svc.deliver_message("contract_signed", instance_id=iid, message_id="late-1")
        clock.shift(timedelta(days=2, seconds=1))
        complete(svc, iid, "task_prepare")
        assert svc.show(iid)["position"]["msg_signed"] == "waiting"
        assert ready(svc, iid) == []
        answer = svc.deliver_message("contract_signed", instance_id=iid, message_id="late-1")
        assert (answer["status"], answer["duplicate"]) == ("expired", True)
        # A new message does reach it now.
        assert svc.deliver_message("contract_signed", instance_id=iid)["status"] == "delivered"


def test_only_messages_the_definition_keeps_are_kept(svc: Service) -> None:
    iid = start(svc, "ACME")
    # deal_cancelled has no keepMessagesFor: refused while nothing waits for it.
    with pytest.raises(
        NotFoundError, match=f"deal {iid} is not waiting for message 'deal_cancelled'"
    ):
        svc.deliver_message("deal_cancelled", instance_id=iid)
    complete(svc, iid, "task_prepare")
    svc.deliver_message("contract_signed", instance_id=iid)
    complete(svc, iid, "task_kickoff")
    # A finished wait: contract_signed now goes to the deal's keep, not to the deal.
    answer = svc.deliver_message("contract_signed", instance_id=iid)
    assert answer["status"] == "kept"


# --- who may send ------------------------------------------------------------------------


def test_a_sender_reaches_only_the_deals_they_may_see(svc: Service) -> None:
    svc.add_user("esign", ["Integration"])
    iid = at_contract_signed(svc, "ACME", contract_no="C-1")
    # bob (another rep) may not see alice's deal: it looks missing, and correlation skips it.
    with pytest.raises(NotFoundError, match=f"no deal with id '{iid}'"):
        svc.deliver_message("contract_signed", instance_id=iid, sender="bob")
    with pytest.raises(NotFoundError, match="no deal with contract_no='C-1' is waiting"):
        svc.deliver_message("contract_signed", correlate={"contract_no": "C-1"}, sender="bob")
    # ... nor have a message kept for any deal that may come.
    with pytest.raises(NotFoundError):
        svc.deliver_message("contract_signed", correlate={"contract_no": "C-7"}, sender="bob")
    went = svc.deliver_message("contract_signed", instance_id=iid, sender="alice",
                               message_id="by-alice")  # fmt: skip
    assert went["status"] == "delivered"
    assert notes(svc, iid)[0][2]["sent_by"] == "alice"
    with pytest.raises(ConflictError, match=r"already used$"):  # says nothing of alice's deal
        svc.deliver_message("contract_signed", correlate={"contract_no": "C-1"}, sender="bob",
                            message_id="by-alice")  # fmt: skip
    kept = svc.deliver_message("contract_signed", correlate={"contract_no": "C-7"},
                               sender="esign")  # fmt: skip
    assert kept["status"] == "kept"


# --- BPMN correlation properties ---------------------------------------------------------


def test_bpmn_correlation_properties_run_in_the_restricted_engine(team: Service) -> None:
    team.deploy([ENGINE_DATA / "messages_invoice.bpmn"])
    iid = str(team.start("invoices", owner="alice", data={"company": "ACME"})["instance_id"])
    # The retrieval expression `invoice_no` needs the key in the message.
    with pytest.raises(ValidationError, match="correlation properties"):
        team.deliver_message("payment_received", instance_id=iid, data={"amount": 1})
    team.deliver_message(
        "payment_received", instance_id=iid, data={"amount": 1, "invoice_no": "INV-1"}
    )
    # The deal's key is now INV-1: a payment for another invoice is not for this deal.
    with pytest.raises(NotFoundError, match="other correlation keys"):
        fresh(team).deliver_message(
            "payment_received", instance_id=iid, data={"amount": 2, "invoice_no": "INV-2"}
        )
    fresh(team).deliver_message(
        "payment_received", instance_id=iid, data={"amount": 3, "invoice_no": "INV-1"}
    )
    assert ready(team, iid) == ["task_close"]
    assert team.show(iid)["data"]["amount"] == 3


# --- concurrency -------------------------------------------------------------------------


def test_one_message_id_sent_twice_at_the_same_time_is_delivered_once(
    svc: Service, db_url: str
) -> None:
    iid = at_contract_signed(svc, "ACME")
    services = [Service(Database(db_url)) for _ in range(2)]
    barrier = threading.Barrier(2)
    answers: list[dict[str, Any]] = []

    def send(service: Service) -> None:
        barrier.wait()
        answers.append(service.deliver_message("contract_signed", instance_id=iid,
                                               message_id="twice"))  # fmt: skip

    threads = [threading.Thread(target=send, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for service in services:
        service.db.dispose()
    assert sorted(a["duplicate"] for a in answers) == [False, True]
    assert len(notes(svc, iid)) == 1
    assert ready(svc, iid) == ["task_kickoff"]


# --- the command line --------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_the_message_command(svc: Service, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    iid = at_contract_signed(svc, "ACME", contract_no="C-1")
    code, out, err = run_cli("message", "deal_cancelled", "--instance", iid)
    assert code == 4 and f"deal {iid} is not waiting for message 'deal_cancelled'" in err
    code, out, _ = run_cli(
        "message", "contract_signed", "--correlate", "contract_no=C-1", "--correlate",
        "owner=alice", "--data", '{"signer": "Li"}', "--id", "cli-1", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["instance_id"] == iid
    code, out, _ = run_cli("message", "contract_signed", "--instance", iid, "--id", "cli-1")
    assert (
        code == 0
        and out.strip()
        == f"delivered contract_signed to deal {iid} (this message id was sent before)"
    )
    assert svc.show(iid)["data"]["signer"] == "Li"
    code, _, err = run_cli("message", "contract_signed", "--correlate", "contract_no")
    assert code == 7 and "not KEY=VALUE" in err
    with pytest.raises(SystemExit):  # --instance and --correlate exclude each other
        run_cli("message", "contract_signed", "--instance", iid, "--correlate", "a=b")


def test_correlation_pairs() -> None:
    assert correlation_pairs(["a=1", "b = x=y", "c="]) == {"a": "1", "b": " x=y", "c": ""}
    assert correlation_pairs(None) == {}
    with pytest.raises(ValidationError):
        correlation_pairs(["=1"])
