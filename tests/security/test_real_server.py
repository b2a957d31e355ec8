"""Issue 13: the attack replayed against the real thing — `salesflow serve` (waitress) on the
test database (SQLite, or PostgreSQL in CI's second leg), spoken to over HTTP as a browser
and an API client would.  The other files of tests/security/ go into each finding in depth
through the app; this one shows that each defence holds on the production server too.

Finding 1 (hostile scripts) and 7 (storage failures) have their own real-server tests in
test_hostile_scripts.py and test_storage_failures.py; 8 (the server itself) in
test_server.py."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from engine.store.db import Database
from engine.usecases.service import Service
from tests.conftest import _SCHEMA, ENGINE_DATA, PG_URL, PROCESSES
from tests.security.test_server import serving

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Server:
    def __init__(self, port: int, tokens: dict[str, str]) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.port = port
        self.tokens = tokens

    def api(self, who: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.base}/api/v1{path}", headers=headers, timeout=60, **kwargs
        )

    def browser(self) -> requests.Session:
        return requests.Session()

    def csrf(self, browser: requests.Session, path: str = "/login") -> str:
        found = _TOKEN.search(browser.get(f"{self.base}{path}", timeout=60).text)
        assert found is not None, path
        return found.group(1)

    def login(
        self, browser: requests.Session, user: str, password: str = PASSWORD
    ) -> requests.Response:
        data = {"username": user, "password": password, "csrf_token": self.csrf(browser)}
        return browser.post(f"{self.base}/login", data=data, allow_redirects=False, timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[Server]:
    """One real server for the module, on a database of its own with the test team (on
    PostgreSQL a schema of its own: the other tests empty theirs as they go)."""
    folder = tmp_path_factory.mktemp("real_server")
    schema = None
    if PG_URL:
        schema = f"{_SCHEMA}_server"
        db_url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-c%20search_path%3D{schema}"
        admin = Database(PG_URL)
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    else:
        db_file = folder / "salesflow.sqlite3"
        db_file.write_bytes(_sqlite_template.read_bytes())
        db_url = f"sqlite:///{db_file}"
    db = Database(db_url)
    db.migrate()
    service = Service(db)
    for user, roles in (
        ("alice", ["Sales Rep"]),
        ("mia", ["Sales Manager"]),
        ("fay", ["Finance"]),
        ("root", ["admin"]),
    ):
        service.add_user(user, roles, password=PASSWORD)
    service.deploy([PROCESSES])
    service.deploy([ENGINE_DATA / "review_loop.bpmn", ENGINE_DATA / "review.schema.json"])
    tokens = {u: service.create_token(u, "replay")["token"] for u in ("alice", "mia", "fay")}
    try:
        with serving(db_url, folder, SALESFLOW_MAX_BODY_BYTES="1000000") as (port, _process):
            yield Server(port, tokens)
    finally:
        if schema is not None:
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        db.dispose()


def json_error(answer: requests.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert set(body) >= {"error", "message"}
    return body


# --- 2. log-in throttling ---------------------------------------------------------------------


def test_2_wrong_passwords_are_throttled(server: Server) -> None:
    browser = server.browser()
    statuses = [server.login(browser, "fay", "wrong").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    # Even the right password waits now, and the answer says how long.
    right = server.login(browser, "fay")
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) >= 1


# --- 3. sessions end --------------------------------------------------------------------------


def test_3_a_cookie_saved_before_log_out_no_longer_works(server: Server) -> None:
    browser = server.browser()
    assert server.login(browser, "alice").status_code == 302
    saved = {c.name: c.value or "" for c in browser.cookies}
    assert browser.get(f"{server.base}/tasks", allow_redirects=False).status_code == 200
    token = server.csrf(browser, "/tasks")
    browser.post(f"{server.base}/logout", data={"csrf_token": token}, timeout=60)
    thief = requests.Session()
    thief.cookies.update(saved)
    page = thief.get(f"{server.base}/tasks", allow_redirects=False, timeout=60)
    assert page.status_code == 302 and "/login" in page.headers["Location"]


# --- 4. sizes -------------------------------------------------------------------------------


def test_4_a_body_over_the_limit_is_413_json(server: Server) -> None:
    big = b'{"process_id": "sales_pipeline", "data": {"notes": "' + b"x" * 1_200_000 + b'"}}'
    answer = server.api(
        "alice", "POST", "/deals", data=big, headers={"Content-Type": "application/json"}
    )
    json_error(answer, 413)


def test_4_a_body_far_over_the_limit_is_refused_unread(server: Server) -> None:
    # 50 MB announced, 1 kB sent: refused from the header, the connection not kept waiting.
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(
            b"POST /api/v1/deals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n" + b"{" * 1000
        )
        head = sock.recv(200)
    assert head.startswith(b"HTTP/1.1 413")


def test_4_a_form_field_has_a_default_maximum_length(server: Server) -> None:
    lead = {
        "company": "x" * 10_001,
        "contact": "Li Wei",
        "source_channel": "referral",
        "annual_revenue": 1_000_000,
        "intent": "high",
    }
    answer = server.api(
        "alice", "POST", "/deals", json={"process_id": "sales_pipeline", "data": lead}
    )
    assert "company" in json_error(answer, 422)["message"]


# --- 5. who may start which process, for whom ----------------------------------------------


def test_5_a_rep_cannot_start_the_initiative_process(server: Server) -> None:
    answer = server.api(
        "alice", "POST", "/deals", json={"process_id": "optimization_initiative", "data": {}}
    )
    json_error(answer, 403)


def test_5_a_rep_cannot_give_a_deal_to_finance(server: Server) -> None:
    answer = server.api(
        "alice",
        "POST",
        "/deals",
        json={"process_id": "sales_pipeline", "owner": "fay", "data": {"company": "ACME"}},
    )
    assert "owner" in json.dumps(json_error(answer, 422))


# --- 6. no 500 on odd numbers and JSON ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/deals/99999999999999999999999", "/deals/2147483648", "/deals/-1", "/deals/1e3"],
)
def test_6_ids_beyond_the_database_are_404(server: Server, path: str) -> None:
    json_error(server.api("mia", "GET", path), 404)


@pytest.mark.parametrize(
    "body",
    [
        '{"process_id": "sales_pipeline", "data": {"annual_revenue": NaN}}',
        '{"process_id": "sales_pipeline", "data": {"annual_revenue": Infinity}}',
        '{"process_id": "sales_pipeline", "data": {"n": ' + "9" * 5000 + "}}",
        '{"process_id": "sales_pipeline", "data": ' + "[" * 1000 + "]" * 1000 + "}",
        '{"process_id": "sales_pipeline", "version": 12345678901234567890123456}',
    ],
)
def test_6_json_the_database_cannot_hold_is_422(server: Server, body: str) -> None:
    answer = server.api(
        "alice", "POST", "/deals", data=body, headers={"Content-Type": "application/json"}
    )
    json_error(answer, 422)


def test_6_a_drawn_layout_that_does_not_exist_is_422(server: Server) -> None:
    answer = server.api("mia", "GET", "/definitions/review_loop/diagram.svg?layout=drawn")
    assert json_error(answer, 422)["field"] == "layout"
    assert server.api("mia", "GET", "/definitions/review_loop/diagram.svg").status_code == 200


@pytest.mark.parametrize(
    "query", ["/deals?offset=99999999999999999999999", "/incidents?offset=9223372036854775808"]
)
def test_6_offsets_beyond_the_database_are_422(server: Server, query: str) -> None:
    json_error(server.api("mia", "GET", query), 422)


# --- 9. the API answers in JSON -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("TRACE", "/deals", 405), ("DELETE", "/deals", 405), ("GET", "/no/such/thing", 404)],
)
def test_9_odd_methods_and_paths_answer_json(
    server: Server, method: str, path: str, status: int
) -> None:
    json_error(server.api("mia", method, path), status)


def test_9_without_a_token_the_api_answers_401_json(server: Server) -> None:
    answer = requests.get(f"{server.base}/api/v1/deals", timeout=60)
    json_error(answer, 401)
    assert json.loads(answer.text)["error"]
