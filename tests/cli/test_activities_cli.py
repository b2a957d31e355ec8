"""`salesflow log-activity` and `salesflow activities`: calls, visits and meetings from the
command line, with the pages' and the API's rules and errors (engine.usecases.activities)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import LEAD, PROCESSES

from .test_cli import env  # noqa: F401  (a fixture)


def run(
    capsys: pytest.CaptureFixture[str], *args: str, as_json: bool = True
) -> tuple[int, Any, str]:
    code = main(["--json", *args] if as_json else list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if as_json and out.strip() else out), err


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def test_log_a_call_on_a_deal_and_list_it_on_the_deal_and_its_customer(
    env: dict[str, str],  # noqa: F811
    pipeline: Service,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deal = pipeline.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    iid = deal["instance_id"]
    code, logged, err = run(
        capsys,
        "log-activity", "--deal", iid, "--kind", "call", "--at", "2026-03-02T10:30:00+08:00",
        "--notes", "Budget confirmed", "--next-step", "send the proposal",
        "--next-step-at", "2026-03-09", "--user", "alice",
    )  # fmt: skip
    assert code == 0, err
    assert (logged["deal_id"], logged["kind"], logged["by"]) == (iid, "call", "alice")
    assert logged["at"] == "2026-03-02T02:30:00+00:00"
    assert logged["customer_id"] is not None
    code, listed, err = run(capsys, "activities", "--customer", str(logged["customer_id"]))
    assert code == 0, err
    assert [a["id"] for a in listed] == [logged["id"]]
    code, listed, err = run(capsys, "activities", "--deal", iid, "--user", "alice")
    assert [a["notes"] for a in listed] == ["Budget confirmed"]
    code, text, err = run(capsys, "activities", "--deal", iid, as_json=False)
    assert code == 0 and "Budget confirmed" in text and "call" in text
    # Someone who may not see the deal: not found (4), for reading and for logging.
    code, _, err = run(capsys, "activities", "--deal", iid, "--user", "bob")
    assert code == 4
    code, _, err = run(capsys, "log-activity", "--deal", iid, "--kind", "call", "--user", "bob")
    assert code == 4
    # Bad input: invalid data (7), naming the field.
    code, _, err = run(capsys, "log-activity", "--deal", iid, "--kind", "fax", "--user", "alice")
    assert code == 7 and json.loads(err)["field"] == "kind"
    code, _, err = run(
        capsys, "log-activity", "--deal", iid, "--kind", "visit", "--at", "2999-01-01T00:00",
        "--user", "alice",
    )  # fmt: skip
    assert code == 7 and json.loads(err)["field"] == "at"
    # One of --customer and --deal, never both.
    with pytest.raises(SystemExit):
        main(["log-activity", "--deal", iid, "--customer", "1", "--kind", "call", "--user", "a"])
