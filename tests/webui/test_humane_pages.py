# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese pages
"""Issue 14's humane pages: a stale link to a task that is no longer open says what became of
it (who completed it and when, or that the deal was lost) with a link to the deal, in the
reader's language, and a stale form changes nothing."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.usecases.demo import BIG_DISCOUNT, FORMS, drive
from engine.usecases.service import Service

from .conftest import LEAD, deal_at_needs_analysis, login, open_task, post, text
from .test_tasks import NEEDS, section


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


# --- an approval refused: choices, not a checkbox; the comment on the reopened task ----------


def deal_at_approval(service: Service) -> str:
    deal = service.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    drive(service, deal["instance_id"], BIG_DISCOUNT[:5])
    return str(deal["instance_id"])


def test_the_manager_chooses_approve_or_send_back_and_the_rep_reads_why(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_approval(staff)
    approval = open_task(staff, deal, "task_approve_discount")
    login(client, "mia")
    page = text(client.get(f"/tasks/{approval['task_id']}"))
    radios = section(page, "f-discount_approved")
    assert 'type="radio" name="discount_approved" value="true"' in radios
    assert 'type="radio" name="discount_approved" value="false"' in radios
    assert "> Approve</label>" in radios and "> Send back</label>" in radios
    assert 'type="checkbox" name="discount_approved"' not in page
    # No choice made: refused on the field, not taken as "send back".
    refused = post(client, f"/tasks/{approval['task_id']}", {"action": "complete"})
    assert refused.status_code == 422
    assert "This field is required." in section(text(refused), "f-discount_approved")
    assert open_task(staff, deal, "task_approve_discount")
    sent = post(
        client,
        f"/tasks/{approval['task_id']}",
        {
            "discount_approved": "false",
            "approval_comment": "Price too low: 5% at most",
            "action": "complete",
        },
    )
    assert sent.status_code == 302
    assert staff.show(deal)["data"]["discount_approved"] is False  # what the process reads
    quote = open_task(staff, deal, "task_prepare_quote")
    post(client, "/logout")
    login(client, "alice")
    page = text(client.get(f"/tasks/{quote['task_id']}"))
    box = page[page.index('id="sent-back"') : page.index("</div>", page.index('id="sent-back"'))]
    assert "Sent back by Mia" in box or "Sent back by mia" in box
    assert "<blockquote>Price too low: 5% at most</blockquote>" in box
    assert page.index('id="sent-back"') < page.index('class="schema-form"')
    bell = text(client.get("/notifications"))
    assert "Price too low: 5% at most" in bell


def test_the_choices_are_in_chinese(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_approval(staff)
    approval = open_task(staff, deal, "task_approve_discount")
    login(client, "mia")
    post(client, "/language", {"lang": "zh-Hans", "next": "/tasks"})
    radios = section(text(client.get(f"/tasks/{approval['task_id']}")), "f-discount_approved")
    assert "> 批准</label>" in radios and "> 退回</label>" in radios


# --- cross-field rules: the same message on the page as from the engine --------------------


def test_a_budget_maximum_below_the_minimum_is_refused_on_its_field(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    login(client, "alice")
    page = text(client.get(f"/tasks/{task['task_id']}"))
    assert "data-rules='[{&#34;field&#34;: &#34;budget_range.max&#34;" in page or (
        'data-rules=\'[{"field": "budget_range.max"' in page
    )
    data = {**NEEDS, "pain_points": ["a", "b", "c"], "budget_range.min": "400000"}
    refused = post(client, f"/tasks/{task['task_id']}", data)
    assert refused.status_code == 422
    group = text(refused)
    field = group[group.index('id="f-budget_range-max"') :]
    assert field.index("The maximum budget is below the minimum") < field.index("</div>")
    post(client, "/language", {"lang": "zh-Hans", "next": "/tasks"})
    chinese = text(post(client, f"/tasks/{task['task_id']}", data))
    assert "最高预算低于最低预算：此处请填写最高的金额。" in chinese
    assert "最高预算低于最低预算" in chinese[chinese.index("data-rules=") :]
    assert open_task(staff, deal, "task_needs_analysis")["task_id"] == task["task_id"]
