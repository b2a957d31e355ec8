"""Issue 13, item 7: a database that cannot store anything (disk full, read-only, its server
gone) answers 503 with a clear message and Retry-After on the pages and the API, /healthz
notices, the command line prints one `error:` line and exits 75; and once the storage is back,
everything committed before is there and the same server works again, without a restart.

The failures are real, no mocks: SQLite's own limits on its connections (`max_page_count` at
the current size: SQLITE_FULL "database or disk is full"; `query_only`: SQLITE_READONLY
"attempt to write a readonly database"), the operating system's file-size limit of a real
`salesflow serve` and of a `salesflow` command (RLIMIT_FSIZE: every write to the database's
files refused, as on a full disk; it works as root too, unlike file permissions), and on
PostgreSQL read-only sessions (`default_transaction_read_only`, set per connection, never on
the shared test database) and a server that stops answering (a TCP relay to it, closed and
opened again).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url

from engine.usecases.service import Service
from tests.conftest import LEAD
from tests.security.test_server import free_port, serving
from tests.webui.conftest import PASSWORD, csrf_token, deal_at_needs_analysis, login

SALESFLOW = Path(sys.executable).parent / "salesflow"
API = "/api/v1"
EX_TEMPFAIL = 75
BIG = "长" * 5000  # a comment that needs new pages of the database
NEW_DEAL = {"process_id": "sales_pipeline", "owner": "alice", "data": LEAD}

# How each failure is made on a connection, by backend: SQL run on every new connection.
SQLITE_FULL = "sqlite-full"
SQLITE_READ_ONLY = "sqlite-read-only"
POSTGRES_READ_ONLY = "postgres-read-only"
FAILURES: dict[str, tuple[str, str]] = {
    SQLITE_FULL: ("sqlite", "full"),
    SQLITE_READ_ONLY: ("sqlite", "read_only"),
    POSTGRES_READ_ONLY: ("postgresql", "read_only"),
}


def backend(url: str) -> str:
    return make_url(url).get_backend_name()


def _make_failure(failure: str) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if failure == SQLITE_FULL:
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count = {pages}")
        elif failure == SQLITE_READ_ONLY:
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        cursor.close()

    return on_connect


@contextmanager
def failing(app: Flask, failure: str) -> Iterator[None]:
    """The app's database fails as `failure` says on every connection while inside.

    The limits live on the connections (unlike a full disk), so the pool starts afresh to
    enter the failure and, on SQLite, to leave it; on PostgreSQL the app replaces its
    connections by itself after a failure (the last thing done inside fails: the health
    check).  `test_a_real_server_on_a_full_disk` shows SQLite coming back with nothing done."""
    engine = app.extensions["salesflow"].db.engine
    if failure == SQLITE_FULL:
        raw = engine.raw_connection()  # no free pages left: every page of the file is used
        try:
            raw.driver_connection.execute("VACUUM")
        finally:
            raw.close()
    on_connect = _make_failure(failure)
    event.listen(engine, "connect", on_connect)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", on_connect)
        if failure != POSTGRES_READ_ONLY:
            engine.dispose()


def bearer(service: Service, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.create_token(user)['token']}"}


def comments(service: Service, deal: str) -> list[str]:
    shown = json.dumps(service.show(deal)["history"], ensure_ascii=False)
    return re.findall(r"storage-test-\d", shown)


@pytest.fixture(params=list(FAILURES))
def failure(request: pytest.FixtureRequest, db_url: str) -> str:
    name: str = request.param
    if FAILURES[name][0] != backend(db_url):
        pytest.skip(f"{name} is a failure of another database")
    return name


def test_pages_api_and_health_answer_503_and_recover(
    app: Flask, staff: Service, failure: str
) -> None:
    client = app.test_client()
    deal = deal_at_needs_analysis(staff)
    headers = bearer(staff, "alice")
    assert login(client, "alice").status_code == 302
    form = {"text": "storage-test-1", "csrf_token": csrf_token(client, "/tasks")}
    assert client.post(f"/deals/{deal}/comments", data=form).status_code == 302
    deals_before = client.get(f"{API}/deals", headers=headers).get_json()["items"]
    reason = FAILURES[failure][1]

    with failing(app, failure):
        page = client.post(f"/deals/{deal}/comments", data={**form, "text": BIG})
        assert page.status_code == 503, page.data[:300]
        assert page.headers["Retry-After"] == "30"
        assert page.mimetype == "text/html"
        html = page.get_data(as_text=True)
        assert "Cannot save right now" in html
        assert "The database cannot store anything right now" in html

        api = client.post(f"{API}/deals", json=NEW_DEAL, headers=headers)
        assert api.status_code == 503, api.data[:300]
        assert api.headers["Retry-After"] == "30"
        body = api.get_json()
        assert body["error"] == "StorageUnavailableError" and body["reason"] == reason
        assert body["message"].startswith("The database cannot store anything right now")
        assert "Nothing was changed" in body["message"]

        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.headers["Retry-After"] == "30"
        assert health.get_json()["status"] == "unavailable"
        assert health.get_json()["reason"] == reason

    # The storage is back: the same app, nothing restarted.
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get(f"{API}/deals", headers=headers).get_json()["items"] == deals_before
    assert comments(staff, deal) == ["storage-test-1"]
    form["text"] = "storage-test-2"
    assert client.post(f"/deals/{deal}/comments", data=form).status_code == 302
    assert client.post(f"{API}/deals", json=NEW_DEAL, headers=headers).status_code == 201
    assert comments(staff, deal) == ["storage-test-1", "storage-test-2"]
    assert len(staff.instances()) == len(deals_before) + 1


def test_healthz_is_ok_and_quick_while_the_database_works(app: Flask) -> None:
    """It is polled, so it stays cheap (a few PRAGMAs and a read on SQLite, a rolled-back
    no-op write on PostgreSQL; its time is measured in bench/, never asserted here)."""
    client = app.test_client()
    for _ in range(3):
        assert client.get("/healthz").get_json() == {"status": "ok"}


# --- the real thing: `salesflow serve` and the `salesflow` command --------------------------


class Browser:
    """A person at a browser, over HTTP: cookies kept, forms sent with their CSRF token."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(
        self,
        path: str,
        *,
        form: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        data = None
        sent = dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.setdefault("Accept", "text/html")
        ask = urllib.request.Request(self.base + path, data=data, headers=sent)
        try:
            with self.opener.open(ask, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def token(self, path: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.request(path)[2])
        assert found is not None, path
        return found.group(1)

    def login(self, user: str) -> None:
        form = {"username": user, "password": PASSWORD, "csrf_token": self.token("/login")}
        status, _headers, page = self.request("/login", form=form)
        assert status == 200 and 'name="password"' not in page, page[:500]


def run_cli(
    db_url: str, *argv: str, limit_writes: bool = False
) -> subprocess.CompletedProcess[str]:
    def no_room() -> None:  # in the child: every write to a file beyond its first byte fails
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))

    return subprocess.run(
        [str(SALESFLOW), *argv],
        env={**os.environ, "SALESFLOW_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=no_room if limit_writes else None,
    )


def start_with_cli(db_url: str, *, limit_writes: bool = False) -> subprocess.CompletedProcess[str]:
    data = json.dumps({**LEAD, "company": "Via CLI"})
    return run_cli(
        db_url, "start", "sales_pipeline", "--owner", "alice", "--data", data,
        limit_writes=limit_writes,
    )  # fmt: skip


def assert_one_error_line(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == EX_TEMPFAIL, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("error: The database cannot store anything right now")
    assert "Traceback" not in done.stderr


def statuses(browser: Browser, deal: str, headers: dict[str, str]) -> dict[str, Any]:
    """What the server answers, now, to a health check, a page write and an API write."""
    form = {"text": BIG, "csrf_token": browser.token("/tasks")}
    health_status, health_headers, health_body = browser.request("/healthz")
    page_status, page_headers, page = browser.request(f"/deals/{deal}/comments", form=form)
    api_status, api_headers, api = browser.request(f"{API}/deals", body=NEW_DEAL, headers=headers)
    return {
        "health": (health_status, health_headers.get("Retry-After"), json.loads(health_body)),
        "page": (page_status, page_headers.get("Retry-After"), "Cannot save right now" in page),
        "api": (api_status, api_headers.get("Retry-After"), json.loads(api).get("error")),
    }


def assert_unavailable(seen: dict[str, Any]) -> None:
    status, retry, body = seen["health"]
    assert (status, retry, body["status"]) == (503, "30", "unavailable"), seen
    assert seen["page"] == (503, "30", True), seen
    assert seen["api"] == (503, "30", "StorageUnavailableError"), seen


def test_a_real_server_on_a_full_disk(tmp_path: Path, db_url: str, staff: Service) -> None:
    """SQLite: the server's file-size limit drops to nothing while it runs (every write of its
    database refused, as on a full disk), then rises again."""
    if backend(db_url) != "sqlite":
        pytest.skip("the file-size limit stops SQLite's writes; PostgreSQL writes in its server")
    deal = deal_at_needs_analysis(staff)
    headers = bearer(staff, "alice")
    with serving(db_url, tmp_path) as (port, process):
        browser = Browser(port)
        browser.login("alice")
        before = {"text": "storage-test-1", "csrf_token": browser.token("/tasks")}
        assert browser.request(f"/deals/{deal}/comments", form=before)[0] == 200
        assert browser.request(f"{API}/deals", body=NEW_DEAL, headers=headers)[0] == 201
        count = len(staff.instances())

        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        try:
            assert_unavailable(statuses(browser, deal, headers))
            assert_one_error_line(start_with_cli(db_url, limit_writes=True))
        finally:
            limits = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, limits)

        assert json.loads(browser.request("/healthz")[2]) == {"status": "ok"}
        assert comments(staff, deal) == ["storage-test-1"]
        assert len(staff.instances()) == count
        seen = statuses(browser, deal, headers)
        assert (seen["health"][0], seen["page"][0], seen["api"][0]) == (200, 200, 201), seen
    assert start_with_cli(db_url).returncode == 0
    assert len(staff.instances()) == count + 2
    with staff.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


class Relay:
    """A TCP relay to the PostgreSQL server: closed, the server is gone for whoever connects
    through it (refused, and the connections it carried cut); opened again, it is back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.carried: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with self.lock:
            carried, self.carried = self.carried, []
        for each in carried:
            with suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.target)
            with self.lock:
                self.carried += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for each in (source, sink):
            with suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)


def test_a_real_server_whose_database_server_goes_away(
    tmp_path: Path, db_url: str, staff: Service
) -> None:
    """PostgreSQL: the database server stops answering while `salesflow serve` runs, then
    answers again."""
    if backend(db_url) != "postgresql":
        pytest.skip("a database server that goes away is PostgreSQL's")
    url = make_url(db_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    deal = deal_at_needs_analysis(staff)
    headers = bearer(staff, "alice")
    relay.open()
    try:
        with serving(relayed, tmp_path) as (port, _process):
            browser = Browser(port)
            browser.login("alice")
            before = {"text": "storage-test-1", "csrf_token": browser.token("/tasks")}
            assert browser.request(f"/deals/{deal}/comments", form=before)[0] == 200
            assert browser.request(f"{API}/deals", body=NEW_DEAL, headers=headers)[0] == 201
            count = len(staff.instances())
            token = browser.token("/tasks")

            relay.close()
            health_status, _headers, health_body = browser.request("/healthz")
            assert health_status == 503, health_body
            assert json.loads(health_body)["reason"] == "unreachable"
            form = {"text": BIG, "csrf_token": token}
            page_status, page_headers, page = browser.request(f"/deals/{deal}/comments", form=form)
            assert (page_status, page_headers.get("Retry-After")) == (503, "30"), page[:500]
            assert "Cannot save right now" in page
            status, api_headers, api = browser.request(
                f"{API}/deals", body=NEW_DEAL, headers=headers
            )
            assert (status, api_headers.get("Retry-After")) == (503, "30"), api
            assert json.loads(api)["error"] == "StorageUnavailableError"
            assert_one_error_line(start_with_cli(relayed))

            relay.open()
            assert json.loads(browser.request("/healthz")[2]) == {"status": "ok"}
            assert comments(staff, deal) == ["storage-test-1"]
            assert len(staff.instances()) == count
            seen = statuses(browser, deal, headers)
            assert (seen["health"][0], seen["page"][0], seen["api"][0]) == (200, 200, 201), seen
    finally:
        relay.close()
    assert start_with_cli(db_url).returncode == 0


def test_the_cli_on_a_read_only_postgresql_session(db_url: str, staff: Service) -> None:
    """PostgreSQL: the command's session is read-only (set for its connections alone)."""
    if backend(db_url) != "postgresql":
        pytest.skip("a PostgreSQL session setting")
    url = make_url(db_url)
    options = url.query.get("options", "")
    options = options if isinstance(options, str) else " ".join(options)
    read_only = url.update_query_dict(
        {"options": f"{options} -c default_transaction_read_only=on".strip()}
    ).render_as_string(hide_password=False)
    count = len(staff.instances())
    assert_one_error_line(start_with_cli(read_only))
    assert len(staff.instances()) == count
    assert start_with_cli(db_url).returncode == 0
