"""Demo data: a sales team and six months of its deals on the shipped pipeline.

Every deal is driven through the engine exactly as reps would drive it (start, then complete
each task as the person who holds it), each step at its own moment of the past six months in
moved time: nothing is written to the tables directly.  So the figures the pages show — days
per stage, stale deals, SLA breaches, won and lost by reason, the initiative's before and
after — come out of what happened, as they would for a real team.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine import clock
from engine.core.roles import role_key
from engine.usecases import demo_customers, demo_integrations
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
    ("task_negotiate", {"outcome": "lost", "lost_reason": "no budget"}),
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


# The story: STORY_DAYS of a team's life, ~60 deals arriving through it.
STORY_DAYS = 180
STORY_DEALS = 60
INITIATIVE_DAYS_AGO = 45  # the faster needs analysis took effect then
SEED = 2026
PRICES = (
    68_000, 85_000, 96_000, 120_000, 135_000, 158_000, 180_000, 210_000, 240_000, 265_000,
    298_000, 350_000, 420_000, 480_000, 560_000, 680_000, 860_000, 1_200_000,
)  # fmt: skip
LOST_REASONS = (
    "price too high", "chose a competitor", "no budget", "no need at the moment", "no decision",
)  # fmt: skip
REPS = ("wang.fang", "li.na", "wang.fang", "li.na", "zhang.wei")
# Returning customers: every RETURNING_EVERY-th deal from RETURNING_FROM on is a renewal or an
# upsell of a customer won early; one customer was won LEGACY_DAYS_BEFORE the story began.
RETURNING_FROM, RETURNING_EVERY = 38, 7
LEGACY_DAYS_BEFORE = 380
MORE_COMPANIES = (
    ("蓝海贸易 Blue Ocean Trading", "钱经理"), ("Golden Gate Hardware", "Leo Fang"),
    ("Morning Star Printing", "Ruby Qin"), ("华南电气 South China Electric", "冯工"),
    ("Pine Valley Dairy", "Oscar Lin"), ("Swift Courier", "Daisy Hu"),
    ("恒达机械 Hengda Machinery", "马总"), ("Clearview Optics", "Ian Deng"),
    ("Bright Future Kindergarten", "Cathy Yu"), ("Riverside Hospital", "Dr. Peng"),
    ("同心装饰 Tongxin Decoration", "邓老板"), ("Peak Outdoor Gear", "Sam Ren"),
    ("Urban Coffee Roasters", "Nora Bai"), ("天宇光电 Tianyu Optoelectronics", "韩工"),
    ("Harmony Home Textiles", "Iris Lu"), ("Apex Steel", "Victor Cao"),
    ("金桥会展 Jinqiao Exhibitions", "曹经理"), ("Cedar Legal Services", "Frank Wei"),
    ("Oriental Pearl Jewellery", "Coco Tang"), ("Skyline Property", "Henry Pan"),
    ("绿源农业 Lvyuan Agriculture", "叶总"), ("Delta Water Pumps", "Peter Xie"),
    ("Maple Leaf Travel", "Joyce Fu"), ("北辰软件 Beichen Software", "陆工"),
    ("Sunflower Pharmacy", "Wendy Guo"), ("Titan Logistics Park", "Raymond Sun"),
    ("雅致家居 Yazhi Home", "苏经理"), ("Nimbus Cloud Services", "Alan Shi"),
    ("Rose Garden Bakery", "May Zeng"), ("Granite Quarry Co.", "Tony Kong"),
)  # fmt: skip


@dataclass
class _Plan:
    """One demo deal: who it is, the steps it will take, and when each is due."""

    company: str
    contact: str
    channel: str
    revenue: int
    intent: str
    owner: str
    steps: list[Step]
    start: datetime
    gaps: list[float]  # days before each step
    price: int
    deal: str | None = None


def _plans(rng: random.Random, begin: datetime, effective: datetime) -> list[_Plan]:
    """STORY_DEALS deals spread over the story: names from DEALS and MORE_COMPANIES, varied
    channels, reps and values; about a third won, a sixth lost (with their reasons), a few
    nurtured; the rest still open wherever their time ran out."""
    people = [(company, contact) for company, contact, *_ in DEALS] + list(MORE_COMPANIES)
    channels = ("trade_show", "referral", "ads", "content", "social", "other")
    plans = []
    for n in range(STORY_DEALS):
        company, contact = people[n % len(people)]
        start = begin + timedelta(days=STORY_DAYS * n / STORY_DEALS + rng.uniform(0, 2))
        price = rng.choice(PRICES)
        fate = rng.random()
        if fate < 0.12:
            steps, revenue, intent = list(NURTURE), rng.choice((600_000, 1_200_000)), "low"
        elif fate < 0.32:
            reason = LOST_REASONS[n % len(LOST_REASONS)]
            steps = [*WON[:5], ("task_negotiate", {"outcome": "lost", "lost_reason": reason})]
            revenue, intent = rng.randrange(5_000_000, 30_000_000, 100_000), "high"
        else:
            steps = list(BIG_DISCOUNT if rng.random() < 0.2 else WON)
            if steps[-1][0] == "task_confirm_down_payment" and rng.random() < 0.8:
                steps.append(("task_satisfaction_revisit", {}))  # most are revisited in time
            revenue, intent = rng.randrange(5_000_000, 40_000_000, 100_000), "high"
        steps = [_priced(element, changes, price) for element, changes in steps]
        steps = [_where(element, changes, n) for element, changes in steps]
        if len(steps) > 3 and rng.random() < 0.12:
            steps = steps[: rng.randrange(2, len(steps) - 1)]  # the rep lost track: it stalls
        if n % 9 == 5 and start > begin + timedelta(days=STORY_DAYS - 40):
            steps = steps[:2]  # a recent lead whose needs analysis is overdue (past its SLA)
        gaps = []
        for element, _changes in steps:
            days = rng.uniform(1.5, 12)
            if element == "task_design_proposal":  # the needs analysis before it
                days = rng.uniform(2.5, 4) if start + timedelta(days=20) > effective else 6.5
            gaps.append(days)
        plans.append(
            _Plan(
                company=company,
                contact=contact,
                channel=channels[rng.randrange(len(channels))],
                revenue=revenue,
                intent=intent,
                owner=REPS[n % len(REPS)],
                steps=steps,
                start=start,
                gaps=gaps,
                price=price,
            )
        )
    _returning(plans)
    # A customer won long before the story, who never bought again: churned.
    legacy = _Plan("旧港贸易 Old Harbor Trading", "郑经理", "trade_show", 9_000_000, "high",
                   "li.na", list(WON), begin - timedelta(days=LEGACY_DAYS_BEFORE),
                   [3.0] * len(WON), 180_000)  # fmt: skip
    plans.append(legacy)
    return plans


def _returning(plans: list[_Plan]) -> None:
    """Customers who buy again: a few deals late in the story are renewals or upsells of a
    customer won early in it, by the same rep (one customer, several deals)."""
    won = [p for p in plans[:30] if any(e == "task_confirm_down_payment" for e, _ in p.steps)]
    for plan, earlier in zip(plans[RETURNING_FROM::RETURNING_EVERY], won, strict=False):
        plan.company, plan.contact, plan.owner = earlier.company, earlier.contact, earlier.owner
        plan.steps = [_priced(e, c, plan.price) for e, c in WON]
        plan.gaps = [max(g, 1.5) for g in (plan.gaps + [3.0] * len(WON))[: len(WON)]]


# What the qualification records about each lead: an industry and a region of the team's
# market (chosen by the deal's number, so the story's randomness stays as it was).
INDUSTRIES = ("制造业 Manufacturing", "零售 Retail", "医疗 Healthcare", "物流 Logistics",
              "软件 Software", "教育 Education", "餐饮 Catering")  # fmt: skip
REGIONS = ("上海 Shanghai", "江苏 Jiangsu", "浙江 Zhejiang", "广东 Guangdong", "北京 Beijing",
           "四川 Sichuan")  # fmt: skip


def _where(element: str, changes: dict[str, Any], n: int) -> Step:
    if element != "task_qualify_lead":
        return element, changes
    industry, region = INDUSTRIES[n % len(INDUSTRIES)], REGIONS[(n * 5) % len(REGIONS)]
    return element, {**changes, "industry": industry, "region": region}


def _priced(element: str, changes: dict[str, Any], price: int) -> Step:
    """A step with the deal's own price (the quote) and the down payment that follows."""
    if element == "task_prepare_quote":
        return element, {**changes, "price": price}
    if element == "task_confirm_down_payment":
        return element, {**changes, "amount_received": round(price * 0.3)}
    return element, changes


