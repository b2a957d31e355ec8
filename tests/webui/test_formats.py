"""Numbers, money, times and due dates in the reader's words and the team's time zone
(webui.formats, Babel) — issue 14, "Their language, everywhere"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from flask import Flask

from engine.usecases.service import Service
from webui import formats
from webui.i18n import CHINESE, ENGLISH, _use

NOW = datetime(2026, 12, 6, 11, 34, tzinfo=UTC)  # 19:34 in Shanghai


@contextmanager
def reading(app: Flask, lang: str) -> Iterator[None]:
    with app.test_request_context("/"):
        _use(lang)
        yield


@pytest.fixture
def shanghai(app: Flask, staff: Service) -> Flask:
    staff.save_team_settings({"timezone": "Asia/Shanghai"}, user="root")
    return app


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (ENGLISH, ("¥240,000", "¥1,234.50", "12,000,000")),
        (CHINESE, ("¥240,000", "¥1,234.50", "12,000,000")),
    ],
)
def test_money_and_numbers(app: Flask, lang: str, expected: tuple[str, str, str]) -> None:
    with reading(app, lang):
        assert (
            formats.money(240_000),
            formats.money(1234.5),
            formats.number(12_000_000),
        ) == expected
        assert formats.money(None) == "—"


def test_times_in_the_team_zone_and_the_readers_words(shanghai: Flask) -> None:
    with reading(shanghai, ENGLISH):
        assert formats.when(NOW.isoformat()) == "Dec 6, 2026 7:34\u202fPM"
        assert formats.ago("2026-12-03T11:34:00+00:00", now=NOW) == "3 days ago"
    with reading(shanghai, CHINESE):
        assert formats.when(NOW.isoformat()) == "2026年12月6日 19:34"
        assert formats.ago("2026-12-03T11:34:00+00:00", now=NOW) == "3天前"


@pytest.mark.parametrize(
    ("due_at", "english", "chinese", "state"),
    [
        ("2026-12-09T02:00:00+00:00", "due in 3 days", "3天后到期", "later"),
        ("2026-12-06T15:00:00+00:00", "due today", "今天到期", "today"),  # 23:00 in Shanghai
        ("2026-12-04T01:00:00+00:00", "2 days overdue", "逾期2天", "overdue"),
        ("2026-12-06T10:00:00+00:00", "overdue", "已逾期", "overdue"),  # earlier today
    ],
)
def test_due_dates_read_as_words_with_a_state(
    shanghai: Flask, due_at: str, english: str, chinese: str, state: str
) -> None:
    with reading(shanghai, ENGLISH):
        assert formats.due(due_at, now=NOW) == {"text": english, "state": state}
    with reading(shanghai, CHINESE):
        assert formats.due(due_at, now=NOW) == {"text": chinese, "state": state}
