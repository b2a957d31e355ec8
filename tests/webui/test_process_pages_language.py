"""The process pages in the reader's language: the heatmap page, its chart download and the
version diff (its charts and its list of changes) show the process's translated names to a
manager who reads Chinese, the designer's to one who reads English."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.usecases.service import Service

from .conftest import login, post, text

ZH = "sales_pipeline.zh-Hans.json"


@pytest.fixture
def two_versions(staff: Service) -> Service:
    """Version 2 renames the needs analysis (and its Chinese name)."""
    files = staff.definition_files("sales_pipeline")
    doc = json.loads(files[ZH])
    doc["elements"]["task_needs_analysis"]["name"] = "需求调研"
    bpmn = files["sales_pipeline.bpmn"].replace('name="Needs analysis"', 'name="Needs survey"', 1)
    staff.publish(
        {**files, "sales_pipeline.bpmn": bpmn, ZH: json.dumps(doc, ensure_ascii=False)},
        actor="dora",
        replaces=("sales_pipeline",),
    )
    return staff


def in_language(client: FlaskClient, username: str, lang: str) -> FlaskClient:
    assert login(client, username).status_code == 302
    post(client, "/language", {"lang": lang, "next": "/tasks"})
    return client


def test_the_heatmap_and_its_download_in_chinese(client: FlaskClient) -> None:
    mia = in_language(client, "mia", "zh-Hans")
    page = text(mia.get("/processes/sales_pipeline/heatmap"))
    assert "<h1>销售流程 — " in page
    assert "需求分析" in page and "Needs analysis" not in page
    svg = mia.get("/processes/sales_pipeline/chart.svg?heat=1").get_data(as_text=True)
    assert "需求分析" in svg and "Needs analysis" not in svg


def test_the_heatmap_in_english(client: FlaskClient) -> None:
    mia = in_language(client, "mia", "en")
    page = text(mia.get("/processes/sales_pipeline/heatmap"))
    assert "Needs analysis" in page and "需求分析" not in page
    svg = mia.get("/processes/sales_pipeline/chart.svg").get_data(as_text=True)
    assert "Needs analysis" in svg and "需求分析" not in svg


def test_the_version_diff_names_changes_and_draws_charts_in_chinese(
    client: FlaskClient, app: Flask, two_versions: Service
) -> None:
    mia = in_language(client, "mia", "zh-Hans")
    page = text(mia.get("/processes/sales_pipeline/diff?from=1&to=2"))
    assert "<strong>需求调研</strong>" in page  # the change, by its new Chinese name
    assert "<strong>Needs survey</strong>" not in page
    assert "需求分析" in page  # the old version's chart
    english = text(
        in_language(app.test_client(), "mia", "en").get("/processes/sales_pipeline/diff")
    )
    assert "<strong>Needs survey</strong>" in english and "需求调研" not in english
