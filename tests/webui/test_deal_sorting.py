"""Deal lists sort by any column (issue 14, "Deal basics the peers all have"): the pages by
clicking a header (again for the other way round), the API with `sort`, one rule in the use
case (engine.usecases.deals.sort_order)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.errors import ValidationError
from engine.usecases.service import Service
from tests.conftest import LEAD

from .conftest import login, text


@pytest.fixture
def three(staff: Service) -> list[str]:
    made = []
    for name, amount in (("Beta Co", 300_000), ("Alpha Co", None), ("Gamma Co", 120_000)):
        deal = staff.start(
            "sales_pipeline", owner="alice", actor="alice", data={**LEAD, "company": name},
            amount=amount,
        )  # fmt: skip
        made.append(str(deal["instance_id"]))
    return made


def names(deals: list[dict[str, object]]) -> list[object]:
    return [d["name"] for d in deals]


def test_the_use_case_sorts_by_any_column_empty_values_last(
    staff: Service, three: list[str]
) -> None:
    assert names(staff.instances(sort="deal")) == ["Alpha Co", "Beta Co", "Gamma Co"]
    assert names(staff.instances(sort="-deal")) == ["Gamma Co", "Beta Co", "Alpha Co"]
    assert names(staff.instances(sort="amount")) == ["Gamma Co", "Beta Co", "Alpha Co"]
    assert names(staff.instances(sort="-amount")) == ["Beta Co", "Gamma Co", "Alpha Co"]
    assert names(staff.instances()) == ["Beta Co", "Alpha Co", "Gamma Co"]  # oldest first
    with pytest.raises(ValidationError) as refused:
        staff.instances(sort="password")
    assert refused.value.field == "sort"


def test_the_page_sorts_by_a_clicked_header_and_keeps_it_on_the_next_click(
    client: FlaskClient, three: list[str]
) -> None:
    login(client, "mia")
    page = text(client.get("/deals?sort=-amount"))
    assert page.index("Beta Co") < page.index("Gamma Co") < page.index("Alpha Co")
    assert 'aria-sort="descending"' in page and "sort=amount" in page  # the other way next
    assert text(client.get("/deals?sort=nonsense")).count("Co</strong>") == 3  # ignored


def test_the_api_sorts_and_refuses_an_unknown_column(
    client: FlaskClient, staff: Service, three: list[str]
) -> None:
    token = staff.create_token("mia")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    found = client.get("/api/v1/deals?sort=deal", headers=headers).get_json()["items"]
    assert names(found) == ["Alpha Co", "Beta Co", "Gamma Co"]
    assert client.get("/api/v1/deals?sort=password", headers=headers).status_code == 422
