# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese labels
"""A deal's data as people read it (Service.deal_data_sections): one section per form the
deal went through, in that order, fields in the form's order, choices by their labels in the
reader's language, what no form asked for under "Other"; only for those who may see the deal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import NotFoundError
from engine.usecases.deal_data import DataField, DataSection
from engine.usecases.demo import BIG_DISCOUNT, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

SHOW_LEAD = {**LEAD, "source_channel": "trade_show"}


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def start(service: Service, owner: str = "alice") -> str:
    return str(
        service.start("sales_pipeline", owner=owner, actor=owner, data=dict(SHOW_LEAD))[
            "instance_id"
        ]
    )


def schema_keys(form: str) -> list[str]:
    return list(json.loads((PROCESSES / form).read_text(encoding="utf-8"))["properties"])


def by_key(section: DataSection) -> dict[str, DataField]:
    return {f["key"]: f for f in section["fields"]}


def shown(field: DataField) -> Any:
    """A field as the page shows it: the label, or the value, or its parts."""
    if field["parts"]:
        return [(p["title"], shown(p)) for p in field["parts"]]
    return field["display"] if field["display"] is not None else field["value"]


def test_sections_follow_the_forms_in_the_order_the_deal_went_through(
    pipeline: Service,
) -> None:
    iid = start(pipeline)
    drive(pipeline, iid, BIG_DISCOUNT)  # ... the quote's discount approved, then won
    sections = pipeline.deal_data_sections(iid, "alice", "en")
    assert [(s["form"], s["title"]) for s in sections] == [
        ("lead_received.schema.json", "Lead received"),
        ("qualify_lead.schema.json", "Qualify lead"),
        ("initial_contact.schema.json", "Initial contact"),
        ("needs_analysis.schema.json", "Needs analysis"),
        ("design_proposal.schema.json", "Design proposal"),
        ("prepare_quote.schema.json", "Prepare quote"),
        ("approve_discount.schema.json", "Approve discount"),
        ("negotiate.schema.json", "Negotiate"),
        (None, "Other"),
    ]
    # Fields in the order of the form, those given; the revenue and intent the qualification
    # asked for again are in its section (the value it entered), not twice.
    for section in sections[:-1]:
        keys = [f["key"] for f in section["fields"]]
        form = str(section["form"])
        assert keys == [k for k in schema_keys(form) if k in keys]
    assert [f["key"] for f in sections[0]["fields"]] == ["company", "contact", "source_channel"]
    assert [f["key"] for f in sections[1]["fields"]][:2] == ["annual_revenue", "intent"]
    assert [f["key"] for f in sections[3]["fields"]] == schema_keys("needs_analysis.schema.json")

    lead, qualify, _, needs, _, quote, approval, negotiate, other = sections
    source = by_key(lead)["source_channel"]
    assert (source["title"], source["value"], source["display"], source["kind"]) == (
        "Source channel",
        "trade_show",
        "Trade show",
        "choice",
    )
    assert by_key(lead)["company"]["kind"] == "text"
    assert by_key(qualify)["annual_revenue"] == {
        "key": "annual_revenue",
        "title": "Annual revenue (CNY)",
        "value": 12_000_000,
        "display": None,
        "kind": "money",
        "parts": [],
    }
    assert by_key(quote)["price"]["kind"] == "money"
    assert by_key(quote)["discount_percent"]["kind"] == "number"
    decision = by_key(approval)["discount_approved"]
    assert (decision["value"], decision["display"], decision["kind"]) == (True, "Approve", "bool")
    assert shown(by_key(negotiate)["outcome"]) == "Won"

    fields = by_key(needs)
    assert fields["budget_range"]["kind"] == "object"
    assert [(p["title"], p["kind"], p["value"]) for p in fields["budget_range"]["parts"]] == [
        ("Minimum", "money", 150_000),
        ("Maximum", "money", 300_000),
    ]
    assert fields["pain_points"]["kind"] == "list"
    assert {p["title"] for p in fields["pain_points"]["parts"]} == {"Pain point"}
    assert shown(fields["decision_makers"]) == [("Person", [("Name", "Wang Lei"), ("Role", "COO")])]
    assert shown(fields["main_pain_area"]) == "Efficiency"

    # What scripts and decisions wrote; not the outcome (the negotiation's, and the page's).
    assert [f["key"] for f in other["fields"]] == ["nurture_rounds", "tier", "follow_up_plan"]
    assert [f["title"] for f in other["fields"]] == ["Nurture rounds", "Tier", "Follow up plan"]
    assert by_key(other)["nurture_rounds"]["kind"] == "number"


def test_the_labels_in_chinese(pipeline: Service) -> None:
    iid = start(pipeline)
    drive(pipeline, iid, BIG_DISCOUNT)
    sections = pipeline.deal_data_sections(iid, "alice", "zh-CN,zh;q=0.9")
    assert [s["title"] for s in sections] == [
        "收到线索",
        "线索资格审查",
        "初步接触",
        "需求分析",
        "方案制定",
        "报价",
        "折扣审批",
        "商务谈判",
        "其他",
    ]
    lead, qualify, _, needs, _, _, approval, negotiate, other = sections
    assert (by_key(lead)["source_channel"]["title"], shown(by_key(lead)["source_channel"])) == (
        "线索来源",
        "展会",
    )
    assert by_key(lead)["source_channel"]["value"] == "trade_show"  # the code stays
    assert shown(by_key(qualify)["intent"]) == "高"
    assert shown(by_key(approval)["discount_approved"]) == "批准"
    assert shown(by_key(negotiate)["outcome"]) == "赢单"
    assert shown(by_key(needs)["budget_range"]) == [("最低", 150_000), ("最高", 300_000)]
    assert {p["title"] for p in by_key(needs)["pain_points"]["parts"]} == {"痛点"}
    # Decisions' values by the translations file's labels.
    assert shown(by_key(other)["tier"]) == "A 类：高意向、高价值"
    assert by_key(other)["tier"]["kind"] == "choice"
    assert shown(by_key(other)["follow_up_plan"]) == "每周跟进，制定定制方案"


def test_yes_no_dates_and_money_of_the_later_forms(pipeline: Service) -> None:
    iid = start(pipeline)
    drive(pipeline, iid, WON)
    forms = {s["form"]: by_key(s) for s in pipeline.deal_data_sections(iid, "alice", "en")}
    assert "approve_discount.schema.json" not in forms  # never reached: 3% needs no approval
    approved = forms["legal_review.schema.json"]["template_approved"]
    assert (approved["kind"], approved["display"]) == ("bool", "Yes")
    payment = forms["confirm_down_payment.schema.json"]
    assert (payment["amount_received"]["kind"], payment["amount_received"]["value"]) == (
        "money",
        72_000,
    )
    assert (payment["received_on"]["kind"], payment["received_on"]["value"]) == (
        "date",
        "2026-03-10",
    )
    zh = {s["form"]: by_key(s) for s in pipeline.deal_data_sections(iid, "alice", "zh")}
    assert zh["legal_review.schema.json"]["template_approved"]["display"] == "是"


def test_forms_not_reached_are_not_shown(pipeline: Service) -> None:
    iid = start(pipeline)
    sections = pipeline.deal_data_sections(iid, "alice", "en")
    assert [s["form"] for s in sections] == ["lead_received.schema.json", None]
    # No later form asked again: the whole lead form, in its order.
    assert [f["key"] for f in sections[0]["fields"]] == schema_keys("lead_received.schema.json")
    assert shown(by_key(sections[0])["intent"]) == "High"


def test_other_leaves_out_what_the_page_shows_elsewhere(pipeline: Service) -> None:
    iid = start(pipeline)
    pipeline.mark_lost(iid, user="alice", reason="no budget")
    data = pipeline.show(iid)["data"]
    assert data["outcome"] == "lost" and data["lost_reason"] == "no budget"
    sections = pipeline.deal_data_sections(iid, "alice", "zh")
    other = sections[-1]
    assert other["form"] is None
    assert [f["key"] for f in other["fields"]] == ["nurture_rounds", "lost_at_stage"]
    assert shown(by_key(other)["lost_at_stage"]) == "线索资格审查"


def test_only_those_who_may_see_the_deal_read_its_data(pipeline: Service) -> None:
    iid = start(pipeline)
    assert pipeline.deal_data_sections(iid, "mia", "en")  # a manager sees every deal
    with pytest.raises(NotFoundError) as refused:
        pipeline.deal_data_sections(iid, "bob", "en")  # another rep's deal
    with pytest.raises(NotFoundError) as missing:
        pipeline.deal_data_sections(999, "bob", "en")
    assert str(refused.value) == f"no deal with id '{iid}'"
    assert str(missing.value) == "no deal with id '999'"
    # Where the team shares its deals, a rep reads a colleague's (read only).
    pipeline.add_user("root", ["admin"])
    pipeline.save_team_settings({"reps_see_team_deals": True}, user="root")
    assert pipeline.deal_data_sections(iid, "bob", "en")[0]["form"] == "lead_received.schema.json"
