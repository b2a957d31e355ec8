"""English and Simplified Chinese: switched per user, defaulted from the browser, and every
text the templates and views show has its translation in the Babel catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from flask import Flask
from flask.testing import FlaskClient

from engine.usecases.service import Service
from webui.catalog import load_catalog

from .conftest import PASSWORD, csrf_token, deal_at_needs_analysis, login, post, text

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
ZH_HANS = load_catalog("zh_Hans")


def ui_texts() -> dict[str, str]:
    """Every _("...") and N_("...") literal of the views and templates, as pybabel extracts
    them (babel.cfg): text -> the first file that uses it."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        methods, options = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), methods, options, keywords={"_": None, "N_": None}
    ):
        text_ = message[0] if isinstance(message, tuple) else message
        if text_:
            found.setdefault(text_, filename)
    return found


def test_every_ui_text_has_a_chinese_translation() -> None:
    texts = ui_texts()
    assert len(texts) > 150  # the scan sees the templates and the views
    assert "My tasks" in texts and "Lead acquisition" in texts  # a template and a N_ table
    missing = sorted(f"{where}: {t}" for t, where in texts.items() if t not in ZH_HANS)
    assert missing == []


def test_translations_keep_their_placeholders_and_none_is_stale() -> None:
    for english, chinese in ZH_HANS.items():
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(chinese)), english
        assert chinese and chinese != english
    stale = sorted(set(ZH_HANS) - set(ui_texts()))
    assert stale == []


def test_switching_to_chinese(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    login(client, "alice")
    assert "My tasks" in text(client.get("/tasks"))
    response = post(client, "/language", {"lang": "zh-Hans", "next": "/tasks"})
    assert response.headers["Location"] == "/tasks"
    page = text(client.get("/tasks"))
    assert '<html lang="zh-Hans">' in page
    for words in ("我的任务", "商机", "新建商机", "需求分析", "退出登录"):
        assert words in page
    assert "My tasks" not in page
    # Names from the process are in Chinese too (processes/sales_pipeline.zh-Hans.json).
    assert "Needs analysis" not in page
    deal_page = text(client.get(f"/deals/{deal}"))
    assert "流程图" in deal_page and "时间线" in deal_page and "ACME Tools" in deal_page
    # The choice stays with the session, also across log-out and log-in.
    post(client, "/logout")
    assert "登录" in text(client.get("/login"))
    login(client, "alice")
    assert "我的任务" in text(client.get("/tasks"))
    post(client, "/language", {"lang": "en", "next": "/tasks"})
    assert "My tasks" in text(client.get("/tasks"))


def test_chinese_form_errors(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    task = staff.tasks(instance=deal)[0]
    login(client, "alice")
    post(client, "/language", {"lang": "zh-Hans"})
    response = post(
        client, f"/tasks/{task['task_id']}", {"pain_points": ["a"], "action": "complete"}
    )
    assert response.status_code == 422
    page = text(response)
    assert "请至少填写 3 项。" in page and "此项为必填项。" in page


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        ("en-US,en;q=0.9", "en"),
        ("zh-TW", "zh-Hans"),
        ("", "en"),
    ],
)
def test_language_defaults_from_the_browser(
    client: FlaskClient, header: str, expected: str
) -> None:
    page = text(client.get("/login", headers={"Accept-Language": header} if header else {}))
    assert f'<html lang="{expected}">' in page


def test_the_switch_works_before_log_in_and_ignores_unknown_languages(client: FlaskClient) -> None:
    token = csrf_token(client)
    client.post("/language", data={"lang": "zh-Hans", "csrf_token": token, "next": "/login"})
    assert "用户名" in text(client.get("/login"))
    client.post("/language", data={"lang": "klingon", "csrf_token": token})
    assert "用户名" in text(client.get("/login"))
    response = client.post(
        "/language", data={"lang": "en", "csrf_token": token, "next": "//evil.example"}
    )
    assert response.headers["Location"] == "/"


def test_the_choice_is_kept_on_the_user_and_wins_at_the_next_log_in(
    app: Flask, client: FlaskClient, staff: Service
) -> None:
    login(client, "alice")
    post(client, "/language", {"lang": "zh-Hans", "next": "/tasks"})
    assert staff.user("alice")["language"] == "zh"

    # Another browser that asks for English: after the log-in alice gets her Chinese.
    other = app.test_client()
    english = {"Accept-Language": "en-US,en;q=0.9"}
    assert '<html lang="en">' in text(other.get("/login", headers=english))
    token = csrf_token(other)
    response = other.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        headers=english,
    )
    assert response.status_code == 302
    page = text(other.get("/tasks", headers=english))
    assert '<html lang="zh-Hans">' in page and "欢迎" in page  # the welcome too

    # Switching back is kept too; someone who never chose follows the browser.
    post(other, "/language", {"lang": "en"})
    assert staff.user("alice")["language"] == "en"
    assert staff.user("bob")["language"] is None
    third = app.test_client()
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    token = csrf_token(third)
    third.post(
        "/login",
        data={"username": "bob", "password": PASSWORD, "csrf_token": token},
        headers=chinese,
    )
    assert '<html lang="zh-Hans">' in text(third.get("/tasks", headers=chinese))


def test_a_choice_before_log_in_is_not_stored_and_yields_to_the_users(
    client: FlaskClient, staff: Service
) -> None:
    token = csrf_token(client)
    client.post("/language", data={"lang": "zh-Hans", "csrf_token": token, "next": "/login"})
    assert "用户名" in text(client.get("/login"))
    assert {u["language"] for u in staff.users()} == {None}
    # bob never chose: the choice made on the log-in page stays.
    login(client, "bob")
    assert "我的任务" in text(client.get("/tasks"))
    assert staff.user("bob")["language"] is None
    post(client, "/logout")
    # mia chose English once: on this shared computer she gets it, not the last choice.
    staff.set_language("mia", "en")
    login(client, "mia")
    assert "My tasks" in text(client.get("/tasks"))
