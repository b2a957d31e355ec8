"""Issue 13, item 6, as schemathesis found it again: a NUL character (U+0000) in text, or a
deal id of 10 digits, was a 500 on PostgreSQL, which can neither store nor compare the one nor
hold the other.  The API refuses both (tests/security/test_schemathesis.py replays those); so
do the pages and the use cases behind the command line."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.errors import NotFoundError
from engine.usecases.service import Service
from tests.webui.conftest import login, post


def test_a_nul_in_a_page_filter_is_refused(client: FlaskClient) -> None:
    login(client, "mia")
    page = client.get("/deals?q=ACME%00")
    assert page.status_code == 422
    assert "NUL" in page.get_data(as_text=True)
    assert client.get("/deals?q=ACME").status_code == 200


def test_a_nul_in_a_posted_form_is_refused(client: FlaskClient) -> None:
    login(client, "alice")
    answer = post(client, "/deals/new", {"company": "ACME\x00", "contact": "Li Wei"})
    assert answer.status_code == 422


def test_a_nul_in_a_page_path_is_not_found(client: FlaskClient) -> None:
    login(client, "mia")
    assert client.get("/deals/1%00").status_code == 404


def test_a_message_for_a_deal_id_no_row_can_have_is_not_found(staff: Service) -> None:
    # 10 digits pass the message's own check, but beyond 2**31 - 1 PostgreSQL's INTEGER
    # overflows: through the CLI and the pages as through the API, a 404.
    with pytest.raises(NotFoundError, match="no deal with id '9999999999'"):
        staff.deliver_message("contract_signed", instance_id="9999999999")
