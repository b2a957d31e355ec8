"""Demo data: a sales team and ~30 deals spread over the stages of the shipped pipeline.

Every deal is driven through the engine exactly as reps would drive it (start, then complete
each task as the person who holds it): nothing is written to the tables directly, except
that the demo initiative (usecases.initiatives.load_demo_initiative) then spreads the times of
their history over the past weeks, so that its before/after effect has something to measure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.core.roles import role_key
from engine.usecases.initiatives import load_demo_initiative
from engine.usecases.service import Service

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
DEMO_PASSWORD = "salesflow"

# username, display name, roles
TEAM: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("wang.fang", "王芳 Wang Fang", ("Sales Rep",)),
    ("li.na", "李娜 Li Na", ("Sales Rep",)),
    ("zhang.wei", "张伟 Zhang Wei", ("Sales Manager", "Sales Rep")),
    ("chen.jie", "陈杰 Chen Jie", ("Product Expert",)),
    ("liu.yang", "刘洋 Liu Yang", ("Legal",)),
    ("zhao.min", "赵敏 Zhao Min", ("Finance",)),
    ("sun.li", "孙丽 Sun Li", ("After-Sales",)),
    ("zhou.xin", "周欣 Zhou Xin", ("Marketing",)),
    ("designer", "Process Designer", ("designer",)),
    ("admin", "Administrator", ("admin",)),
)

# What a rep would type into each task's form (element id -> data).
FORMS: dict[str, dict[str, Any]] = {
    "task_qualify_lead": {
        "annual_revenue": 12_000_000,
        "intent": "high",
        "decision_chain": "known",
        "industry": "Manufacturing",
        "region": "East China",
    },
    "task_nurture_follow_up": {"industry_report_sent": True, "nurture_response": "interested"},
    "task_initial_contact": {"contact_channel": "visit", "contact_notes": "Met the COO on site."},
    "task_needs_analysis": {
        "pain_points": [
            "Quotes take a week to prepare",
            "Leads are lost between trade shows and follow-up",
            "No view of the pipeline for the managers",
        ],
        "main_pain_area": "efficiency",
        "cost_if_persists": "About 15% of qualified leads lost per quarter",
        "tried_before": "Shared spreadsheets",
        "decision_makers": [{"name": "Wang Lei", "role": "COO"}],
        "budget_range": {"min": 150_000, "max": 300_000},
    },
    "task_escalate_needs_idle": {"escalation_action": "Called the rep; meeting booked."},
    "task_design_proposal": {
        "solution_summary": "Pipeline rollout for 40 reps with lead grading.",
        "proposal_document_url": "https://files.example.com/proposals/p-001.pdf",
    },
    "task_prepare_quote": {
        "price": 240_000,
        "discount_percent": 3,
        "delivery_terms": "Rollout within 6 weeks",
        "after_sales_terms": "12 months support",
    },
    "task_approve_discount": {"discount_approved": True, "approval_comment": "Strategic account"},
    "task_negotiate": {"outcome": "won"},
    "task_legal_review": {"template_approved": True},
    "task_confirm_down_payment": {"amount_received": 72_000, "received_on": "2026-03-10"},
    "task_satisfaction_revisit": {
        "satisfaction": 5,
        "upsell_opportunity": True,
        "renewal_opportunity": True,
        "referral_opportunity": True,
    },
    "task_revisit_overdue": {"overdue_action": "Revisit booked for Monday."},
}

Step = tuple[str, dict[str, Any]]  # element id, fields that differ from FORMS

WON: list[Step] = [
    ("task_qualify_lead", {}),
    ("task_initial_contact", {}),
    ("task_needs_analysis", {}),
    ("task_design_proposal", {}),
    ("task_prepare_quote", {}),
    ("task_negotiate", {}),
    ("task_legal_review", {}),
    ("task_confirm_down_payment", {}),
]
BIG_DISCOUNT: list[Step] = [
    *WON[:4],
    ("task_prepare_quote", {"discount_percent": 8}),
    ("task_approve_discount", {}),
    ("task_negotiate", {}),
]
LOST: list[Step] = [
    *WON[:5],
    ("task_negotiate", {"outcome": "lost", "lost_reason": "Budget frozen until next year"}),
]
NURTURE: list[Step] = [
    (
        "task_qualify_lead",
        {"annual_revenue": 2_000_000, "intent": "low", "decision_chain": "unknown"},
    )
]

# (company, contact, channel, annual revenue, intent, owner, path, steps taken)
DEALS: tuple[tuple[str, str, str, int, str, str, list[Step], int], ...] = (
    (
        "华东精密制造 East China Precision",
        "陈总",
        "trade_show",
        18_000_000,
        "high",
        "wang.fang",
        WON,
        0,
    ),
    ("Blue Harbor Logistics", "Anna Lee", "referral", 9_000_000, "high", "li.na", WON, 0),
    ("Sunrise Textiles", "Zhou Ming", "ads", 6_500_000, "medium", "wang.fang", WON, 1),
    ("北方医疗器械 Northern Medical", "刘经理", "content", 22_000_000, "high", "li.na", WON, 1),
    ("Greenfield Foods", "Tom Baker", "social", 7_200_000, "high", "wang.fang", WON, 2),
    ("Pearl River Electronics", "Huang Wei", "trade_show", 31_000_000, "high", "li.na", WON, 2),
    ("Atlas Packaging", "Sara Kim", "referral", 5_400_000, "medium", "wang.fang", WON, 3),
    ("云帆软件 Yunfan Software", "孙工", "content", 12_500_000, "high", "li.na", WON, 3),
    ("Harbor View Hotels", "James Wu", "ads", 8_800_000, "high", "wang.fang", WON, 4),
    ("Kite Robotics", "Mei Lin", "referral", 15_000_000, "high", "li.na", WON, 4),
    (
        "Summit Chemicals",
        "Liu Qiang",
        "trade_show",
        27_000_000,
        "high",
        "wang.fang",
        BIG_DISCOUNT,
        5,
    ),
    ("Orchid Cosmetics", "Jenny Xu", "social", 10_000_000, "high", "li.na", BIG_DISCOUNT, 5),
    (
        "长江建材 Changjiang Materials",
        "周总",
        "trade_show",
        40_000_000,
        "high",
        "wang.fang",
        WON,
        5,
    ),
    ("Nova Solar", "Ben Zhao", "content", 19_000_000, "high", "li.na", WON, 6),
    ("Redwood Furniture", "Grace Ho", "referral", 6_100_000, "high", "wang.fang", BIG_DISCOUNT, 7),
    ("Silverline Auto Parts", "Wang Jun", "trade_show", 33_000_000, "high", "li.na", WON, 6),
    ("Metro Dental Group", "Dr. Fang", "ads", 5_900_000, "high", "wang.fang", WON, 7),
    ("海纳物流 Haina Logistics", "吴经理", "referral", 14_000_000, "high", "li.na", WON, 7),
    ("Crystal Water", "Lucy Tan", "social", 8_300_000, "high", "wang.fang", WON, 8),
    ("Ironbridge Engineering", "Mark Zhou", "trade_show", 25_000_000, "high", "li.na", WON, 8),
    ("Lotus Tea House", "Xu Lan", "social", 5_100_000, "high", "wang.fang", BIG_DISCOUNT, 7),
    ("Falcon Security", "Eric Ma", "referral", 11_000_000, "high", "li.na", LOST, 6),
    ("Maple Education", "Helen Gu", "content", 7_700_000, "high", "wang.fang", LOST, 6),
    ("小米粒餐饮 Xiaomili Catering", "何老板", "social", 1_200_000, "low", "li.na", NURTURE, 1),
    ("Tiny Prints Studio", "Amy Shen", "ads", 800_000, "low", "wang.fang", NURTURE, 1),
    ("Old Town Bakery", "Zhang Li", "other", 600_000, "medium", "li.na", NURTURE, 1),
    ("Quartz Analytics", "Kevin Luo", "content", 13_000_000, "high", "zhang.wei", WON, 3),
    ("Evergreen Clinics", "Nina Wang", "referral", 9_600_000, "high", "zhang.wei", WON, 8),
    ("Vertex Machinery", "Hu Bin", "trade_show", 28_000_000, "high", "wang.fang", WON, 2),
    ("Jade Garden Realty", "Ivy Chen", "ads", 16_000_000, "high", "li.na", WON, 4),
)

Progress = Callable[[int, int, str], None]


def who_completes(service: Service, task: Mapping[str, Any]) -> str:
    """The assignee, or the first user (by name) holding the task's lane."""
    if task["assignee"]:
        return str(task["assignee"])
    lane = role_key(task["lane"] or "")
    for user in service.users():
        if lane in {role_key(r) for r in user["roles"]}:
            return str(user["username"])
    raise LookupError(f"nobody holds the lane {task['lane']!r}")


