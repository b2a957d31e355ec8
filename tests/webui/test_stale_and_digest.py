"""Stale and escalated deals on the pages (list, filter, board, deal page, chart) and the
"Today" page (the daily digest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from flask.testing import FlaskClient

from engine.jobs.escalation import escalate_due
from engine.usecases.demo import WON, drive
from engine.usecases.service import Service

from .conftest import deal_at_needs_analysis, login, open_task, post, text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
STALE_BADGE = '<span class="badge stale"'


def rows(page: str) -> str:
    return page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""


def row_of(page: str, name: str) -> str:
    start = page.index(name)
    return page[start : page.index("</tr>", start)]


def test_stale_deals_are_flagged_and_filtered_in_the_list(
    client: FlaskClient, staff: Service
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        quiet = deal_at_needs_analysis(staff, "alice", "Quiet Co")
        busy = deal_at_needs_analysis(staff, "alice", "Busy Co")
        clock.move_to(T0 + timedelta(days=6))
        staff.comment(busy, user="alice", text="Sent the survey again.")
        clock.move_to(T0 + timedelta(days=8))
        login(client, "alice")
        page = text(client.get("/deals"))
        assert STALE_BADGE in row_of(page, "Quiet Co")
        assert STALE_BADGE not in row_of(page, "Busy Co")

        only = rows(text(client.get("/deals?stale=1")))
        assert "Quiet Co" in only and "Busy Co" not in only
        filtered = text(client.get("/deals?stale=1"))
        assert 'name="stale" value="1" checked' in filtered
        # Filters combine; a deal alice may not see stays out even when stale.
        assert "Quiet Co" not in rows(text(client.get("/deals?stale=1&stage=proposal")))
        deal_at_needs_analysis(staff, "bob", "Bob's Quiet Co")
        clock.move_to(T0 + timedelta(days=16))
        login(client, "alice")
        only = rows(text(client.get("/deals?stale=1")))
        assert "Bob" not in only and "Quiet Co" in only and "Busy Co" in only
        assert quiet != busy


def test_board_cards_show_the_stale_badge(client: FlaskClient, staff: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        deal_at_needs_analysis(staff, "alice", "Quiet Co")
        clock.move_to(T0 + timedelta(days=3))
        deal_at_needs_analysis(staff, "alice", "Fresh Co")
        clock.move_to(T0 + timedelta(days=8))
        login(client, "alice")
        page = text(client.get("/deals/board"))
        quiet = page[page.index("Quiet Co") : page.index("</a>", page.index("Quiet Co"))]
        fresh = page[page.index("Fresh Co") : page.index("</a>", page.index("Fresh Co"))]
        assert STALE_BADGE in quiet and STALE_BADGE not in fresh


def test_the_deal_page_shows_the_due_time_and_the_escalation(
    client: FlaskClient, staff: Service
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        deal = deal_at_needs_analysis(staff, "alice", "Slow Co")
        login(client, "alice")
        page = text(client.get(f"/deals/{deal}"))
        # In the team's time zone (UTC unless set) and the reader's words (Babel).
        assert "due Mar 5, 2026 9:00\u202fAM" in page  # Babel's narrow space before AM
        assert '<span class="badge escalated"' not in page
        # The chart labels the open task with its due time too (beside the idle timer's,
        # due at the same moment).  Graphviz writes "-" as "&#45;".
        svg = text(client.get(f"/deals/{deal}/chart.svg"))
        assert svg.count("due 2026&#45;03&#45;05 09:00 UTC") == 2

        clock.move_to(T0 + timedelta(days=3, minutes=1))
        assert escalate_due(staff.db) == 1
        login(client, "alice")
        page = text(client.get(f"/deals/{deal}"))
        assert "escalated to Sales manager" in page
        assert 'title="escalated Mar 5, 2026 9:01\u202fAM">escalated</span>' in page
        # The rep can still complete the task; afterwards the deal is no longer flagged.
        task = open_task(staff, deal, "task_needs_analysis")
        assert 'class="button small primary"' in page and task["assignee"] == "alice"
        drive(staff, deal, WON[2:3])
        page = text(client.get(f"/deals/{deal}"))
        assert "Design proposal" in page and '<span class="badge escalated"' not in page


def test_today_lists_my_due_tasks_stale_deals_and_timers(
    client: FlaskClient, staff: Service
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        deal = deal_at_needs_analysis(staff, "alice", "Alice Co")
        deal_at_needs_analysis(staff, "bob", "Bob Co")
        login(client, "alice")
        page = text(client.get("/digest"))
        assert 'href="/digest" aria-current="page"' in page
        assert "Nothing is due today." in page
        assert "None of your deals has gone quiet." in page

        clock.move_to(T0 + timedelta(days=2, hours=12))  # the idle timer fires in 12 hours
        login(client, "alice")
        page = text(client.get("/digest"))
        assert "Idle 3 days" in page and f'href="/deals/{deal}"' in page

        clock.move_to(T0 + timedelta(days=8))
        login(client, "alice")
        page = text(client.get("/digest"))
        task = open_task(staff, deal, "task_needs_analysis")
        assert f'href="/tasks/{task["task_id"]}"' in page
        assert '<span class="badge due-overdue">5 days overdue</span>' in page
        assert "no activity for 8 days" in page
        assert "Bob Co" not in page

        post(client, "/language", {"lang": "zh-Hans"})
        page = text(client.get("/digest"))
        assert "今天到期或已逾期的任务" in page and "已 8 天没有跟进" in page


def test_today_needs_a_log_in(client: FlaskClient) -> None:
    response = client.get("/digest")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
