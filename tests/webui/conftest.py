"""The web app over a real database: the test team with passwords, the shipped processes, and
a browser-like client that reads the CSRF token from the pages it gets (CSRF stays on)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import TestResponse

from engine.core.passwords import hash_password
from engine.store.models import User
from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD as BASE_LEAD
from tests.conftest import PROCESSES
from webui import create_app

PASSWORD = "s3cret-pass"
LEAD = {**BASE_LEAD, "company": "ACME Tools"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def password_hash() -> str:
    # scrypt is slow on purpose: hash the test password once, not ten times per test.
    return hash_password(PASSWORD)


@pytest.fixture
def staff(team: Service, password_hash: str) -> Service:
    """The test team (alice/bob reps, mia manager, ...) with passwords, plus a designer and an
    admin, and the shipped processes deployed."""
    team.add_user("alice", display_name="Alice Rep")
    team.add_user("dora", ["designer"])
    team.add_user("root", ["admin"])
    with team.db.write() as s:
        s.execute(update(User).values(password_hash=password_hash))
    team.deploy([PROCESSES], actor="dora")
    return team


@pytest.fixture
def app(db_url: str, staff: Service) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SALESFLOW_DATABASE_URL": db_url, "SECRET_KEY": "test"})
    yield app
    app.extensions["salesflow"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The token of the session, as a browser reads it from a rendered form."""
    page = client.get(url)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found is not None, f"no csrf_token on {url} ({page.status_code})"
    return found.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def post(
    client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any
) -> TestResponse:
    """POST like the page's form does: with the session's CSRF token."""
    token = csrf_token(client, "/tasks")
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kw)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def deal_at_needs_analysis(
    service: Service, owner: str = "alice", company: str = "ACME Tools"
) -> str:
    """A deal of `owner` whose open task is the needs analysis (assigned to the owner)."""
    deal = service.start(
        "sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": company}
    )
    drive(service, deal["instance_id"], WON[:2])
    return str(deal["instance_id"])


def open_task(service: Service, instance_id: str, element_id: str) -> dict[str, Any]:
    found = [t for t in service.tasks(instance=instance_id) if t["element_id"] == element_id]
    assert len(found) == 1, service.tasks(instance=instance_id)
    return dict(found[0])