def complete_step(service: Service, instance_id: str, element_id: str, **changes: Any) -> Any:
    """Complete the open task of `element_id` with the sample form data (plus changes)."""
    tasks = [t for t in service.tasks(instance=instance_id) if t["element_id"] == element_id]
    if len(tasks) != 1:
        open_ids = [t["element_id"] for t in service.tasks(instance=instance_id)]
        raise LookupError(f"deal {instance_id}: {element_id} is not open (open: {open_ids})")
    data = {**FORMS.get(element_id, {}), **changes}
    return service.complete(tasks[0]["task_id"], user=who_completes(service, tasks[0]), data=data)


def drive(service: Service, instance_id: str, steps: Sequence[Step]) -> None:
    for element_id, changes in steps:
        complete_step(service, instance_id, element_id, **changes)


def load_demo(service: Service, *, progress: Progress | None = None) -> dict[str, Any]:
    """Create the demo team, deploy the shipped processes and drive the demo deals."""
    for username, display, roles in TEAM:
        service.add_user(username, roles, password=DEMO_PASSWORD, display_name=display)
    service.deploy([PROCESSES], actor="designer")
    started = []
    for n, (company, contact, channel, revenue, intent, owner, path, steps) in enumerate(DEALS):
        deal = service.start(
            "sales_pipeline",
            owner=owner,
            actor=owner,
            data={
                "company": company,
                "contact": contact,
                "source_channel": channel,
                "annual_revenue": revenue,
                "intent": intent,
            },
        )
        drive(service, deal["instance_id"], path[:steps])
        started.append(deal["instance_id"])
        if progress is not None:
            progress(n + 1, len(DEALS), company)
    load_demo_initiative(service)  # needs the deals above: it measures their history
    return {
        "users": len(TEAM),
        "deals": len(started),
        "password": DEMO_PASSWORD,
        "stages": _stage_counts(service),
    }


def _stage_counts(service: Service) -> dict[str, int]:
    counts: dict[str, int] = {}
    for inst in service.instances(process="sales_pipeline"):
        key = inst["stage"] or "(none)"
        counts[key] = counts.get(key, 0) + 1
    return counts
