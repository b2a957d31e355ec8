"""The designer page on the server side: who may use it, the files it opens (a version, a
draft, the new-process template), its JSON endpoints (check, publish, draft, form preview,
each CSRF-protected) and the bpmn-js files it serves from webui/node_modules."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.test import TestResponse

from engine.usecases.service import Service
from tests.conftest import CORPORA, LEAD, PROCESSES
from webui.designer import BPMN_JS_DIST, MODELER_JS

from .conftest import csrf_token, login, post, text

PIPELINE = "sales_pipeline.bpmn"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
_DATA = re.compile(r'<script type="application/json" id="designer-data">(.*?)</script>', re.S)


def page_data(response: TestResponse) -> dict[str, Any]:
    """What the page hands designer.js: the files, the version, the roles, the URLs."""
    assert response.status_code == 200, response.status_code
    found = _DATA.search(text(response))
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def send(
    client: FlaskClient, url: str, body: dict[str, Any], *, token: bool = True
) -> TestResponse:
    """POST JSON like designer.js: the session's CSRF token in the X-CSRFToken header."""
    headers = {"Accept": "application/json"}
    if token:
        headers["X-CSRFToken"] = csrf_token(client, "/tasks")
    return client.post(url, json=body, headers=headers)


def pipeline_files(staff: Service) -> dict[str, str]:
    return staff.definition_files("sales_pipeline")


def without_default(files: dict[str, str]) -> dict[str, str]:
    """The pipeline with the "Qualified?" gateway's default flow taken away."""
    bpmn = files[PIPELINE]
    changed = bpmn.replace(' default="flow_qualified_tier_c"', "", 1)
    assert changed != bpmn
    return {**files, PIPELINE: changed}


def unsafe_condition(files: dict[str, str]) -> dict[str, str]:
    bpmn = files[PIPELINE]
    changed = bpmn.replace('tier in ["A", "B"]', "__import__('os').system('true')", 1)
    assert changed != bpmn
    return {**files, PIPELINE: changed}


def renamed(files: dict[str, str], name: str) -> dict[str, str]:
    bpmn = files[PIPELINE]
    changed = bpmn.replace('name="Qualify lead"', f'name="{name}"', 1)
    assert changed != bpmn
    return {**files, PIPELINE: changed}


@pytest.fixture
def dora(client: FlaskClient) -> FlaskClient:
    assert login(client, "dora").status_code == 302
    return client


# --- who may use it ------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice", "mia", "pete"])
def test_everyone_but_designers_and_admins_is_refused(
    client: FlaskClient, staff: Service, username: str
) -> None:
    login(client, username)
    for url in ("/designer", "/designer/new", "/designer/sales_pipeline"):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/designer/assets/{MODELER_JS}").status_code == 403
    files = pipeline_files(staff)
    for url in ("check", "publish", "draft", "preview", "layout"):
        answer = send(client, f"/designer/{url}", {"files": files, "schema": "{}", "xml": ""})
        assert answer.status_code == 403, url
    assert post(client, "/designer/sales_pipeline/discard").status_code == 403
    assert 'href="/designer"' not in text(client.get("/tasks"))
    assert staff.definitions()[0]["version"] == 1  # nothing was published


def test_anonymous_is_sent_to_log_in(client: FlaskClient) -> None:
    assert client.get("/designer").headers["Location"].startswith("/login")
    answer = client.post("/designer/check", json={}, headers={"Accept": "application/json"})
    assert answer.status_code == 401


@pytest.mark.parametrize("username", ["dora", "root"])
def test_designers_and_admins_see_the_list_and_the_nav_link(
    client: FlaskClient, staff: Service, username: str
) -> None:
    login(client, username)
    page = text(client.get("/designer"))
    assert 'href="/designer"' in text(client.get("/tasks"))
    for d in staff.definitions():
        assert f'href="/designer/{d["process_id"]}"' in page
    assert 'href="/designer/new"' in page


# --- what the modeler opens ----------------------------------------------------------------


