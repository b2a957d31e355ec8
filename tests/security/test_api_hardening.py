"""Issue 13, items 4, 6 and 9 replayed against the API (a real database, Flask's client):
JSON 404/405 for any method and path, 413 before a large body is read, definitions too large
to parse refused by name, and no 500 for ids, numbers or JSON beyond what the database and
the parser hold."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.core.definitions import MAX_FILE_ELEMENTS, check_limits
from engine.errors import DefinitionError
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES
from webui import create_app
from webui.config import DEFAULT_MAX_BODY_BYTES, defaults

API = "/api/v1"


@pytest.fixture
def app(team: Service, db_url: str) -> Iterator[Flask]:
    team.deploy([PROCESSES])
    flask_app = create_app({"TESTING": True, "SALESFLOW_DATABASE_URL": db_url, "SECRET_KEY": "t"})
    yield flask_app
    flask_app.extensions["salesflow"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def mia(team: Service) -> dict[str, str]:
    team.add_user("dora", ["designer"])
    return {"Authorization": f"Bearer {team.create_token('mia')['token']}"}


def json_error(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.data[:300]
    assert answer.mimetype == "application/json"
    body: dict[str, Any] = answer.get_json()
    assert set(body) >= {"error", "message"}
    return body


# --- item 9: never a redirect to the HTML log-in page --------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Accept": "text/html"}])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("TRACE", "/deals", 405),
        ("PROPFIND", "/deals", 405),
        ("TRACE", "/nothing/here", 404),
        ("GET", "/nothing/here", 404),
        ("GET", "", 404),
        ("GET", "/", 404),
        ("GET", "//deals", 404),
        ("GET", "/deals/1/", 404),
        ("DELETE", "/deals/1", 405),
    ],
)
def test_unknown_methods_and_paths_answer_json(
    client: FlaskClient, headers: dict[str, str], method: str, path: str, status: int
) -> None:
    answer = client.open(API + path, method=method, headers=headers)
    assert "Location" not in answer.headers
    json_error(answer, status)
    if status == 405:
        assert "GET" in answer.headers["Allow"] and method not in answer.headers["Allow"]


# --- item 4: the request size limit and the definition caps ------------------------------


class Unreadable(io.RawIOBase):
    """A body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.at = size, 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        # The test client measures the stream (its Content-Length) by seeking: no reading.
        self.at = self.size + offset if whence == io.SEEK_END else offset
        return self.at

    def tell(self) -> int:
        return self.at

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


def test_the_body_limit_is_10_mb_unless_set() -> None:
    assert defaults({})["MAX_CONTENT_LENGTH"] == DEFAULT_MAX_BODY_BYTES == 10_000_000
    assert defaults({"SALESFLOW_MAX_BODY_BYTES": "2048"})["MAX_CONTENT_LENGTH"] == 2048
    with pytest.raises(ValueError, match="SALESFLOW_MAX_BODY_BYTES"):
        defaults({"SALESFLOW_MAX_BODY_BYTES": "ten"})


@pytest.mark.parametrize("path", ["/deals", "/definitions", "/messages/x", "/tasks/x/complete"])
def test_a_body_over_the_limit_is_413_without_being_read(
    client: FlaskClient, mia: dict[str, str], path: str
) -> None:
    answer = client.post(
        API + path,
        input_stream=Unreadable(DEFAULT_MAX_BODY_BYTES + 1),
        headers={**mia, "Content-Type": "application/json"},
    )
    assert json_error(answer, 413)["error"] == "RequestEntityTooLarge"


def test_a_page_answers_413_with_a_page(client: FlaskClient) -> None:
    answer = client.post(
        "/login",
        input_stream=Unreadable(DEFAULT_MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert answer.status_code == 413
    assert answer.mimetype == "text/html" and "Too large" in answer.get_data(as_text=True)


def annotations(count: int) -> str:
    notes = "".join(f'<textAnnotation id="n{i}"/>' for i in range(count))
    return (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
        f'<process id="p" isExecutable="true"><startEvent id="s"/>{notes}</process></definitions>'
    )


def test_a_definition_with_too_many_elements_is_refused_before_parsing(
    client: FlaskClient, mia: dict[str, str], team: Service
) -> None:
    big = annotations(MAX_FILE_ELEMENTS + 1)
    with pytest.raises(DefinitionError, match="too many elements") as caught:
        check_limits({"big.bpmn": big})
    assert caught.value.file == "big.bpmn"
    check_limits({"small.bpmn": annotations(100)})
    dora = {"Authorization": f"Bearer {team.create_token('dora')['token']}"}
    answer = client.post(
        f"{API}/definitions?filename=big.bpmn",
        data=big,
        headers={**dora, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 422
    assert "too many elements" in answer.get_data(as_text=True)
    assert "big.bpmn" in answer.get_data(as_text=True)
    problems = team.check_definition({"big.bpmn": big})
    assert problems[0]["file"] == "big.bpmn" and problems[0]["severity"] == "error"


def test_a_definition_file_too_large_is_refused_by_name() -> None:
    with pytest.raises(DefinitionError, match="too large") as caught:
        check_limits({"huge.bpmn": " " * 3_000_000})
    assert caught.value.file == "huge.bpmn"


# --- item 6: no 500 for numbers beyond the database or the parser ------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/deals/99999999999999999999999",
        "/deals/9223372036854775808",
        "/deals/2147483648",  # beyond PostgreSQL's INTEGER
        "/deals/99999999999999999999999/diagram.svg",
        "/deals/" + "9" * 5000,
    ],
)
def test_ids_beyond_the_database_are_not_found(
    client: FlaskClient, mia: dict[str, str], path: str
) -> None:
    json_error(client.get(API + path, headers=mia), 404)


@pytest.mark.parametrize(
    "query",
    [
        "/deals?offset=99999999999999999999999",
        "/deals?limit=99999999999999999999999",
        "/incidents?offset=9223372036854775808",
        "/definitions/sales_pipeline/diagram.svg?version=99999999999999999999999999",
    ],
)
def test_page_numbers_and_versions_beyond_the_database_are_invalid(
    client: FlaskClient, mia: dict[str, str], query: str
) -> None:
    json_error(client.get(API + query, headers=mia), 422)


def test_a_26_digit_version_is_invalid(client: FlaskClient, mia: dict[str, str]) -> None:
    body = {"process_id": "sales_pipeline", "data": LEAD, "version": 10**25}
    json_error(client.post(f"{API}/deals", json=body, headers=mia), 422)


@pytest.mark.parametrize(
    "amount",
    ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "9" * 25, "[" * 1000 + "]" * 1000],
)
def test_json_the_database_cannot_hold_is_refused(
    client: FlaskClient, mia: dict[str, str], amount: str
) -> None:
    lead = ", ".join(f'"{k}": "{v}"' for k, v in LEAD.items() if isinstance(v, str))
    text = f'{{"process_id": "sales_pipeline", "data": {{{lead}, "annual_revenue": {amount}}}}}'
    answer = client.post(
        f"{API}/deals", data=text, headers={**mia, "Content-Type": "application/json"}
    )
    assert json_error(answer, 422)["error"] == "ValidationError"
    assert client.get(f"{API}/deals", headers=mia).get_json()["items"] == []


def test_nesting_100000_deep_is_refused(client: FlaskClient, mia: dict[str, str]) -> None:
    text = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = client.post(
        f"{API}/tasks/x/complete", data=text, headers={**mia, "Content-Type": "application/json"}
    )
    assert "nested too deep" in json_error(answer, 422)["message"] + str(answer.get_json())
