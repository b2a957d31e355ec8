"""`salesflow forecast` and `salesflow backtest` (salesflow/cli.py, salesflow/forecast_text.py)
over a history driven through the engine in moved time (tests/webui/test_forecast.py)."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

import pytest
import time_machine

from engine.errors import ForbiddenError, ValidationError
from engine.usecases.service import Service
from salesflow.cli import main
from tests.cli_driver import CliDriver
from tests.conftest import PROCESSES
from tests.webui.test_api import conforms
from tests.webui.test_forecast import NOW, T0, lived_history

from .test_cli import env  # noqa: F401  (a fixture)


@pytest.fixture
def history(env: dict[str, str], team: Service) -> dict[str, str]:  # noqa: F811
    team.add_user("alice", ["Sales Rep"])
    team.deploy([PROCESSES])
    return lived_history(team)


def _plain(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_forecast_as_json_and_as_text(history: dict[str, str]) -> None:
    cli = CliDriver()
    with time_machine.travel(NOW, tick=False):
        found = cli.run("forecast")
        mine = cli.run("forecast", "--user", "alice")
        code, text, _err = _plain("forecast")
        month = found["deals"][0]["expected_close"][:7]
        only = cli.run("forecast", "--month", month)
    conforms(found, "Forecast")  # the API's shape
    assert found["method"] == "history" and found["closed"] == 24 and len(found["deals"]) == 3
    assert [str(d["instance_id"]) for d in mine["deals"]] == [history["negotiation"]]
    assert code == 0 and text.startswith("forecast of sales_pipeline")
    assert "conditional frequencies from 24 closed deals" in text and "80% band" in text
    assert [m["month"] for m in only["months"]] == [month]
    with pytest.raises(ValidationError, match="month"):
        cli.run("forecast", "--month", "2026-13")


def test_backtest_against_the_stage_weights(history: dict[str, str]) -> None:
    cli = CliDriver()
    at = (T0 + timedelta(days=60)).date().isoformat()
    with time_machine.travel(NOW, tick=False):
        report = cli.run("backtest", "--at", at)
        code, text, _err = _plain("backtest", "--at", at)
        with pytest.raises(ForbiddenError, match="sales manager"):
            cli.run("backtest", "--at", at, "--user", "alice")
        with pytest.raises(ValidationError, match="date"):
            cli.run("backtest", "--at", "yesterday")
        with pytest.raises(ValidationError, match="future"):
            cli.run("backtest", "--at", (NOW + timedelta(days=3)).date().isoformat())
    # Deals started every 4 days and lived 15-24 days: by day 60 the first ones had closed.
    assert report["at"] == at and report["deals"] > 0 and report["trained_on"] > 0
    assert report["trained_on"] + report["deals"] <= 24
    assert report["brier"] is not None and report["baseline_brier"] is not None
    assert sum(r["deals"] for r in report["reliability"]) == report["deals"]
    assert sum(r["deals"] for r in report["baseline_reliability"]) == report["deals"]
    assert code == 0 and "Brier score: forecast" in text and "stage weights" in text