def test_a_definition_opens_with_the_files_of_its_version(
    dora: FlaskClient, staff: Service
) -> None:
    data = page_data(dora.get("/designer/sales_pipeline"))
    assert data["files"] == pipeline_files(staff)
    assert {"lead_grading.dmn", "needs_analysis.schema.json"} <= set(data["files"])
    assert (data["opened"], data["base_version"], data["latest"]) == ("sales_pipeline", 1, 1)
    assert "Sales Rep" in data["roles"] and "designer" in data["roles"]
    assert data["urls"]["check"] == "/designer/check"
    assert data["texts"]["published"] == "Version %(version)s published."
    # The same page in Chinese hands the script Chinese texts.
    post(dora, "/language", {"lang": "zh-Hans"})
    chinese = page_data(dora.get("/designer/sales_pipeline"))
    assert chinese["texts"]["published"] != data["texts"]["published"]
    assert "%(version)s" in chinese["texts"]["published"]


def test_an_older_version_opens_on_request(dora: FlaskClient, staff: Service) -> None:
    first = pipeline_files(staff)
    answer = send(
        dora,
        "/designer/publish",
        {
            "files": renamed(first, "Qualify the lead"),
            "opened": "sales_pipeline",
            "base_version": 1,
        },
    )
    assert answer.status_code == 200 and answer.get_json()["version"] == 2
    assert page_data(dora.get("/designer/sales_pipeline?version=1"))["files"] == first
    latest = page_data(dora.get("/designer/sales_pipeline"))
    assert 'name="Qualify the lead"' in latest["files"][PIPELINE]
    assert latest["base_version"] == 2
    for url in ("?version=7", "?version=x", "/../nowhere"):
        assert dora.get(f"/designer/sales_pipeline{url}").status_code == 404, url
    assert dora.get("/designer/no_such_process").status_code == 404


def test_a_new_process_starts_from_a_valid_template_under_a_free_id(
    dora: FlaskClient, staff: Service
) -> None:
    data = page_data(dora.get("/designer/new"))
    assert (data["opened"], data["base_version"]) == (None, None)
    [(name, bpmn)] = data["files"].items()
    assert name == "new_process.bpmn" and 'id="new_process"' in bpmn
    assert 'name="Sales Rep"' in bpmn  # one lane
    assert staff.check_definition(data["files"]) == []
    answer = send(dora, "/designer/publish", {"files": data["files"], "opened": None})
    assert answer.get_json()["process_id"] == "new_process"
    again = page_data(dora.get("/designer/new"))
    assert list(again["files"]) == ["new_process_2.bpmn"]
    assert 'id="new_process_2"' in again["files"]["new_process_2.bpmn"]


# --- check and publish ---------------------------------------------------------------------


def test_json_endpoints_refuse_a_request_without_the_csrf_token(
    dora: FlaskClient, staff: Service
) -> None:
    files = renamed(pipeline_files(staff), "Qualify the lead")
    for url in (
        "/designer/check",
        "/designer/publish",
        "/designer/draft",
        "/designer/preview",
        "/designer/layout",
    ):
        answer = send(dora, url, {"files": files, "schema": "{}", "xml": "<x/>"}, token=False)
        assert answer.status_code == 400, url
    assert staff.definitions()[0]["version"] == 1
    assert staff.definition_draft("sales_pipeline", "dora") is None


