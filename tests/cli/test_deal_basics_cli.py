"""`salesflow start --amount --expected-close`, `salesflow lose` and `salesflow show`: the
deal basics from the command line, with the API's and the pages' rules and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import LEAD, PROCESSES

from .test_cli import env  # noqa: F401  (a fixture)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["--json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def test_start_lose_and_show_a_deal(
    env: dict[str, str],  # noqa: F811
    pipeline: Service,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, started, err = run(
        capsys,
        "start", "sales_pipeline", "--owner", "alice", "--data", json.dumps(LEAD),
        "--amount", "240000", "--expected-close", "2026-06-30",
    )  # fmt: skip
    assert code == 0, err
    iid = started["instance_id"]
    drive(pipeline, iid, WON[:3])  # at the proposal

    code, shown, _ = run(capsys, "show", iid)
    assert (shown["amount"], shown["expected_close"], shown["outcome"]) == (
        240000.0,
        "2026-06-30",
        None,
    )
    # Someone who works on it, but is neither its owner nor a manager: refused (5).
    code, _, err = run(capsys, "lose", iid, "--reason", "no budget", "--user", "pete")
    assert code == 5 and "may not change deal" in err
    # No reason from the list: invalid data (7), naming the list.
    code, _, err = run(capsys, "lose", iid, "--reason", "too dear", "--user", "mia")
    assert code == 7 and "price too high" in err and json.loads(err)["field"] == "reason"

    code, lost, err = run(capsys, "lose", iid, "--reason", "price too high", "--user", "mia")
    assert code == 0, err
    assert (lost["outcome"], lost["lost_reason"], lost["status"]) == (
        "lost",
        "price too high",
        "cancelled",
    )
    code, shown, _ = run(capsys, "show", iid)
    assert shown["outcome"] == "lost" and shown["tasks"] == []
    assert shown["history"][-1]["kind"] == "lost" and shown["history"][-1]["actor"] == "mia"
    # Lost already: a conflict (6).
    assert run(capsys, "lose", iid, "--reason", "other", "--user", "mia")[0] == 6

    # Without --json: one line for people, and the deal's page as text.
    assert main(["show", iid]) == 0
    out = capsys.readouterr().out
    assert "value ¥240,000, expected close 2026-06-30; LOST: price too high" in out
    assert main(["instances"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "instance_id", "name", "owner", "stage", "status", "outcome", "amount", "version"
    ]  # fmt: skip
    assert row.split() == [iid, "ACME", "alice", "lost", "cancelled", "lost", "¥240,000", "1"]


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [("--amount", "-3", "amount"), ("--amount", "a lot", "amount"),
     ("--expected-close", "2026-02-30", "expected_close")],
)  # fmt: skip
def test_a_bad_value_or_close_date_exits_7_naming_the_field(
    env: dict[str, str],  # noqa: F811
    pipeline: Service,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    field: str,
) -> None:
    code, _, err = run(
        capsys, "start", "sales_pipeline", "--owner", "alice", "--data", json.dumps(LEAD),
        option, value,
    )  # fmt: skip
    assert code == 7 and json.loads(err)["field"] == field
    assert pipeline.instances() == []
