"""Versions on the web: the version list on the process page, the diff page with both charts
marked, the migration page (preview, landing chart, the move with CSRF and roles), the JSON
API and the command line."""

from __future__ import annotations

import html
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from lxml import etree

from engine import clock
from engine.jobs.timers import tick
from engine.usecases.demo import NURTURE, WON, drive
from engine.usecases.service import Service
from salesflow.cli import main
from tests.engine.test_migration import ADDED, REMOVED, make_v2
from tests.webui.test_api import conforms

from .conftest import LEAD, csrf_token, login, post, text

API = "/api/v1"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def two_versions(staff: Service, tmp_path: Path) -> dict[str, str]:
    """Deals on version 1 (one at the nurture follow-up, which version 2 removes), then
    version 2 published by dora."""
    deals = {}
    for name, steps in (("At contact", WON[:1]), ("At needs", WON[:2]), ("Nurtured", NURTURE)):
        deal = staff.start("sales_pipeline", owner="alice", data={**LEAD, "company": name})
        drive(staff, deal["instance_id"], steps)
        deals[name] = str(deal["instance_id"])
    assert staff.deploy([make_v2(tmp_path / "v2")], actor="dora")[1]["version"] == 2
    return deals


def page(response: Any) -> str:
    return html.unescape(text(response))


def svg_classes(markup: str, chart_id: str) -> dict[str, list[str]]:
    """element id -> classes, in the inline chart of the section `chart_id`."""
    root = etree.fromstring(markup.encode(), etree.HTMLParser())
    [section] = root.xpath(f"//section[@id='{chart_id}']")
    return {
        g.get("id"): (g.get("class") or "").split()
        for g in section.iter()
        if isinstance(g.tag, str) and g.tag.endswith("g") and g.get("id")
    }


def test_the_process_page_lists_the_versions(
    client: FlaskClient, two_versions: dict[str, str]
) -> None:
    login(client, "mia")
    shown = page(client.get("/processes/sales_pipeline"))
    root = etree.fromstring(shown.encode(), etree.HTMLParser())
    rows = root.xpath("//section[@id='versions']//tbody/tr")
    assert [r.get("id") for r in rows] == ["version-2", "version-1"]
    cells = [" ".join(td.xpath("string()").split()) for td in rows[1].xpath("td")]
    assert cells[0] == "v1" and cells[1] == "dora"
    assert cells[3:6] == ["3", "0", "3"]  # running, in error, all
    assert "latest" in rows[0].xpath("string(td[1])")
    assert "/processes/sales_pipeline/diff?to=2&amp;from=1" in text(
        client.get("/processes/sales_pipeline")
    )
    assert "/processes/sales_pipeline/migrate?to=2" in shown


def test_the_diff_page_marks_both_charts_and_lists_every_change(
    client: FlaskClient, two_versions: dict[str, str]
) -> None:
    login(client, "dora")
    answer = client.get("/processes/sales_pipeline/diff?from=1&to=2")
    assert answer.status_code == 200
    shown = page(answer)
    new, old = svg_classes(shown, "chart-new"), svg_classes(shown, "chart-old")
    assert "diff-added" in new[ADDED]
    assert "diff-changed" in new["task_design_proposal"]
    assert "diff-changed" in new["task_qualify_lead"]
    assert REMOVED not in new
    assert "diff-removed" in old[REMOVED] and ADDED not in old
    assert not any(c.startswith("diff-") for c in new["task_negotiate"])  # unchanged
    root = etree.fromstring(shown.encode(), etree.HTMLParser())
    rows = {r.get("id"): r.get("class") for r in root.xpath("//table[@class='list changes']//tr")}
    assert rows[f"change-{ADDED}"] == "diff-added"
    assert rows[f"change-{REMOVED}"] == "diff-removed"
    assert rows["change-task_qualify_lead"] == "diff-changed"
    assert "Qualify lead (ICP)" in shown and "2 added, 2 removed, 7 changed" in shown
    # The latest two by default; the other way round too; versions that do not exist: 404.
    assert "changes from v1 to v2" in page(client.get("/processes/sales_pipeline/diff"))
    back = page(client.get("/processes/sales_pipeline/diff?from=2&to=1"))
    assert "diff-added" in svg_classes(back, "chart-new")[REMOVED]
    for query in ("from=3", "to=0", "to=x"):
        assert client.get(f"/processes/sales_pipeline/diff?{query}").status_code == 404
    assert client.get("/processes/no_such/diff").status_code == 404
    post(client, "/logout")
    login(client, "alice")
    assert client.get("/processes/sales_pipeline/diff").status_code == 403