def test_check_names_the_element_of_each_problem(dora: FlaskClient, staff: Service) -> None:
    ok = send(dora, "/designer/check", {"files": pipeline_files(staff), "opened": "sales_pipeline"})
    assert ok.status_code == 200
    assert [p for p in ok.get_json()["problems"] if p["severity"] == "error"] == []
    unsafe = send(
        dora,
        "/designer/check",
        {"files": unsafe_condition(pipeline_files(staff)), "opened": "sales_pipeline"},
    )
    problems = unsafe.get_json()["problems"]
    # On the flow or on its gateway, as engine.core.lint names it.
    assert {p["element_id"] for p in problems} & {"flow_qualified_tier_a_b", "gw_qualified"}
    assert "__import__" in " ".join(p["message"] for p in problems)
    no_default = send(
        dora,
        "/designer/check",
        {"files": without_default(pipeline_files(staff)), "opened": "sales_pipeline"},
    )
    elements = {p["element_id"] for p in no_default.get_json()["problems"]}
    assert elements & {"gw_qualified", "flow_qualified_tier_c"}
    problems += no_default.get_json()["problems"]
    assert all(set(p) == {"element_id", "message", "line", "file", "severity"} for p in problems)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"files": {}},
        {"files": ["a.bpmn"]},
        {"files": {"a.bpmn": 3}},
        {"files": {"../a.bpmn": "<x/>"}},
        {"files": {"notes.txt": "hello"}},
    ],
)
def test_malformed_requests_are_refused(dora: FlaskClient, body: dict[str, Any]) -> None:
    assert send(dora, "/designer/check", body).status_code == 400


def test_publish_makes_a_new_version_and_refuses_errors(dora: FlaskClient, staff: Service) -> None:
    files = renamed(pipeline_files(staff), "Qualify the lead")
    body = {"files": files, "opened": "sales_pipeline", "base_version": 1}
    answer = send(dora, "/designer/publish", body)
    assert answer.status_code == 200
    result = answer.get_json()
    assert (result["process_id"], result["version"], result["changed"]) == (
        "sales_pipeline",
        2,
        True,
    )
    assert result["url"] == "/designer/sales_pipeline"
    same = send(dora, "/designer/publish", body).get_json()
    assert (same["version"], same["changed"]) == (2, False)
    refused = send(dora, "/designer/publish", {**body, "files": without_default(files)})
    assert refused.status_code == 422
    assert refused.get_json()["problems"]
    assert [d["version"] for d in staff.definitions() if d["process_id"] == "sales_pipeline"] == [2]
    # The previous version still runs.
    deal = staff.start("sales_pipeline", version=1, owner="alice", actor="alice", data=LEAD)
    assert staff.show(deal["instance_id"])["version"] == 1


def test_publishing_over_another_deployed_process_is_refused(
    dora: FlaskClient, staff: Service
) -> None:
    template = page_data(dora.get("/designer/new"))["files"]
    [(name, bpmn)] = template.items()
    taken = {name: bpmn.replace("new_process", "sales_pipeline")}
    for url, status in [
        ("/designer/check", 200),
        ("/designer/publish", 409),
        ("/designer/draft", 409),
    ]:
        answer = send(dora, url, {"files": taken, "opened": None})
        assert answer.status_code == status, url
        [problem] = answer.get_json()["problems"]
        assert problem["element_id"] == "sales_pipeline"
        assert "deployed already" in problem["message"]
    assert staff.definition_files("sales_pipeline") == pipeline_files(staff)
    assert staff.definition_draft("sales_pipeline", "dora") is None


# --- drafts --------------------------------------------------------------------------------


def test_a_draft_is_kept_shown_instead_of_the_version_and_discarded(
    app: Any, dora: FlaskClient, staff: Service
) -> None:
    files = without_default(renamed(pipeline_files(staff), "Qualify (draft)"))
    answer = send(
        dora, "/designer/draft", {"files": files, "opened": "sales_pipeline", "base_version": 1}
    )
    assert answer.status_code == 200
    saved = answer.get_json()
    assert saved["process_id"] == "sales_pipeline" and saved["url"] == "/designer/sales_pipeline"
    kept_anyway = {p["element_id"] for p in saved["problems"]}
    assert kept_anyway & {"gw_qualified", "flow_qualified_tier_c"}
    assert staff.definitions()[0]["version"] == 1  # a draft publishes nothing

    page = dora.get("/designer/sales_pipeline")
    assert page_data(page)["files"] == files
    assert "This is your unpublished draft" in text(page)
    assert 'action="/designer/sales_pipeline/discard"' in text(page)
    older = dora.get("/designer/sales_pipeline?version=1")
    assert page_data(older)["files"] == pipeline_files(staff)
    assert "You have an unpublished draft" in text(older)
    assert "your draft" in text(dora.get("/designer"))

    # Another designer's page is not touched by dora's draft.
    other = app.test_client()
    login(other, "root")
    assert page_data(other.get("/designer/sales_pipeline"))["files"] == pipeline_files(staff)

    assert post(dora, "/designer/sales_pipeline/discard").status_code == 302
    assert staff.definition_draft("sales_pipeline", "dora") is None
    assert page_data(dora.get("/designer/sales_pipeline"))["files"] == pipeline_files(staff)


