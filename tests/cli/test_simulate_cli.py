"""`salesflow simulate PROCESS [--draft] [--weeks N] [--seed S] --json`: the current version
and the designer's draft on the team's history, as the use case answers it; the same seed,
the same answer; a report with a progress bar without --json; errors as exit codes."""

from __future__ import annotations

import contextlib
import io

import pytest
import time_machine

from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.usecases.service import Service
from salesflow.cli import main
from tests.cli_driver import CliDriver
from tests.engine.test_simulation import (  # noqa: F401  (fixtures)
    APPROVAL_DAYS,
    NOW,
    SHIFT_TOLERANCE,
    history_plan,
    trial,
    trial_bpmn,
)


@pytest.fixture
def cli(trial: Service, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliDriver:  # noqa: F811
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    with time_machine.travel(NOW, tick=False):
        trial.save_draft_definition(
            "trial", {"trial.bpmn": trial_bpmn(approval="P2D")}, actor="dee", base_version=1
        )
    return CliDriver()


def test_the_json_answer_is_current_and_draft_side_by_side(cli: CliDriver, trial: Service) -> None:  # noqa: F811
    with time_machine.travel(NOW, tick=False):
        answer = cli.simulate("trial", draft=True, weeks=52, seed=3)
        again = cli.simulate("trial", draft=True, weeks=52, seed=3)
        same = trial.simulate("trial", actor=None, draft=True, weeks=52, seed=3)
    assert answer == again == same
    for side in (answer["current"], answer["draft"]):
        assert set(side) >= {"cycle_days", "won_per_month", "roles", "tasks", "validation"}
        assert set(side["cycle_days"]) >= {"p50", "p90"}
        assert all({"role", "utilisation", "wait_days_p50"} <= set(r) for r in side["roles"])
        assert all({"wait_days_p50", "work_days_p50"} <= set(t) for t in side["tasks"])
        validation = side["validation"]
        assert (
            set(validation["actual"])
            == set(validation["simulated"])
            == {
                "cycle_days_p50",
                "won",
            }
        )
    shift = answer["draft"]["cycle_days"]["p50"] - answer["current"]["cycle_days"]["p50"]
    assert shift == pytest.approx(APPROVAL_DAYS, abs=SHIFT_TOLERANCE)
    with time_machine.travel(NOW, tick=False):
        alone = cli.simulate("trial", weeks=8)
    assert alone["draft"] is None and alone["weeks"] == 8


def test_without_json_a_report_and_a_progress_bar(cli: CliDriver) -> None:
    out, err = io.StringIO(), io.StringIO()
    with (
        time_machine.travel(NOW, tick=False),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        assert main(["simulate", "trial", "--draft", "--weeks", "26"]) == 0
    report = out.getvalue()
    assert report.startswith("trial v1: 26 weeks simulated (seed 1)")
    assert "current:" in report and "draft:" in report and "Approve" in report
    assert "validation over" in report and "within the tolerance" in report
    assert "20/20 simulating the draft" in err.getvalue()


def test_errors_are_exit_codes(cli: CliDriver) -> None:
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(NotFoundError):
            cli.simulate("no_such_process")
        with pytest.raises(ValidationError):
            cli.simulate("trial", weeks=0)
        with pytest.raises(ForbiddenError):
            cli.simulate("trial", actor="alice")
        assert cli.simulate("trial", actor="mia", weeks=4)["current"]["validation"]