def load_demo(
    service: Service,
    *,
    progress: Progress | None = None,
    tick: Callable[[], object] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create the demo team, deploy the shipped processes and live six months of a team's
    sales: STORY_DEALS deals start over STORY_DAYS and are driven step by step, each at its
    own moment in moved time (time-machine), so that history, stages, stale deals, SLAs,
    escalations and reports all read like a real team's.  `tick` fires what is due (the
    command line passes the worker's timers: engine.jobs.timers), called at every moment the
    story moves to.  A deal whose next step would come after `now` waits there, open."""
    import time_machine  # moves the clock of the engine and of SpiffWorkflow alike

    end = now or clock.now()
    begin = end - timedelta(days=STORY_DAYS)
    effective = end - timedelta(days=INITIATIVE_DAYS_AGO)
    rng = random.Random(SEED)
    plans = _plans(rng, begin, effective)
    first = min(p.start for p in plans)
    with time_machine.travel(first - timedelta(days=1), tick=False) as traveller:
        for username, display, roles in TEAM:
            service.add_user(username, roles, password=DEMO_PASSWORD, display_name=display)
        service.deploy([PROCESSES], actor="designer")
        links = demo_integrations.connect(service, end)  # before the deals it is told of
        # (when, plan, step): the next thing that happens, in the order it happens.
        moments: list[tuple[datetime, int, int]] = [(p.start, n, -1) for n, p in enumerate(plans)]
        heapq.heapify(moments)
        started = 0
        while moments:
            at, n, step = heapq.heappop(moments)
            if at > end:
                continue  # its time has not come: the deal waits there
            traveller.move_to(at)
            if tick is not None:
                tick()
            if at < end - timedelta(days=QUIET_DAYS):
                _follow_up(service, at)
            plan = plans[n]
            if step < 0:
                plan.deal = _start(service, plan)
                started += 1
                if progress is not None:
                    progress(started, len(plans), plan.company)
            else:
                element, changes = plan.steps[step]
                complete_step(service, str(plan.deal), element, **changes)
                demo_customers.after_step(service, str(plan.deal), plan.owner, element, at)
            links.at(at)  # the deliveries of what just happened
            if step + 1 < len(plan.steps):
                later = at + timedelta(days=plan.gaps[step + 1])
                heapq.heappush(moments, (later, n, step + 1))
        traveller.move_to(end)
        if tick is not None:
            tick()
        churned = service.show(str(plans[-1].deal))["customer_id"]
        demo_customers.end_of_story(service, end, rng, skip={churned} if churned else set())
        demo_customers.fill_in(service, "zhang.wei")
        demo_customers.set_targets(service, end, "zhang.wei")
        # Needs the deals above: it measures their history before and after it took effect.
        load_demo_initiative(service, effective_days_ago=INITIATIVE_DAYS_AGO, retime=False)
        _designer_draft(service)
        links.at(end)  # the last notifications handed on: nothing left for the worker to send
        links.pause()  # and nothing the team does later goes to the test endpoint
    return {
        "users": len(TEAM),
        "deals": started,
        "password": DEMO_PASSWORD,
        "stages": _stage_counts(service),
    }


# The designer's unpublished idea, for the what-if simulation (engine.usecases.simulation):
# the needs analysis done with the standard pain-point survey in three working days.
DRAFT_NEEDS_DURATION = "P3D"


def _designer_draft(service: Service) -> None:
    """Keep the designer's draft of the pipeline: the needs analysis with a `duration` the
    simulation reads, so that the simulation page has a change to show beside the current
    version, and the sales order created in the ERP by a connector, so that the designer's
    connector panel has one to show."""
    files = service.definition_files("sales_pipeline")
    name = next(n for n, text in files.items() if 'id="task_needs_analysis"' in text)
    task = files[name].index('id="task_needs_analysis"')
    at = files[name].index("<spiffworkflow:properties>", task) + len("<spiffworkflow:properties>")
    duration = f'<spiffworkflow:property name="duration" value="{DRAFT_NEEDS_DURATION}" />'
    changed = files[name][:at] + duration + files[name][at:]
    service.save_draft_definition(
        "sales_pipeline",
        demo_integrations.with_erp_order({**files, name: changed}),
        actor="designer",
        base_version=1,
    )


# What the timers open beside the main path, and how many days the team takes to do it.
FOLLOW_UPS = {"task_escalate_needs_idle": 1, "task_revisit_overdue": 1, "task_nurture_follow_up": 4}
# The last days of the story, when the team is behind: what the timers opened stays open
# (escalations waiting for the manager, revisits overdue), as on any real Monday.
QUIET_DAYS = 12


def _follow_up(service: Service, at: datetime) -> None:
    """The team does what the timers opened a few days ago: the manager answers escalations,
    after-sales books overdue revisits, marketing follows up nurtured leads (which are then
    qualified again: still not ready, so they go on nurturing, until lost after 3 rounds)."""
    for task in service.tasks():
        days = FOLLOW_UPS.get(task["element_id"])
        created = task["created_at"]
        if days is None or created is None:
            continue
        if clock.parse_iso(created) > at - timedelta(days=days):
            continue
        complete_step(service, task["instance_id"], task["element_id"])
        if task["element_id"] == "task_nurture_follow_up":
            drive(service, task["instance_id"], NURTURE)


def _start(service: Service, plan: _Plan) -> str:
    deal = service.start(
        "sales_pipeline",
        owner=plan.owner,
        actor=plan.owner,
        data={
            "company": plan.company,
            "contact": plan.contact,
            "source_channel": plan.channel,
            "annual_revenue": plan.revenue,
            "intent": plan.intent,
        },
        # The value the rep expects (the quote will say it exactly) and when it should close.
        amount=plan.price,
        expected_close=(plan.start + timedelta(days=sum(plan.gaps) + 14)).date().isoformat(),
    )
    return str(deal["instance_id"])


def _stage_counts(service: Service) -> dict[str, int]:
    counts: dict[str, int] = {}
    for inst in service.instances(process="sales_pipeline"):
        key = inst["stage"] or "(none)"
        counts[key] = counts.get(key, 0) + 1
    return counts
