"""The funnel's lost reasons read as the process labels them, in the reader's language, not
as stored codes (issue 14, "Values read as a person writes them")."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.usecases.demo import LOST, drive
from engine.usecases.service import Service
from tests.conftest import LEAD

from .conftest import login, post, text


def test_the_funnel_names_lost_reasons_by_their_labels(client: FlaskClient, staff: Service) -> None:
    deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    drive(staff, deal["instance_id"], LOST)  # lost at the negotiation: "no budget"
    login(client, "mia")
    english = text(client.get("/reports/funnel"))
    assert "No budget" in english and ">no budget<" not in english
    post(client, "/language", {"lang": "zh-Hans"})
    assert "预算不足" in text(client.get("/reports/funnel"))


def test_report_filters_list_only_people_who_sell(client: FlaskClient, staff: Service) -> None:
    login(client, "mia")
    page = text(client.get("/reports/funnel"))
    owners = page[page.index('name="owner"') : page.index("</select>", page.index('name="owner"'))]
    assert 'value="alice"' in owners and 'value="mia"' in owners
    assert 'value="fay"' not in owners and 'value="lena"' not in owners  # Finance, Legal