def test_the_migration_page_previews_moves_and_refuses(
    client: FlaskClient, staff: Service, two_versions: dict[str, str]
) -> None:
    contact, needs, nurtured = (two_versions[k] for k in ("At contact", "At needs", "Nurtured"))
    tick(staff)  # nothing due: the nurtured deal still waits for its timer
    login(client, "dora")
    url = "/processes/sales_pipeline/migrate?to=2"
    shown = page(client.get(url))
    root = etree.fromstring(shown.encode(), etree.HTMLParser())
    rows = {r.get("id"): r for r in root.xpath("//table[@class='list preview']//tbody/tr")}
    assert set(rows) == {f"deal-{i}" for i in (contact, needs, nurtured)}
    assert all(rows[f"deal-{i}"].get("class") == "movable" for i in (contact, needs, nurtured))
    assert "Initial contact" in rows[f"deal-{contact}"].xpath("string()")
    assert "3 of 3 deals can move." in shown
    assert not root.xpath("//section[starts-with(@id, 'landing-')]")  # no chart picked yet

    charted = page(client.get(f"{url}&deal={needs}"))
    chart = svg_classes(charted, f"landing-{needs}")
    assert "state-ready" in chart["task_needs_analysis"]
    assert "state-completed" in chart["task_initial_contact"]
    assert "state-not-reached" in chart[ADDED]

    form = {"to": "2", "scope": "selected", "instance_id": [contact, needs]}
    # Without the CSRF token nothing happens.
    refused = client.post("/processes/sales_pipeline/migrate", data=form)
    assert refused.status_code == 400
    assert staff.show(contact)["version"] == 1
    # Nothing picked: the page says so.
    empty = post(client, "/processes/sales_pipeline/migrate", {"to": "2", "scope": "selected"})
    assert empty.status_code == 422 and "Pick at least one deal" in page(empty)

    done = post(client, "/processes/sales_pipeline/migrate", form)
    assert done.status_code == 200
    assert "2 deals moved to version 2; 0 could not move" in page(done)
    assert (staff.show(contact)["version"], staff.show(needs)["version"]) == (2, 2)
    assert staff.show(nurtured)["version"] == 1
    [entry] = [h for h in staff.show(needs)["history"] if h["kind"] == "migrated"]
    assert entry["data"]["by"] == "dora"

    # All that match the filters, in one go: the nurtured deal moves too.
    everything = post(client, "/processes/sales_pipeline/migrate", {"to": "2", "scope": "all"})
    assert "1 deals moved to version 2" in page(everything)
    assert staff.show(nurtured)["version"] == 2
    assert "No running deal matches" in page(client.get(url))


def test_a_deal_at_a_removed_step_is_shown_with_its_reason_and_stays(
    client: FlaskClient, staff: Service, tmp_path: Path
) -> None:
    deal = staff.start("sales_pipeline", owner="alice", data={**LEAD, "company": "Follow-up"})
    iid = str(deal["instance_id"])
    drive(staff, iid, NURTURE)
    # Let the 30-day wait pass: the deal is at the nurture follow-up.
    with time_machine.travel(clock.now() + timedelta(days=31), tick=False):
        assert tick(staff) == {"fired": 1}
    staff.deploy([make_v2(tmp_path / "v2")], actor="dora")
    login(client, "dora")
    shown = page(client.get("/processes/sales_pipeline/migrate?to=2"))
    assert "no: It is at Nurture follow-up, which the new version does not have." in shown
    assert f'name="instance_id" value="{iid}"' not in shown  # nothing to tick
    result = post(client, "/processes/sales_pipeline/migrate", {"to": "2", "scope": "all"})
    assert "0 deals moved to version 2; 1 could not move" in page(result)
    assert staff.show(iid)["version"] == 1


def test_who_may_see_and_who_may_move(
    client: FlaskClient, staff: Service, two_versions: dict[str, str]
) -> None:
    contact = two_versions["At contact"]
    url = "/processes/sales_pipeline/migrate"
    login(client, "mia")  # a manager: sees the preview, with links to the deals; may not move
    shown = text(client.get(f"{url}?to=2"))
    assert f'href="/deals/{contact}"' in shown and "At contact" in shown
    assert "Only process designers and administrators move deals" in shown
    assert 'name="instance_id"' not in shown
    answer = post(client, url, {"to": "2", "scope": "all"})
    assert answer.status_code == 403 and staff.show(contact)["version"] == 1
    # What the page would not show is a 404 to her, as on the page; only then the role.
    assert client.get(f"{url}?to=9").status_code == 404
    assert post(client, url, {"to": "9", "scope": "all"}).status_code == 404
    assert client.get("/processes/no_such/migrate").status_code == 404
    assert post(client, "/processes/no_such/migrate", {"scope": "all"}).status_code == 404
    post(client, "/logout")
    login(client, "dora")  # a designer: moves, sees names but no links to deals
    shown = text(client.get(f"{url}?to=2"))
    assert f'href="/deals/{contact}"' not in shown and 'name="instance_id"' in shown
    assert "At contact" not in shown and f"#{contact}" in shown  # no deal of theirs to see
    post(client, "/logout")
    login(client, "alice")
    assert client.get(f"{url}?to=2").status_code == 403
    token = csrf_token(client, "/tasks")
    assert client.post(url, data={"to": "2", "csrf_token": token}).status_code == 403
    assert client.get(f"{url}?to=9").status_code == 403  # the role first
    post(client, "/logout")
    login(client, "root")
    assert client.get(f"{url}?to=9").status_code == 404
    assert staff.show(contact)["version"] == 1


