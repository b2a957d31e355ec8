"""My tasks, claim and release, and the task form: refused with errors on their fields and
nothing lost, completed, drafts, and no access to the tasks of deals one may not see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import clock
from engine.store.models import OpenTask
from engine.usecases.service import Service
from webui import tasks as tasks_view

from .conftest import deal_at_needs_analysis, login, open_task, post, text

NEEDS = {
    "main_pain_area": "efficiency",
    "cost_if_persists": "15% of leads lost per quarter",
    "tried_before": "Spreadsheets",
    "decision_makers.0.name": "Wang Lei",
    "decision_makers.0.role": "COO, signs",
    "budget_range.min": "150000",
    "budget_range.max": "300000",
    "action": "complete",
}


def section(page: str, dom_id: str) -> str:
    """The HTML of the fieldset with this id (up to its closing tag)."""
    start = page.index(f'id="{dom_id}"')
    return page[start : page.index("</fieldset>", start)]


def table(page: str) -> str:
    """The rows of the page's list (not the filter options)."""
    return page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""


def test_inbox_shows_my_tasks_and_not_those_of_others(client: FlaskClient, staff: Service) -> None:
    mine = deal_at_needs_analysis(staff, "alice", "Alice Co")
    deal_at_needs_analysis(staff, "bob", "Bob Co")
    login(client, "alice")
    page = text(client.get("/tasks"))
    assert "Alice Co" in page and "Bob Co" not in page
    assert "Needs analysis" in page
    task = open_task(staff, mine, "task_needs_analysis")
    assert f'href="/tasks/{task["task_id"]}"' in page
    # The navigation counts my tasks.
    assert re.search(r'<span class="count" title="assigned to me">1</span>', page)


def test_empty_inbox_says_what_to_do(client: FlaskClient) -> None:
    login(client, "alice")
    page = text(client.get("/tasks"))
    assert "Nothing to do right now" in page and 'href="/deals/new"' in page


