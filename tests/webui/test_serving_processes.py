"""Issue 16: `salesflow serve --processes N` — gunicorn's gthread processes on PostgreSQL.

Run for real: two processes on the test database, spoken to over HTTP on fresh connections,
so that a log-in made by one process and a form token handed out by one are used on the other
(each answer names its process in the X-Salesflow-Process header).  The refusals (SQLite, no
shared secret key) come before anything is opened."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import PG_URL
from tests.security.test_server import SALESFLOW, free_port, health
from tests.webui.conftest import LEAD, PASSWORD
from webui.multiprocess import PROCESS_HEADER, refusal

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TRIES = 200  # fresh connections before giving up on seeing both processes take part


def token_of(page: requests.Response) -> str:
    found = _TOKEN.search(page.text)
    assert found is not None, (page.status_code, page.url)
    return found.group(1)


@pytest.mark.skipif(not PG_URL, reason="several processes need PostgreSQL")
@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn forks")
def test_two_processes_share_log_ins_and_form_tokens(
    tmp_path: Path, db_url: str, staff: Service
) -> None:
    deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    env = {
        **os.environ,
        "SALESFLOW_DATABASE_URL": db_url,
        "SALESFLOW_VAR_DIR": str(tmp_path),  # no stored key there: the shared one is used
        "SALESFLOW_SECRET_KEY": secrets.token_hex(32),
    }
    port = free_port()
    server = subprocess.Popen(
        [str(SALESFLOW), "serve", "--port", str(port), "--processes", "2", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        server_name, _body = health(port, server)
        browser = requests.Session()
        browser.headers["Connection"] = "close"  # a new connection each time: any process
        login_page = browser.get(f"{base}/login", timeout=60)
        answer = browser.post(
            f"{base}/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token_of(login_page)},
            allow_redirects=False,
            timeout=60,
        )
        assert answer.status_code == 302, answer.text[:300]
        logged_in_by = answer.headers[PROCESS_HEADER]
        seen = {login_page.headers[PROCESS_HEADER], logged_in_by}
        crossed = {"log-in": False, "form token": False}
        posted = 0
        for _ in range(TRIES):
            page = browser.get(f"{base}/deals/{deal}", allow_redirects=False, timeout=60)
            assert page.status_code == 200, page.status_code  # still logged in
            sent = browser.post(
                f"{base}/deals/{deal}/comments",
                data={"text": f"comment {posted}", "csrf_token": token_of(page)},
                allow_redirects=False,
                timeout=60,
            )
            assert sent.status_code == 302, (sent.status_code, sent.text[:300])
            posted += 1
            shown_by, taken_by = page.headers[PROCESS_HEADER], sent.headers[PROCESS_HEADER]
            seen |= {shown_by, taken_by}
            crossed["log-in"] |= shown_by != logged_in_by
            crossed["form token"] |= shown_by != taken_by
            if all(crossed.values()):
                break
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=60)
    assert server_name == "gunicorn"
    assert len(seen) == 2 and all(crossed.values()), (seen, crossed)
    comments = [h for h in staff.show(deal)["history"] if h["kind"] == "comment"]
    assert len(comments) == posted
    assert b"Traceback" not in err, err.decode()[-3000:]


def serve_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> str:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", url)
    with pytest.raises(SystemExit) as stopped:
        main(["--json", "serve", "--port", str(free_port()), *args])
    assert stopped.value.code == 2
    message: str = json.loads(capsys.readouterr().err)["message"]
    return message


def test_several_processes_are_refused_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALESFLOW_SECRET_KEY", "a shared secret")
    file = tmp_path / "one-writer.sqlite3"
    message = serve_refused(monkeypatch, capsys, f"sqlite:///{file}", "--processes", "2")
    assert "several processes need PostgreSQL" in message
    assert not file.exists()  # refused before the database was opened


def test_several_processes_need_the_shared_secret_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SALESFLOW_SECRET_KEY", raising=False)
    # A server nobody listens on: the refusal comes before any connection.
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    message = serve_refused(monkeypatch, capsys, url, "--processes", "2")
    assert "SALESFLOW_SECRET_KEY" in message


def test_a_port_in_use_is_said_in_a_sentence_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with socket.socket() as other:  # another program listens there
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            main(["serve", "--port", str(port)])
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert f"127.0.0.1:{port} is in use" in said and "--port" in said
    assert "Traceback" not in said


def test_windows_serves_with_waitress_only() -> None:
    pg = "postgresql+psycopg://db/sales"
    assert refusal(2, pg, {"SALESFLOW_SECRET_KEY": "k"}, "linux") is None
    assert refusal(1, "sqlite:///x", {}, "linux") is None  # one process: no shared key needed
    found = refusal(2, pg, {"SALESFLOW_SECRET_KEY": "k"}, "win32")
    assert found is not None and "Windows" in found