def test_the_api_lists_versions_and_migrates(
    client: FlaskClient, staff: Service, two_versions: dict[str, str]
) -> None:
    headers = {u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"} for u in
               ("alice", "mia", "dora")}  # fmt: skip
    listed = client.get(f"{API}/definitions/sales_pipeline/versions", headers=headers["alice"])
    assert listed.status_code == 200
    body = listed.get_json()
    conforms(body, "VersionList")
    assert [(v["version"], v["running"]) for v in body["items"]] == [(2, 0), (1, 3)]
    assert body["items"][1]["deployed_by"] == "dora"
    missing = client.get(f"{API}/definitions/nope/versions", headers=headers["alice"])
    assert missing.status_code == 404

    migrations = f"{API}/definitions/sales_pipeline/migrations"
    needs = two_versions["At needs"]
    preview = client.post(migrations, json={"to_version": 2, "dry_run": True},
                          headers=headers["mia"])  # fmt: skip
    assert preview.status_code == 200
    conforms(preview.get_json(), "MigrationResult")
    assert preview.get_json()["movable"] == 3
    assert (
        client.post(migrations, json={"to_version": 2}, headers=headers["mia"]).status_code == 403
    )
    assert client.post(migrations, json={"to_version": 2, "dry_run": True},
                       headers=headers["alice"]).status_code == 403  # fmt: skip
    # The process and the version asked for come first, then the role.
    for user in ("alice", "mia"):
        answer = client.post(migrations, json={"to_version": 7}, headers=headers[user])
        assert (answer.status_code, answer.get_json()["field"]) == (422, "to_version")
        answer = client.post(f"{API}/definitions/nope/migrations", json={"to_version": 1},
                             headers=headers[user])  # fmt: skip
        assert answer.status_code == 404
    for body_sent, field in (
        ({"to_version": 7}, "to_version"),
        ({"to_version": "2"}, "to_version"),
        ({"to_version": 2, "surprise": 1}, None),
        ({"to_version": 2, "instance_ids": [needs], "stage": "needs"}, "stage"),
    ):
        answer = client.post(migrations, json=body_sent, headers=headers["dora"])
        assert answer.status_code == 422, body_sent
        if field is not None:
            assert answer.get_json()["field"] == field
    moved = client.post(migrations, json={"to_version": 2, "instance_ids": [needs]},
                        headers=headers["dora"])  # fmt: skip
    assert moved.status_code == 200
    result = moved.get_json()
    conforms(result, "MigrationResult")
    [deal] = result["deals"]
    assert (deal["instance_id"], deal["migrated"], deal["from_version"]) == (needs, True, 1)
    assert [t["element_id"] for t in deal["open"]] == ["task_needs_analysis"]
    assert staff.show(needs)["version"] == 2
    assert client.post(f"{API}/definitions/nope/migrations", json={"to_version": 1},
                       headers=headers["dora"]).status_code == 404  # fmt: skip


def test_the_command_line_previews_and_migrates(
    capsys: pytest.CaptureFixture[str],
    staff: Service,
    two_versions: dict[str, str],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    contact = two_versions["At contact"]
    assert main(["migrate", "sales_pipeline", "--to", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "3 deals can move to version 2, 0 cannot move (dry run: nothing changed)" in out
    assert "Initial contact" in out
    assert staff.show(contact)["version"] == 1
    code = main(["--json", "migrate", "sales_pipeline", "--to", "2", "--instance", contact,
                 "--user", "dora"])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["migrated"] == 1 and result["deals"][0]["instance_id"] == contact
    assert main(["migrate", "sales_pipeline", "--to", "2", "--user", "alice"]) == 5
    assert "alice may not migrate deals" in capsys.readouterr().err
    assert main(["migrate", "sales_pipeline", "--to", "9"]) == 4
