"""Process content in the caller's language through the JSON API (Accept-Language) and the
command line (`--lang`); keys, codes and stored values never change."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import LEAD, PROCESSES
from webui import create_app

API = "/api/v1"


@pytest.fixture
def app(team: Service, db_url: str) -> Iterator[Flask]:
    team.deploy([PROCESSES])
    flask_app = create_app({"TESTING": True, "SALESFLOW_DATABASE_URL": db_url, "SECRET_KEY": "t"})
    yield flask_app
    flask_app.extensions["salesflow"].db.dispose()


def test_the_api_answers_in_the_accept_language(app: Flask, team: Service) -> None:
    client: FlaskClient = app.test_client()
    token = {"Authorization": f"Bearer {team.create_token('alice')['token']}"}
    deal = team.start("sales_pipeline", owner="alice", actor="alice", data=dict(LEAD))
    drive(team, deal["instance_id"], WON[:2])
    zh = {**token, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}

    [task] = client.get(f"{API}/tasks", headers=zh).get_json()["items"]
    assert (task["name"], task["element_id"]) == ("需求分析", "task_needs_analysis")
    [english] = client.get(f"{API}/tasks", headers=token).get_json()["items"]
    assert english["name"] == "Needs analysis"

    shown = client.get(f"{API}/deals/{deal['instance_id']}", headers=zh).get_json()
    assert "线索资格审查" in {h["element_name"] for h in shown["history"]}
    assert shown["stage"] == "needs" and shown["data"]["intent"] == "high"  # codes stay

    refused = client.post(
        f"{API}/tasks/{task['task_id']}/complete",
        json={"data": {"pain_points": ["a"]}},
        headers=zh,
    )
    assert refused.status_code == 422
    errors = {e["field"]: e["message"] for e in refused.get_json()["errors"]}
    assert errors["pain_points"] == "「核心痛点」至少需要 3 项。"


def test_the_command_line_takes_lang(
    app: Flask, team: Service, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    deal = team.start("sales_pipeline", owner="alice", actor="alice", data=dict(LEAD))
    drive(team, deal["instance_id"], WON[:2])

    def tasks(*extra: str) -> list[str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["tasks", "--user", "alice", "--json", *extra])
        assert code == 0
        return [t["name"] for t in json.loads(out.getvalue())]

    assert tasks("--lang", "zh") == ["需求分析"]
    assert tasks() == ["Needs analysis"]