def test_a_draft_of_a_new_process_opens_under_its_id(dora: FlaskClient, staff: Service) -> None:
    template = page_data(dora.get("/designer/new"))["files"]
    answer = send(dora, "/designer/draft", {"files": template, "opened": None})
    assert answer.status_code == 200 and answer.get_json()["url"] == "/designer/new_process"
    data = page_data(dora.get("/designer/new_process"))
    assert data["files"] == template and data["base_version"] is None
    assert "new_process" not in {d["process_id"] for d in staff.definitions()}
    assert post(dora, "/designer/new_process/discard").headers["Location"] == "/designer"
    assert dora.get("/designer/new_process").status_code == 404


def test_a_draft_needs_a_process(dora: FlaskClient) -> None:
    answer = send(dora, "/designer/draft", {"files": {"only.dmn": "<definitions/>"}})
    assert answer.status_code == 422
    assert answer.get_json()["problems"][0]["message"].startswith("There is no process")


# --- the form preview ----------------------------------------------------------------------


def test_the_preview_renders_the_form_a_rep_will_see(dora: FlaskClient) -> None:
    schema = (PROCESSES / "needs_analysis.schema.json").read_text(encoding="utf-8")
    answer = send(
        dora, "/designer/preview", {"name": "needs_analysis.schema.json", "schema": schema}
    )
    assert answer.status_code == 200
    html = answer.get_json()["html"]
    assert 'name="pain_points"' in html and 'id="f-budget_range-min"' in html
    assert "<form" not in html  # a preview submits nothing
    escaped = json.dumps(
        {
            "type": "object",
            "title": "<script>alert(1)</script>",
            "properties": {"x": {"type": "string", "title": "<b>X</b>"}},
        }
    )
    html = send(dora, "/designer/preview", {"schema": escaped}).get_json()["html"]
    assert "<script>" not in html and "&lt;b&gt;X&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": 5}', "not a valid JSON schema"),
    ],
)
def test_the_preview_says_what_is_wrong_with_a_schema(
    dora: FlaskClient, schema: str, says: str
) -> None:
    answer = send(dora, "/designer/preview", {"name": "x.schema.json", "schema": schema})
    assert answer.status_code == 422
    assert says in answer.get_json()["error"]


# --- bpmn-js from webui/node_modules -------------------------------------------------------


@pytest.mark.skipif(
    not (BPMN_JS_DIST / MODELER_JS).is_file(), reason="bpmn-js not installed (make npm-assets)"
)
def test_the_modeler_is_served_from_node_modules(dora: FlaskClient) -> None:
    page = text(dora.get("/designer/sales_pipeline"))
    for asset in (MODELER_JS, "assets/bpmn-js.css", "assets/diagram-js.css"):
        assert f"/designer/assets/{asset}" in page
        with dora.get(f"/designer/assets/{asset}") as answer:
            assert answer.status_code == 200, asset
            assert answer.data == (BPMN_JS_DIST / asset).read_bytes()
    with dora.get("/designer/assets/assets/bpmn-font/font/bpmn.woff2") as font:
        assert font.status_code == 200
    assert dora.get("/designer/assets/../package.json").status_code == 404
    assert dora.get("/designer/assets/%2e%2e/package.json").status_code == 404
    assert "The modeler is not installed" not in page


# --- a file without a diagram ------------------------------------------------------------


