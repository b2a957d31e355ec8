"""The app factory: configuration, the stored session key, security headers, serving."""

from __future__ import annotations

import stat
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import webui.serving
from webui import create_app
from webui.config import stored_secret_key
from webui.security import safe_next

from .conftest import login, text


def test_health_is_open_and_the_root_leads_to_the_inbox(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/").headers["Location"] == "/login?next=/"
    login(client, "alice")
    assert client.get("/").headers["Location"] == "/tasks"
    assert client.get("/no-such-page").status_code == 404
    assert "salesflow" in text(client.get("/no-such-page"))


def test_config_defaults_and_the_test_config_overrides(app: Flask, db_url: str) -> None:
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SALESFLOW_DATABASE_URL"] == db_url
    assert app.config["SECRET_KEY"] == "test"
    assert app.config["WTF_CSRF_ENABLED"] is True


def test_secret_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("SALESFLOW_SECRET_KEY", "from-env")
    monkeypatch.setenv("SALESFLOW_VAR_DIR", str(tmp_path))
    app = create_app({"SALESFLOW_DATABASE_URL": db_url})
    assert app.config["SECRET_KEY"] == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_is_created_once_and_kept(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    monkeypatch.delenv("SALESFLOW_SECRET_KEY", raising=False)
    var = tmp_path / "var"
    monkeypatch.setenv("SALESFLOW_VAR_DIR", str(var))
    first = create_app({"SALESFLOW_DATABASE_URL": db_url}).config["SECRET_KEY"]
    second = create_app({"SALESFLOW_DATABASE_URL": db_url}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    path = var / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first
    assert stored_secret_key(var) == first


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    page = client.get("/login")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "<script>" not in text(page)  # no inline script anywhere: the policy forbids it


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/deals/3?x=1", "/deals/3?x=1"),
        ("https://evil.example/", "/tasks"),
        ("//evil.example/", "/tasks"),
        ("/\\evil.example", "/tasks"),
        ("javascript:alert(1)", "/tasks"),
        ("deals", "/tasks"),
        ("", "/tasks"),
        (None, "/tasks"),
    ],
)
def test_safe_next_only_allows_paths_on_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target, "/tasks") == expected


def test_serve_uses_the_development_server_or_waitress(
    monkeypatch: pytest.MonkeyPatch, app: Flask
) -> None:
    calls: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(Flask, "run", lambda self, **kw: calls.append(("flask", kw)))
    import waitress

    monkeypatch.setattr(waitress, "serve", lambda wsgi, **kw: calls.append(("waitress", kw)))
    monkeypatch.setattr(sys, "setswitchinterval", lambda v: calls.append(("switch", {"s": v})))
    webui.serving.serve("0.0.0.0", 8080, None, app=app)
    webui.serving.serve("127.0.0.1", 8081, 8, app=app)
    assert calls == [
        ("flask", {"host": "0.0.0.0", "port": 8080, "debug": False, "use_reloader": False}),
        ("switch", {"s": 0.001}),  # other requests stay quick beside a long engine step
        (
            "waitress",
            {
                "host": "127.0.0.1",
                "port": 8081,
                "threads": 8,
                # Far over the app's limit, waitress refuses a body without reading it.
                "max_request_body_size": 2 * app.config["MAX_CONTENT_LENGTH"],
            },
        ),
    ]
    with pytest.raises(ValueError, match="workers"):
        webui.serving.serve("127.0.0.1", 8081, 0, app=app)
