"""The reports as use cases (ReportCases on Service), what the report pages and the API call:
a request's filters read in the team's time zone, who reads reports, who sets what the lead
channels cost."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.usecases.service import Service
from tests.conftest import PROCESSES
from tests.engine.test_reports import ALL, DAY, Deals, by_stage


@pytest.fixture
def deals(team: Service) -> Deals:
    team.deploy([PROCESSES])
    return Deals(team)


def test_a_request_s_filters_are_read_in_the_team_time_zone(team: Service) -> None:
    team.add_user("root", ["admin"])
    team.save_team_settings({"timezone": "Asia/Shanghai"}, user="root")
    query = {"from": "2026-03-01", "to": "2026-03-31", "owner": " alice ", "version": "2"}
    f = team.report_filters(query)
    assert (f.since, f.until) == (
        datetime(2026, 2, 28, 16, tzinfo=UTC),
        datetime(2026, 3, 31, 16, tzinfo=UTC),
    )
    assert (f.process, f.owner, f.version, f.team) == ("sales_pipeline", "alice", 2, None)
    assert team.report_days(f) == (date(2026, 3, 1), date(2026, 3, 31))
    # Nothing chosen: the last 90 days up to today, where the team is (already April there).
    with time_machine.travel(datetime(2026, 3, 31, 17, tzinfo=UTC), tick=False):
        recent = team.report_filters({})
    assert team.report_days(recent) == (date(2026, 4, 1) - 89 * DAY, date(2026, 4, 1))
    for bad, field in (
        ({"from": "1 March"}, "from"),
        ({"version": "two"}, "version"),
        ({"version": "0"}, "version"),
        ({"owner": "x" * 201}, "owner"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
    ):
        with pytest.raises(ValidationError) as err:
            team.report_filters(bad)
        assert err.value.field == field, bad


def test_reports_are_for_reps_managers_and_admins_costs_for_managers_and_admins(
    deals: Deals, team: Service
) -> None:
    team.add_user("root", ["admin"])
    deals.add(days=[1, 1], owner="alice")
    for reader in ("alice", "mia", "root"):
        report = team.report("funnel", ALL, viewer=reader)
        assert report["report"] == "funnel" and by_stage(report, "entered")["lead"] == 1
        assert team.report_heat(ALL, viewer=reader).deals == 1
    for outsider in ("pete", "lena"):
        with pytest.raises(ForbiddenError):
            team.check_report_reader(outsider)
        with pytest.raises(ForbiddenError):
            team.report("funnel", ALL, viewer=outsider)
        with pytest.raises(ForbiddenError):
            team.report_heat(ALL, viewer=outsider)
    with pytest.raises(NotFoundError):
        team.report("forecast", ALL, viewer="mia")
    with pytest.raises(ForbiddenError):
        team.set_channel_costs({"ads": 100}, actor="alice")
    assert team.channel_costs() == {}
    assert team.set_channel_costs({"ads": "1,000"}, actor="mia") == {"ads": 1000.0}
    assert team.set_channel_costs({"ads": "1,000", "social": 5}, actor="root")["social"] == 5.0
    assert team.channel_costs() == {"ads": 1000.0, "social": 5.0}