def test_a_file_without_a_diagram_is_laid_out_for_the_modeler(dora: FlaskClient) -> None:
    template = page_data(dora.get("/designer/new"))["files"]["new_process.bpmn"]
    bare = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", template, flags=re.S)
    answer = send(dora, "/designer/layout", {"xml": bare})
    assert answer.status_code == 200
    laid_out = etree.fromstring(answer.get_json()["xml"].encode("utf-8"))
    shapes = {s.get("bpmnElement"): s for s in laid_out.iter(f"{BPMNDI}BPMNShape")}
    assert set(shapes) == {
        "pool_new_process",
        "lane_sales_rep",
        "start_new_process",
        "task_first_step",
        "end_new_process",
    }
    box = {k: float(v) for k, v in shapes["task_first_step"].find(f"{DC}Bounds").attrib.items()}
    assert (box["width"], box["height"]) == (100, 80)  # bpmn.io's size of a task
    start = shapes["start_new_process"].find(f"{DC}Bounds")
    assert float(start.get("x")) < box["x"]  # left to right
    edges = {e.get("bpmnElement"): e for e in laid_out.iter(f"{BPMNDI}BPMNEdge")}
    assert set(edges) == {"flow_start_to_first_step", "flow_first_step_to_end"}
    assert all(len(e.findall(f"{DI}waypoint")) >= 2 for e in edges.values())
    # A file with its diagram comes back untouched; what is not BPMN says why.
    assert send(dora, "/designer/layout", {"xml": template}).get_json()["xml"] == template
    refused = send(dora, "/designer/layout", {"xml": "<nonsense/>"})
    assert refused.status_code == 422 and refused.get_json()["error"]
    assert send(dora, "/designer/layout", {"xml": 5}).status_code == 400


@pytest.mark.skipif(not CORPORA.is_dir(), reason="shared/corpora is not beside")
def test_a_file_with_several_diagrams_lists_them_with_the_main_one(dora: FlaskClient) -> None:
    # C.5.0: the collaboration of the bank's process and the called process's own plane.
    xml = (CORPORA / "miwg" / "Reference" / "C.5.0.bpmn").read_text(encoding="utf-8")
    answer = send(dora, "/designer/layout", {"xml": xml})
    assert answer.status_code == 200
    found = answer.get_json()["diagrams"]
    ids = re.findall(r'<bpmndi:BPMNDiagram[^>]*\bid="([^"]+)"', xml)
    assert [d["id"] for d in found] == ids and len(ids) == 2
    assert [d["main"] for d in found] == [True, False]  # the collaboration is the main one
    assert all(d["shapes"] > 0 for d in found)
    assert found[0]["shapes"] > found[1]["shapes"]
    # Without its second diagram: one, the main one, nothing to choose.
    second = xml.index("<bpmndi:BPMNDiagram", xml.index("<bpmndi:BPMNDiagram") + 1)
    end = xml.index("</bpmndi:BPMNDiagram>", second) + len("</bpmndi:BPMNDiagram>")
    single = send(dora, "/designer/layout", {"xml": xml[:second] + xml[end:]})
    assert [(d["id"], d["main"]) for d in single.get_json()["diagrams"]] == [(ids[0], True)]


def test_the_side_panel_offers_the_stages_and_the_escalation_roles_as_choices(
    dora: FlaskClient,
) -> None:
    """designer.js builds the stage and escalation-role selects from these (with the
    process's lanes, the stages its translations file declares, and "other…")."""
    data = page_data(dora.get("/designer/sales_pipeline"))
    assert data["stages"][:3] == ["lead", "qualification", "contact"]
    assert "after_sales" in data["stages"]
    # The team's roles even when no user holds them yet.
    assert {"Sales Manager", "Legal", "Finance", "After-Sales"} <= set(data["known_roles"])
    assert data["texts"]["other"] == "other…"
    post(dora, "/language", {"lang": "zh-Hans"})
    assert page_data(dora.get("/designer/sales_pipeline"))["texts"]["other"] == "其他…"
