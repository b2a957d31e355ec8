"""A team that has not chosen a time zone gets the machine's (issue 14: times in the team's
time zone, defaulting to the machine's), spelt as an IANA name."""

from __future__ import annotations

import pytest

from engine.store.team_settings import machine_zone


def test_tz_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    assert machine_zone() == "Asia/Shanghai"
    monkeypatch.setenv("TZ", ":Asia/Taipei")  # the glibc spelling
    assert machine_zone() == "Asia/Taipei"


def test_utc_spellings_read_as_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Etc/UTC")
    assert machine_zone() == "UTC"


def test_an_unknown_tz_falls_back_to_the_system_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Mars/Olympus_Mons")
    found = machine_zone()
    assert found != "Mars/Olympus_Mons"
    from zoneinfo import ZoneInfo

    ZoneInfo(found)  # a real zone
