"""The team's settings as use cases (SettingCases on Service): admins read and change them,
every value checked, all of them stored or none."""

from __future__ import annotations

import pytest

from engine.errors import ForbiddenError, ValidationError
from engine.usecases.service import Service


def test_only_admins_read_and_change_the_team_settings(team: Service) -> None:
    team.add_user("root", ["admin"])
    assert team.team_settings(user="root")["timezone"] == "UTC"
    for other in ("mia", "alice"):
        with pytest.raises(ForbiddenError):
            team.team_settings(user=other)
        with pytest.raises(ForbiddenError):
            team.save_team_settings({"timezone": "Asia/Shanghai"}, user=other)
    assert team.team_settings(user="root")["timezone"] == "UTC"
    saved = team.save_team_settings(
        {"timezone": "Asia/Shanghai", "stale_days": {"needs": "3"}}, user="root"
    )
    assert (saved["timezone"], saved["stale_days"]["needs"]) == ("Asia/Shanghai", 3)
    assert team.team_settings(user="root") == saved


def test_every_bad_setting_is_named_and_none_is_stored(team: Service) -> None:
    team.add_user("root", ["admin"])
    with pytest.raises(ValidationError) as err:
        team.save_team_settings(
            {"timezone": "Mars/Olympus", "digest_time": "25:00", "holidays": "2026-10-01"},
            user="root",
        )
    assert {e["field"] for e in err.value.errors} == {"timezone", "digest_time"}
    stored = team.team_settings(user="root")
    assert (stored["timezone"], stored["digest_time"], stored["holidays"]) == ("UTC", "08:00", [])
