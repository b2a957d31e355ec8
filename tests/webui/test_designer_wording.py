# ruff: noqa: RUF001 - full-width Chinese punctuation in the expected Chinese
"""The designer's Check, publish and draft, and POST /api/v1/definitions, answer the problems
of a definition in the reader's language (engine.core.lint.wording): the logged-in user's on
the page, the request's Accept-Language on the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.webui.test_api import conforms
from tests.webui.test_api_publish import API, XML, upload
from tests.webui.test_designer import pipeline_files, send, without_default

from .conftest import login

CJK = re.compile(r"[\u4e00-\u9fff]")
NO_DEFAULT_EN = "the exclusive gateway has no default flow"
NO_DEFAULT_ZH = "该排他网关没有默认流，且其条件可能全部为假"
# The pipeline's "Qualified?" gateway without its default: the flow that was it.
BARE_FLOW_EN = "leaves the exclusive gateway 'Qualified?' without a condition"
BARE_FLOW_ZH = "从排他网关「Qualified?」引出，但既没有条件，也不是它的默认流"


def designer(client: FlaskClient, staff: Service, language: str) -> FlaskClient:
    staff.set_language("dora", language)
    assert login(client, "dora").status_code == 302
    return client


def messages(answer: Any) -> list[str]:
    return [p["message"] for p in answer.get_json()["problems"]]


@pytest.mark.parametrize(("language", "expected"), [("zh", BARE_FLOW_ZH), ("en", BARE_FLOW_EN)])
def test_the_check_answers_in_the_designers_language(
    client: FlaskClient, staff: Service, language: str, expected: str
) -> None:
    dora = designer(client, staff, language)
    files = without_default(pipeline_files(staff))
    answer = send(dora, "/designer/check", {"files": files, "opened": "sales_pipeline"})
    assert answer.status_code == 200
    found = [m for m in messages(answer) if expected in m]
    # On the gateway, named as the designer knows it, with the colon of the language.
    assert found and found[0].startswith(
        "tier C (flow_qualified_tier_c)" + ("：" if language == "zh" else ": ")
    )
    assert all(bool(CJK.search(m)) is (language == "zh") for m in messages(answer))


def test_publish_and_draft_answer_in_the_designers_language(
    client: FlaskClient, staff: Service
) -> None:
    dora = designer(client, staff, "zh")
    files = without_default(pipeline_files(staff))
    refused = send(dora, "/designer/publish", {"files": files, "opened": "sales_pipeline"})
    assert refused.status_code == 422
    assert any(BARE_FLOW_ZH in m for m in messages(refused))
    draft = send(dora, "/designer/draft", {"files": files, "opened": "sales_pipeline"})
    assert draft.status_code == 200
    assert any(BARE_FLOW_ZH in m for m in messages(draft))
    assert staff.definitions()[0]["version"] == 1  # nothing was published


def test_the_api_words_a_refusal_in_the_accept_language(
    client: FlaskClient, staff: Service
) -> None:
    token = {"Authorization": f"Bearer {staff.create_token('dora')['token']}"}
    parts = upload("clean.bpmn", "lint_quote.schema.json", replace=("&lt; 10000", "&lt; 50"))
    answer = client.post(
        f"{API}/definitions", data=parts, headers={**token, "Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert answer.status_code == 422
    body = answer.get_json()
    conforms(body, "DefinitionRefused")
    assert [e["element_id"] for e in body["errors"]] == ["task_grade", "gw_amount"]
    assert "决策「lint_grade_decision」不在这些 DMN 文件中" in body["errors"][0]["message"]
    assert NO_DEFAULT_ZH in body["errors"][1]["message"]
    assert body["message"].endswith("（另有 1 项）")
    # A file that is not even XML: the library's detail in a Chinese frame.
    broken = client.post(
        f"{API}/definitions", data="<oops", headers={**token, **XML, "Accept-Language": "zh-CN"}
    )
    [error] = broken.get_json()["errors"]
    assert broken.status_code == 422 and error["message"].startswith("XML 格式不正确：")
    # English without the header, and for an English Accept-Language.
    for headers in ({}, {"Accept-Language": "en-GB"}):
        again = upload("clean.bpmn", "lint_quote.schema.json", replace=("&lt; 10000", "&lt; 50"))
        english = client.post(f"{API}/definitions", data=again, headers={**token, **headers})
        assert NO_DEFAULT_EN in english.get_json()["errors"][1]["message"]
        assert english.get_json()["message"].endswith("(and 1 more)")
