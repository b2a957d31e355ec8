# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese pages
"""Issue 14's humane pages: a stale link to a task that is no longer open says what became of
it (who completed it and when, or that the deal was lost) with a link to the deal, in the
reader's language, and a stale form changes nothing."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.usecases.demo import FORMS
from engine.usecases.service import Service

from .conftest import deal_at_needs_analysis, login, open_task, post, text


def test_a_stale_link_to_a_completed_task_says_who_completed_it(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    staff.complete(task["task_id"], user="alice", data=FORMS["task_needs_analysis"])
    before = staff.show(deal)["history"]
    login(client, "alice")
    page = client.get(f"/tasks/{task['task_id']}")
    body = text(page)
    assert page.status_code == 409
    assert "This task was completed by Alice Rep on" in body
    assert "Changed meanwhile" not in body
    assert f'href="/deals/{deal}"' in body and "Open the deal ACME Tools" in body
    assert "not saved" not in body  # nothing was submitted
    # Its form sent again: the same page, and nothing changed.
    again = post(client, f"/tasks/{task['task_id']}", {"main_pain_area": "cost"})
    assert again.status_code == 409
    assert "This task was completed by Alice Rep on" in text(again)
    assert "What you entered was not saved: nothing was changed." in text(again)
    assert staff.show(deal)["history"] == before
    # Claiming it from an old inbox page: the same.
    claimed = post(client, f"/tasks/{task['task_id']}/claim")
    assert claimed.status_code == 409 and "completed by Alice Rep" in text(claimed)


def test_the_task_of_a_lost_deal_says_who_lost_it_in_chinese(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    reason = staff.lost_reasons("sales_pipeline")[0]["value"]
    staff.mark_lost(deal, user="mia", reason=reason)
    login(client, "alice")
    post(client, "/language", {"lang": "zh-Hans", "next": "/tasks"})
    body = text(client.get(f"/tasks/{task['task_id']}"))
    assert "需求分析" in body  # the task's name in Chinese
    assert "此任务已关闭：商机已由" in body and "标记为丢单" in body
    assert f"原因：{reason}" in body
    assert "打开商机「ACME Tools」" in body


def test_a_task_of_a_deal_one_may_not_see_is_not_found(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff, owner="alice")
    task = open_task(staff, deal, "task_needs_analysis")
    staff.complete(task["task_id"], user="alice", data=FORMS["task_needs_analysis"])
    login(client, "bob")
    page = client.get(f"/tasks/{task['task_id']}")
    assert page.status_code == 404 and "Alice" not in text(page)