def test_queued_task_is_claimed_and_released(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    needs = open_task(staff, deal, "task_needs_analysis")
    from engine.usecases.demo import FORMS

    staff.complete(needs["task_id"], user="alice", data=FORMS["task_needs_analysis"])
    proposal = open_task(staff, deal, "task_design_proposal")
    assert proposal["assignee"] is None  # waits in the product experts' queue
    login(client, "pete")
    page = text(client.get("/tasks"))
    assert "Design proposal" in page and "queue: Product expert" in page
    assert f'action="/tasks/{proposal["task_id"]}/claim"' in page

    response = post(client, f"/tasks/{proposal['task_id']}/claim")
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert open_task(staff, deal, "task_design_proposal")["assignee"] == "pete"
    page = text(client.get("/tasks"))
    assert "The task is yours now: Design proposal." in page
    assert f'action="/tasks/{proposal["task_id"]}/release"' in page

    response = post(client, f"/tasks/{proposal['task_id']}/release")
    assert response.status_code == 302
    assert open_task(staff, deal, "task_design_proposal")["assignee"] is None
    assert "The task is back in the queue" in text(client.get("/tasks"))


def test_claiming_a_task_someone_holds_is_a_conflict(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    from engine.usecases.demo import FORMS

    staff.complete(
        open_task(staff, deal, "task_needs_analysis")["task_id"],
        user="alice",
        data=FORMS["task_needs_analysis"],
    )
    proposal = open_task(staff, deal, "task_design_proposal")
    staff.claim(proposal["task_id"], user="pete")
    login(client, "mia")  # a manager sees every deal
    response = post(client, f"/tasks/{proposal['task_id']}/claim")
    assert response.status_code == 409
    assert "already assigned to pete" in text(response)
    response = post(client, f"/tasks/{proposal['task_id']}/release")
    assert response.status_code == 403


def test_needs_analysis_with_two_pain_points_is_refused_and_nothing_is_lost(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    login(client, "alice")
    form = text(client.get(f"/tasks/{task['task_id']}"))
    # The form as the schema says: 3 pain-point inputs, required in the browser too.
    assert form.count('name="pain_points"') == 4  # 3 inputs and the "add another" copy
    assert 'data-min-items="3"' in form
    assert "Run the standard pain-point survey" in form  # the instructions
    assert "ACME Tools" in form  # the deal's data beside the form

    data = {**NEEDS, "pain_points": ["Quotes take a week", "Leads get lost", ""]}
    response = post(client, f"/tasks/{task['task_id']}", data)
    assert response.status_code == 422
    page = text(response)
    pain = section(page, "f-pain_points")
    assert "Enter at least 3." in pain and "invalid" in page[page.index("f-pain_points") - 40 :]
    assert 'value="Quotes take a week"' in pain and 'value="Leads get lost"' in pain
    for kept in ("15% of leads lost per quarter", "Spreadsheets", "Wang Lei", "COO, signs"):
        assert f'value="{kept}"' in page
    assert 'value="150000"' in page and 'value="300000"' in page
    assert re.search(r'value="efficiency"\s+checked', page)
    # Only the pain points are wrong: no other field carries an error.
    assert page.count('class="field-errors"') == 1
    assert open_task(staff, deal, "task_needs_analysis")["task_id"] == task["task_id"]


def test_needs_analysis_with_three_pain_points_completes_and_the_chart_moves_on(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    login(client, "alice")
    data = {**NEEDS, "pain_points": ["Quotes take a week", "Leads get lost", "No overview"]}
    response = post(client, f"/tasks/{task['task_id']}", data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/deals/{deal}"
    page = text(client.get(f"/deals/{deal}"))
    assert "Done: Needs analysis." in page
    assert 'id="task_design_proposal" class="node userTask state-ready"' in page
    assert 'id="task_needs_analysis" class="node userTask state-completed"' in page
    proposal = open_task(staff, deal, "task_design_proposal")
    # The ready task in the chart opens its form.
    assert (
        f'<a href="/tasks/{proposal["task_id"]}" class="chart-link"><g id="task_design_proposal"'
        in page
    )
    shown = staff.show(deal)["data"]
    assert shown["pain_points"] == ["Quotes take a week", "Leads get lost", "No overview"]
    assert shown["budget_range"] == {"min": 150000, "max": 300000}
    assert shown["decision_makers"] == [{"name": "Wang Lei", "role": "COO, signs"}]


def test_a_number_that_is_not_a_number_is_shown_back_with_its_error(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    login(client, "alice")
    data = {**NEEDS, "pain_points": ["a", "b", ""], "budget_range.min": "lots"}
    response = post(client, f"/tasks/{task['task_id']}", data)
    assert response.status_code == 422
    page = text(response)
    assert 'value="lots"' in page and "Enter a number." in page
    assert "Enter at least 3." in page  # the other errors show at the same time
    assert open_task(staff, deal, "task_needs_analysis")["task_id"] == task["task_id"]


def test_draft_is_kept_until_the_task_is_completed(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    url = f"/tasks/{task['task_id']}"
    login(client, "alice")
    draft = {
        "pain_points": ["Slow quotes", "", ""],
        "cost_if_persists": "Half a day",
        "action": "draft",
    }
    response = post(client, url, draft)
    assert response.status_code == 302 and response.headers["Location"] == url
    page = text(client.get(url))
    assert "Draft saved." in page and "Your saved draft is filled in." in page
    assert 'value="Slow quotes"' in page and 'value="Half a day"' in page
    # Nothing reached the engine.
    assert "pain_points" not in staff.show(deal)["data"]

    saved = staff.draft(task["task_id"], user="alice")
    assert saved is not None and saved["data"]["cost_if_persists"] == ["Half a day"]
    data = {**NEEDS, "pain_points": ["a", "b", "c"]}
    assert post(client, url, data).status_code == 302
    assert staff.draft(task["task_id"], user="alice") is None


def test_a_long_draft_is_kept_outside_the_cookie(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    task_id = open_task(staff, deal, "task_needs_analysis")["task_id"]
    url = f"/tasks/{task_id}"
    login(client, "alice")
    long_text = "Quotes take a week. " * 1000  # 20,000 characters: no cookie holds that
    response = post(client, url, {"cost_if_persists": long_text, "action": "draft"})
    assert response.status_code == 302
    assert len(response.headers.get("Set-Cookie", "")) < 4096
    page = text(client.get(url))
    assert "Draft saved." in page and "Your saved draft is filled in." in page
    assert long_text.strip() in page
    # Only an absurd size is refused; the draft saved before stays.
    absurd = {"cost_if_persists": "x" * 300_000, "action": "draft"}
    assert post(client, url, absurd).status_code == 302
    page = text(client.get(url))
    assert "This draft is too long" in page and long_text.strip() in page


def test_the_draft_follows_the_user_to_another_browser(app: Flask, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    url = f"/tasks/{open_task(staff, deal, 'task_needs_analysis')['task_id']}"
    office, phone = app.test_client(), app.test_client()
    login(office, "alice")
    draft = {"pain_points": ["Slow quotes", "No CRM", ""], "action": "draft"}
    assert post(office, url, draft).status_code == 302
    post(office, "/logout")

    login(phone, "alice")
    page = text(phone.get(url))
    assert "Your saved draft is filled in." in page
    assert 'value="Slow quotes"' in page and 'value="No CRM"' in page
    # Another user on the same task sees none of it (a manager reads the form only).
    manager = app.test_client()
    login(manager, "mia")
    page = text(manager.get(url))
    assert "Your saved draft is filled in." not in page and "Slow quotes" not in page


def test_the_task_of_a_deal_one_may_not_see_is_not_found(
    client: FlaskClient, staff: Service
) -> None:
    bobs = deal_at_needs_analysis(staff, "bob", "Bob Co")
    task = open_task(staff, bobs, "task_needs_analysis")
    login(client, "alice")
    for url in (f"/tasks/{task['task_id']}",):
        assert client.get(url).status_code == 404
    data = {**NEEDS, "pain_points": ["a", "b", "c"]}
    assert post(client, f"/tasks/{task['task_id']}", data).status_code == 404
    assert post(client, f"/tasks/{task['task_id']}/claim").status_code == 404
    assert post(client, f"/tasks/{task['task_id']}/release").status_code == 404
    assert client.get("/tasks/not-a-task").status_code == 404
    assert open_task(staff, bobs, "task_needs_analysis")["task_id"] == task["task_id"]


def test_a_manager_reads_a_reps_task_but_may_not_complete_it(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    login(client, "mia")
    page = text(client.get(f"/tasks/{task['task_id']}"))
    assert "You can read this task but not complete it" in page
    assert re.search(r'<fieldset class="plain"\s+disabled>', page)
    data = {**NEEDS, "pain_points": ["a", "b", "c"]}
    response = post(client, f"/tasks/{task['task_id']}", data)
    assert response.status_code == 403
    assert "assigned to alice" in text(response)


def test_completing_twice_says_who_did_it(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    login(client, "alice")
    data = {**NEEDS, "pain_points": ["a", "b", "c"]}
    assert post(client, f"/tasks/{task['task_id']}", data).status_code == 302
    again = post(client, f"/tasks/{task['task_id']}", data)
    assert again.status_code == 409
    assert "This task was completed by Alice Rep on" in text(again)
    assert "What you entered was not saved: nothing was changed." in text(again)


def test_due_and_overdue_tasks_come_first_and_are_marked(
    client: FlaskClient, staff: Service, app: Flask
) -> None:
    first = deal_at_needs_analysis(staff, "alice", "Later Co")
    second = deal_at_needs_analysis(staff, "alice", "Late Co")
    third = deal_at_needs_analysis(staff, "alice", "No Hurry Co")
    now = clock.now()
    with staff.db.write() as s:
        for deal, due in ((first, now + timedelta(days=2)), (second, now - timedelta(hours=1))):
            row = s.scalars(select(OpenTask).where(OpenTask.instance_id == int(deal))).one()
            row.due_at = due
    login(client, "alice")
    page = text(client.get("/tasks"))
    assert page.index("Late Co") < page.index("Later Co") < page.index("No Hurry Co")
    assert '<tr class="overdue">' in page and '<tr class="due">' in page
    assert third  # the task without a due time is listed last, unmarked


def test_inbox_filters_by_stage_deal_and_process(client: FlaskClient, staff: Service) -> None:
    needs = deal_at_needs_analysis(staff, "alice", "Needs Co")
    staff.start(
        "sales_pipeline",
        owner="alice",
        data={
            "company": "Fresh Co",
            "contact": "X",
            "source_channel": "ads",
            "annual_revenue": 9_000_000,
            "intent": "high",
        },
    )
    login(client, "alice")
    page = table(text(client.get("/tasks?stage=needs")))
    assert "Needs Co" in page and "Fresh Co" not in page
    page = table(text(client.get(f"/tasks?deal={needs}")))
    assert "Needs Co" in page and "Fresh Co" not in page
    page = table(text(client.get("/tasks?process=sales_pipeline")))
    assert "Needs Co" in page and "Fresh Co" in page
    page = text(client.get("/tasks?process=optimization_initiative"))
    assert "No task matches these filters." in page


def test_inbox_is_paged_in_due_order_and_searched_by_deal_name(
    client: FlaskClient, staff: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks_view, "INBOX_PAGE", 2)
    names = ["Acme One", "Acme Two", "Bolt Three", "Bolt Four", "Bolt Five"]
    for name in names:
        deal_at_needs_analysis(staff, "alice", name)
    login(client, "alice")
    shown = []
    for page_number in (1, 2, 3):
        page = text(client.get(f"/tasks?page={page_number}"))
        assert f"Page {page_number} of 3" in page and "5 tasks" in page
        shown += [n for n in names if n in table(page)]
        assert ('rel="next"' in page) == (page_number < 3)
        assert ('rel="prev"' in page) == (page_number > 1)
    # Every task once, oldest first (none has a due time).
    assert shown == names
    page = text(client.get("/tasks?q=bolt&page=2"))
    assert [n for n in names if n in table(page)] == ["Bolt Five"]
    assert "Page 2 of 2" in page and 'href="/tasks?page=1&amp;q=bolt"' in page
