"""The settings page: admins only, every field kept, bad values named in the user's
language with nothing saved, and the SLA clock follows what was saved."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient

from engine.store import team_settings as settings
from engine.usecases.service import Service

from .conftest import csrf_token, deal_at_needs_analysis, login, open_task, post, text

FORM: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "hours_mode": "business",
    "weekdays": ["0", "1", "2", "3", "4"],
    "opens": "09:00",
    "closes": "18:00",
    "holidays": "2026-10-01..2026-10-07\n2026-01-01",
    "workdays": "2026-09-27",
    # As the page sends them: every stage, empty for never.
    **{f"stale_{stage}": "7" for stage in ("lead", "qualification", "negotiation", "contract")},
    **{f"stale_{stage}": "" for stage in ("won", "lost", "after_sales")},
    "stale_needs": "3",
    "stale_contact": "",
    "stale_proposal": "10",
    "digest_time": "08:30",
}


@pytest.mark.parametrize("user", ["alice", "mia", "dora"])
def test_only_admins_see_the_settings(client: FlaskClient, user: str) -> None:
    login(client, user)
    assert client.get("/settings").status_code == 403
    assert post(client, "/settings", FORM).status_code == 403
    assert 'href="/settings"' not in text(client.get("/tasks"))


def test_the_defaults_are_a_24_7_clock_and_7_days(client: FlaskClient) -> None:
    login(client, "root")
    assert 'href="/settings"' in text(client.get("/tasks"))
    page = text(client.get("/settings"))
    assert 'value="UTC"' in page
    assert 'name="hours_mode" value="always" checked' in page
    assert 'name="stale_needs" type="number" min="1" max="3650" value="7"' in page
    assert 'name="stale_after_sales" type="number" min="1" max="3650" value=""' in page


def test_admin_saves_the_settings(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    response = post(client, "/settings", FORM)
    assert response.status_code == 302 and response.headers["Location"] == "/settings"
    assert "Settings saved." in text(client.get("/settings"))
    saved = settings.load(staff.db)
    assert saved["timezone"] == "Asia/Shanghai"
    assert saved["business_hours"] == {
        "weekdays": [0, 1, 2, 3, 4],
        "opens": "09:00",
        "closes": "18:00",
    }
    assert saved["holidays"][0] == "2026-01-01" and len(saved["holidays"]) == 8
    assert saved["workdays"] == ["2026-09-27"]
    assert saved["stale_days"]["needs"] == 3 and saved["stale_days"]["contact"] is None
    assert saved["stale_days"]["proposal"] == 10 and saved["stale_days"]["lead"] == 7
    assert saved["digest_time"] == "08:30"
    # The page shows them again, the holidays folded into ranges.
    page = text(client.get("/settings"))
    assert "2026-01-01\n2026-10-01..2026-10-07</textarea>" in page
    assert 'name="hours_mode" value="business" checked' in page
    assert 'name="weekdays" value="5" >' in page and 'name="weekdays" value="4" checked' in page

    # Back to round the clock.
    post(client, "/settings", {**FORM, "hours_mode": "always"})
    assert settings.load(staff.db)["business_hours"] is None


def test_the_sla_clock_follows_the_saved_settings(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    post(client, "/settings", FORM)
    shanghai = ZoneInfo("Asia/Shanghai")
    # Ready Wednesday 30 September 17:00; the golden week and the weekend are off: Wednesday's
    # last hour, Thursday 8, Friday 9, and Monday 12 October until 17:00 make 3 working days.
    with time_machine.travel(datetime(2026, 9, 30, 17, 0, tzinfo=shanghai), tick=False):
        deal = deal_at_needs_analysis(staff)
    due = open_task(staff, deal, "task_needs_analysis")["due_at"]
    assert datetime.fromisoformat(due) == datetime(2026, 10, 12, 17, 0, tzinfo=shanghai)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("timezone", "Mars/Olympus", "Enter a time zone such as Asia/Shanghai."),
        ("closes", "08:00", "Choose a weekday and an opening time before the closing time."),
        ("weekdays", [], "Choose a weekday and an opening time before the closing time."),
        ("holidays", "2026-02-30", "Enter one date or range per line"),
        ("stale_needs", "0", "Enter 1 to 3650 days, or nothing for never."),
        ("stale_needs", "soon", "Enter 1 to 3650 days, or nothing for never."),
        ("digest_time", "8 am", "Enter a time of day such as 08:00."),
    ],
)
def test_bad_values_are_named_and_nothing_is_saved(
    client: FlaskClient, staff: Service, field: str, value: Any, problem: str
) -> None:
    login(client, "root")
    response = post(client, "/settings", {**FORM, field: value})
    assert response.status_code == 422
    page = text(response)
    assert problem in page
    assert "Nothing was saved" in page
    assert settings.load(staff.db)["timezone"] == "UTC"  # not even the good fields
    # What was typed is shown again.
    if isinstance(value, str) and value:
        assert value in page


def test_errors_in_chinese(client: FlaskClient) -> None:
    login(client, "root")
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(post(client, "/settings", {**FORM, "timezone": "Nowhere"}))
    assert "请输入时区" in page and "节假日" in page and "调休上班日" in page


def test_the_form_needs_its_csrf_token(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    csrf_token(client, "/settings")
    response = client.post("/settings", data=FORM)
    assert response.status_code == 400
    assert settings.load(staff.db)["timezone"] == "UTC"


def test_the_time_zone_is_chosen_from_the_iana_list(client: FlaskClient) -> None:
    login(client, "root")
    page = text(client.get("/settings"))
    choice = page[
        page.index('<select id="timezone"') : page.index(
            "</select>", page.index('<select id="timezone"')
        )
    ]
    assert '<option value="Asia/Shanghai"' in choice and '<option value="Africa/Nairobi"' in choice
    assert '<input id="timezone"' not in page  # no free text
    assert choice.count("<option") > 300
