"""Optimisation initiatives on the web: the list and starting one, the execution table edited
in place (one save for the whole table, all rows or none; CSRF on every POST), who may change
what, the weekly review marking blocked and flagged rows, the CSV, the printable view, the
effect table, the JSON API round trip and the Chinese UI."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import ROOT
from tests.engine.test_initiatives import to_execution
from tests.webui.test_api import conforms, error_of

from .conftest import LEAD, login, post, text

API = "/api/v1"


def page_text(response: Any) -> str:
    return html.unescape(text(response))


def start(service: Service, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "name": "Faster needs analysis",
        "process_id": "sales_pipeline",
        "lead": "mia",
        "actor": "mia",
        **kw,
    }
    return service.create_initiative(**args)


def row(service: Service, ini: dict[str, Any], **fields: Any) -> dict[str, Any]:
    sent = {"stage": "Needs analysis", "task": "Pain-point survey", "owner": "alice", **fields}
    return service.add_initiative_row(ini["id"], sent, actor="mia")


def forms_of(page: str) -> set[tuple[str, str]]:
    """(row id, field name) of every field on the page that belongs to the table's form (named
    "<row id>.<field>"), its hidden markers left out."""
    found = set()
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        form, name = re.search(r'form="([^"]+)"', tag), re.search(r'name="([^"]+)"', tag)
        if form and name and form.group(1) == "table-form" and "." in name.group(1):
            row_id, field = name.group(1).split(".", 1)
            if not field.endswith("_sent"):
                found.add((row_id, field))
    return found


# --- pages -----------------------------------------------------------------------------------


def test_managers_start_initiatives_everyone_reads_them(
    client: FlaskClient, staff: Service
) -> None:
    login(client, "mia")
    page = page_text(client.get("/initiatives"))
    assert "Start an initiative" in page and 'href="/initiatives"' in page  # the navigation
    answer = post(
        client,
        "/initiatives",
        {
            "name": "Faster needs analysis",
            "process_id": "sales_pipeline",
            "lead": "mia",
            "effective_at": "2026-03-02",
        },
    )
    assert answer.status_code == 302
    [made] = staff.initiatives()
    assert answer.headers["Location"] == f"/initiatives/{made['id']}"
    assert made["effective_at"] == "2026-03-02T00:00:00+00:00"
    page = page_text(client.get(answer.headers["Location"]))
    assert "Faster needs analysis" in page and "The table is empty" in page
    assert "Add a row" in page and "Record the weekly review" in page
    # A lead who is no sales manager: refused on its field, nothing started.
    refused = post(
        client, "/initiatives", {"name": "Other", "process_id": "sales_pipeline", "lead": "alice"}
    )
    assert refused.status_code == 422
    form = page_text(refused)
    assert 'aria-describedby="lead-error"' in form and "Sales Manager role" in form
    assert len(staff.initiatives()) == 1
    post(client, "/logout")
    login(client, "alice")
    page = page_text(client.get("/initiatives"))
    assert "Faster needs analysis" in page and "Start an initiative" not in page
    assert (
        post(client, "/initiatives", {"name": "x", "process_id": "sales_pipeline"}).status_code
        == 403
    )
    shown = page_text(client.get(f"/initiatives/{made['id']}"))
    assert "Add a row" not in shown and "Record the weekly review" not in shown
    assert client.get("/initiatives/999").status_code == 404


def test_the_execution_table_is_edited_in_place(client: FlaskClient, staff: Service) -> None:
    ini = start(staff)
    login(client, "mia")
    added = post(
        client,
        f"/initiatives/{ini['id']}/rows",
        {
            "stage": "Needs analysis",
            "task": "Pain-point survey",
            "owner": "alice",
            "planned_date": "2026-03-05",
            "status": "not started",
            "notes": "",
            "contact": "",
            "elements": ["task_needs_analysis", "task_initial_contact"],
            "elements_sent": "1",
        },
    )
    assert added.status_code == 302
    [made] = staff.initiative(ini["id"])["rows"]
    assert made["elements"] == ["task_needs_analysis", "task_initial_contact"]
    page = page_text(client.get(f"/initiatives/{ini['id']}"))
    fid = str(made["id"])
    assert {name for form, name in forms_of(page) if form == fid} == {
        "stage", "task", "owner", "planned_date", "actual_date", "status", "notes", "contact",
        "elements",
    }  # fmt: skip
    assert '<form id="table-form" method="post"' in page
    url = f"/initiatives/{ini['id']}/rows/{made['id']}"
    # A team as the owner: refused on the row, with what was typed kept.
    bad = post(client, url, {"task": "Survey v2", "owner": "Sales Rep", "elements_sent": "1"})
    assert bad.status_code == 422
    assert "not a person" in page_text(bad) and "Survey v2" in page_text(bad)
    assert staff.initiative(ini["id"])["rows"][0]["task"] == "Pain-point survey"
    # Nothing chosen in the multiple select: the links go.
    saved = post(client, url, {"task": "Survey v2", "owner": "bob", "elements_sent": "1"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"#row-{made['id']}")
    now = staff.initiative(ini["id"])["rows"][0]
    assert (now["task"], now["owner"], now["elements"], now["stage"]) == (
        "Survey v2",
        "bob",
        [],
        "Needs analysis",
    )
    # No CSRF token: refused, nothing changed.
    assert client.post(url, data={"task": "Sneaky"}).status_code == 400
    assert staff.initiative(ini["id"])["rows"][0]["task"] == "Survey v2"


def test_the_whole_table_is_saved_at_once_all_rows_or_none(
    client: FlaskClient, staff: Service
) -> None:
    ini = start(staff)
    first = row(staff, ini, task="Pain-point survey")
    second = row(staff, ini, owner="bob", task="Objection table")
    third = row(staff, ini, task="Untouched")
    login(client, "mia")
    url = f"/initiatives/{ini['id']}/table"

    def table(**changes: str) -> dict[str, str]:
        sent: dict[str, str] = {}
        for r in staff.initiative(ini["id"])["rows"]:
            for key in ("stage", "task", "owner", "status", "notes", "contact"):
                sent[f"{r['id']}.{key}"] = r[key]
            sent[f"{r['id']}.planned_date"] = r["planned_date"] or ""
            sent[f"{r['id']}.actual_date"] = r["actual_date"] or ""
        return {**sent, **changes}

    # Two rows changed in one save; the third, sent as it was, keeps its time.
    before = {r["id"]: r for r in staff.initiative(ini["id"])["rows"]}
    answer = post(
        client,
        url,
        table(**{f"{first['id']}.status": "in progress", f"{second['id']}.notes": "Draft sent"}),
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#table")
    after = {r["id"]: r for r in staff.initiative(ini["id"])["rows"]}
    assert after[first["id"]]["status"] == "in progress"
    assert after[second["id"]]["notes"] == "Draft sent"
    assert after[third["id"]]["updated_at"] == before[third["id"]]["updated_at"]
    assert "2 row(s) saved." in page_text(client.get(f"/initiatives/{ini['id']}"))

    # A bad field on one row: nothing is saved, each bad row is marked, what was typed stays.
    bad = post(
        client,
        url,
        table(
            **{
                f"{first['id']}.notes": "Changed too",
                f"{second['id']}.owner": "Sales Rep",
                f"{third['id']}.task": "",
            }
        ),
    )
    assert bad.status_code == 422
    shown = page_text(bad)
    assert "Nothing was saved" in shown and "not a person" in shown and "must not be empty" in shown
    assert "Changed too" in shown
    assert shown.count('class="row-errors"') == 2
    kept = {r["id"]: r for r in staff.initiative(ini["id"])["rows"]}
    assert kept[first["id"]]["notes"] == "" and kept[second["id"]]["owner"] == "bob"

    # An owner saves the table: only their own rows' progress may change.
    post(client, "/logout")
    login(client, "alice")
    mine = {f"{first['id']}.notes": "Called them", f"{first['id']}.status": "done"}
    assert post(client, url, mine).status_code == 302
    assert staff.initiative(ini["id"])["rows"][0]["notes"] == "Called them"
    assert post(client, url, {f"{second['id']}.notes": "Not mine"}).status_code == 403
    assert post(client, url, {f"{first['id']}.task": "Mine now"}).status_code == 403
    assert staff.initiative(ini["id"])["rows"][1]["notes"] == "Draft sent"


def test_owners_update_their_progress_others_read(client: FlaskClient, staff: Service) -> None:
    ini = start(staff)
    mine = row(staff, ini)
    bobs = row(staff, ini, owner="bob", task="Objection table")
    login(client, "alice")
    page = page_text(client.get(f"/initiatives/{ini['id']}"))
    fields = forms_of(page)
    assert {name for form, name in fields if form == str(mine["id"])} == {
        "actual_date", "status", "notes", "contact",
    }  # fmt: skip
    assert not [f for f in fields if f[0] == str(bobs["id"])]
    assert "You update the status" in page
    url = f"/initiatives/{ini['id']}/rows/{mine['id']}"
    answer = post(client, url, {"status": "blocked", "notes": "Customers resist", "contact": ""})
    assert answer.status_code == 302
    assert staff.initiative(ini["id"])["rows"][0]["status"] == "blocked"
    assert post(client, url, {"task": "Mine now"}).status_code == 403
    other = f"/initiatives/{ini['id']}/rows/{bobs['id']}"
    assert post(client, other, {"notes": "x"}).status_code == 403
    assert post(client, f"/initiatives/{ini['id']}/reviews").status_code == 403
    post(client, "/logout")
    login(client, "dora")  # a designer: reads only
    page = page_text(client.get(f"/initiatives/{ini['id']}"))
    assert not forms_of(page) and "Customers resist" in page and "You can read this table" in page


def test_the_weekly_review_marks_blocked_and_flagged_rows(
    client: FlaskClient, staff: Service
) -> None:
    ini = start(staff)
    to_execution(staff, ini)
    stuck = row(staff, ini, status="blocked", task="Pain-point survey")
    row(staff, ini, owner="bob", task="Objection table", status="in progress")
    login(client, "mia")
    for n in (1, 2, 3):
        answer = post(client, f"/initiatives/{ini['id']}/reviews", {"notes": f"Week {n}"})
        assert answer.status_code == 302
    page = page_text(client.get(f"/initiatives/{ini['id']}"))
    assert "re-evaluate the direction" in page  # the flash of the third review
    assert f'id="row-{stuck["id"]}" class="status-blocked flagged"' in page
    assert "Flagged: blocked at 3 reviews in a row" in page
    assert "1 row(s) blocked at three or more weekly reviews in a row" in page
    blocked_now = page[page.index("Blocked now:") : page.index("Notes of the review")]
    assert "Pain-point survey" in blocked_now and "Objection table" not in blocked_now
    assert page.count("Week ") == 3
    [task] = staff.tasks(instance=ini["instance_id"])
    assert (task["element_id"], task["assignee"]) == ("task_re_evaluate_direction", "mia")


def test_csv_download_and_printable_view(client: FlaskClient, staff: Service) -> None:
    ini = start(staff)
    row(staff, ini, notes="=HYPERLINK(\"http://evil\")", elements=["task_needs_analysis"],
        contact="刘洋 Liu Yang (Legal)")  # fmt: skip
    login(client, "alice")
    answer = client.get(f"/initiatives/{ini['id']}/export.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    body = answer.get_data(as_text=True)
    assert body.startswith("\ufeff")
    header, first = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert header[:3] == ["Stage", "Task", "Responsible person"]
    assert first[1] == "Pain-point survey" and first[2] == "Alice Rep"  # display name
    assert first[5] == "Not started" and first[7] == "刘洋 Liu Yang (Legal)"
    assert first[6].startswith("'=")  # a spreadsheet shows it, never runs it
    assert first[8] == "Needs analysis"
    printed = page_text(client.get(f"/initiatives/{ini['id']}/print"))
    assert '<main class="wide printable">' in printed
    assert "Pain-point survey" in printed and "<form" not in printed.split("<main")[1]
    css = (ROOT / "webui" / "static" / "app.css").read_text(encoding="utf-8")
    assert "@media print" in css and "main.printable" in css


def test_the_page_shows_the_effect(client: FlaskClient, staff: Service) -> None:
    ini = start(staff)
    row(staff, ini, elements=["task_needs_analysis"])
    deal = staff.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    drive(staff, deal, WON[:3])  # passes needs analysis after the initiative took effect
    login(client, "bob")
    page = page_text(client.get(f"/initiatives/{ini['id']}"))
    effect = page[page.index('id="effect"') :]
    assert 'id="effect-task_needs_analysis"' in effect
    assert "0 passes, 0 deals" in effect and "1 passes, 1 deals" in effect
    assert "0 won, 0 lost" in effect


def test_the_chinese_ui(client: FlaskClient, staff: Service) -> None:
    ini = start(staff)
    row(staff, ini, status="blocked", elements=["task_needs_analysis"])
    login(client, "mia")
    post(client, "/language", {"lang": "zh-Hans"})
    page = page_text(client.get(f"/initiatives/{ini['id']}"))
    for words in ("执行表", "责任人", "计划日期", "受阻", "每周复盘", "优化效果", "优化项目"):
        assert words in page, words
    assert "Execution table" not in page
    listing = page_text(client.get("/initiatives"))
    assert "发起优化项目" in listing and "受阻: 1" in listing
    body = client.get(f"/initiatives/{ini['id']}/export.csv").get_data(as_text=True)
    assert body.lstrip("\ufeff").startswith("阶段,任务,责任人")


# --- the JSON API ----------------------------------------------------------------------------


@pytest.fixture
def auth(staff: Service) -> dict[str, dict[str, str]]:
    return {u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"}
            for u in ("alice", "bob", "mia")}  # fmt: skip


def test_the_api_round_trip(
    client: FlaskClient, staff: Service, auth: dict[str, dict[str, str]]
) -> None:
    mia, alice, bob = auth["mia"], auth["alice"], auth["bob"]
    made = client.post(
        f"{API}/initiatives",
        json={"name": "Faster needs analysis", "process_id": "sales_pipeline"},
        headers=mia,
    )
    assert made.status_code == 201, made.get_json()
    ini = made.get_json()
    conforms(ini, "Initiative")
    assert ini["lead"] == "mia" and made.headers["Location"] == f"{API}/initiatives/{ini['id']}"
    base = f"{API}/initiatives/{ini['id']}"
    sent = {"stage": "Needs analysis", "task": "Survey", "owner": "alice",
            "elements": ["task_needs_analysis"], "planned_date": "2026-03-05"}  # fmt: skip
    added = client.post(f"{base}/rows", json=sent, headers=mia)
    assert added.status_code == 201
    new_row = added.get_json()
    conforms(new_row, "InitiativeRow")
    assert {"id", "stage", "task", "owner", "planned_date", "actual_date", "status", "notes",
            "contact", "elements", "flagged"} <= set(new_row)  # fmt: skip
    for owner in ("Sales Rep", ["alice", "bob"], "alice, bob"):
        assert error_of(client.post(f"{base}/rows", json={**sent, "owner": owner}, headers=mia),
                        422, "ValidationError")["field"] == "owner"  # fmt: skip
    bad = client.post(f"{base}/rows", json={**sent, "elements": ["task_nope"]}, headers=mia)
    assert error_of(bad, 422)["field"] == "elements"
    bad = client.post(f"{base}/rows", json={**sent, "status": "finished"}, headers=mia)
    assert error_of(bad, 422)["field"] == "status"
    url = f"{base}/rows/{new_row['id']}"
    patched = client.patch(url, json={"status": "blocked", "notes": "Resisted"}, headers=alice)
    assert patched.status_code == 200
    conforms(patched.get_json(), "InitiativeRow")
    assert (patched.get_json()["status"], patched.get_json()["task"]) == ("blocked", "Survey")
    error_of(client.patch(url, json={"task": "Mine"}, headers=alice), 403, "ForbiddenError")
    # The table at once: all rows or none, every bad field named "<row id>.<field>".
    other = client.post(f"{base}/rows", json={**sent, "task": "Table"}, headers=mia).get_json()
    both = {str(new_row["id"]): {"notes": "Resisted", "contact": "Li Qiang"},
            str(other["id"]): {"status": "in progress"}}  # fmt: skip
    saved = client.patch(f"{base}/rows", json={"rows": both}, headers=mia)
    assert saved.status_code == 200
    conforms(saved.get_json(), "InitiativeRowList")
    assert [r["id"] for r in saved.get_json()["rows"]] == [new_row["id"], other["id"]]
    wrong = {str(new_row["id"]): {"notes": "kept?"}, str(other["id"]): {"owner": "Sales Rep"}}
    refused = error_of(client.patch(f"{base}/rows", json={"rows": wrong}, headers=mia), 422)
    assert refused["field"] == f"{other['id']}.owner"
    assert client.get(base, headers=mia).get_json()["rows"][0]["notes"] == "Resisted"
    error_of(client.patch(f"{base}/rows", json={"rows": both}, headers=bob), 403)
    error_of(client.patch(f"{base}/rows", json={"rows": {"999": {}}}, headers=mia), 404)
    error_of(client.patch(f"{base}/rows", json={"rows": {"x": {}}}, headers=mia), 422)
    error_of(client.patch(url, json={"notes": "x"}, headers=bob), 403)
    error_of(client.post(f"{base}/rows", json=sent, headers=alice), 403)
    error_of(client.post(f"{API}/initiatives", json={"name": "x", "process_id": "sales_pipeline"},
                         headers=alice), 403)  # fmt: skip
    error_of(client.post(f"{base}/reviews", json={}, headers=bob), 403)
    reviewed = client.post(f"{base}/reviews", json={"notes": "Friday"}, headers=mia)
    assert reviewed.status_code == 201
    conforms(reviewed.get_json(), "InitiativeReviewResult")
    assert reviewed.get_json()["blocked_rows"] == [new_row["id"]]
    got = client.get(base, headers=bob)
    assert got.status_code == 200
    conforms(got.get_json(), "Initiative")
    body = got.get_json()
    assert [r["status"] for r in body["rows"]] == ["blocked", "in progress"]
    assert body["effect"]["elements"][0]["element_id"] == "task_needs_analysis"
    listed = client.get(f"{API}/initiatives", headers=bob).get_json()
    conforms(listed, "InitiativeList")
    assert listed["items"][0]["counts"]["blocked"] == 1
    error_of(client.get(f"{API}/initiatives/999", headers=bob), 404, "NotFoundError")
    error_of(client.patch(f"{base}/rows/999", json={}, headers=mia), 404)
    error_of(client.post(f"{base}/rows", data="not json", headers=mia), 422)
    assert error_of(client.post(f"{API}/initiatives", json={"name": "x", "colour": 1},
                                headers=mia), 422)["field"] == "colour"  # fmt: skip
    assert error_of(client.post(f"{API}/initiatives", json={"name": "x", "process_id": "nope"},
                                headers=mia), 422)["field"] == "process_id"  # fmt: skip
    assert client.get(f"{API}/initiatives").status_code == 401
