"""Issue 13, item 6, the rest of it: a chart asked for the designer's layout of a process
that has none, and list pages asked for a page beyond any number the database holds, answer
4xx or the last page, never 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA as LOOP
from tests.webui.conftest import login

API = "/api/v1"


@pytest.fixture
def loop_app(app: Flask, staff: Service) -> Iterator[Flask]:
    staff.deploy([LOOP / "review_loop.bpmn", LOOP / "review.schema.json"])  # no BPMN DI
    yield app


def test_a_drawn_layout_of_a_process_without_one_is_a_422(loop_app: Flask, staff: Service) -> None:
    client = loop_app.test_client()
    token = staff.create_token("mia")["token"]
    iid = staff.start("review_loop", owner="alice")["instance_id"]
    headers = {"Authorization": f"Bearer {token}"}
    for path in (
        f"{API}/definitions/review_loop/diagram.svg?layout=drawn",
        f"{API}/deals/{iid}/diagram.svg?layout=drawn",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 422, (path, answer.data[:200])
        assert answer.get_json()["field"] == "layout"
        drawn = client.get(path.replace("drawn", "auto"), headers=headers)
        assert drawn.status_code == 200 and drawn.mimetype == "image/svg+xml"


@pytest.mark.parametrize("path", ["/deals", "/tasks", "/incidents"])
@pytest.mark.parametrize("page", ["99999999999999999999999999", "9223372036854775808", "-5", "x"])
def test_a_page_beyond_any_list_is_an_empty_page_not_a_500(
    client: FlaskClient, path: str, page: str
) -> None:
    login(client, "mia")
    answer = client.get(f"{path}?page={page}")
    assert answer.status_code == 200, answer.data[:300]
