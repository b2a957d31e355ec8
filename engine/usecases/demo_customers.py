# ruff: noqa: RUF001 - full-width Chinese punctuation in the demo's Chinese notes
"""The customer side of the demo story (issue 19): the calls, visits and meetings the reps log
as their deals move, the revisit after a win, a team that keeps in touch with its customers
except for a few A customers gone quiet, and the month's targets with one rep ahead and one
behind.  Called by engine.usecases.demo while its clock is moved (time-machine), so every
activity happens at its moment and the figures follow from what happened.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from engine.usecases.service import Service

__all__ = ["QUIET_A_CUSTOMERS", "after_step", "end_of_story", "fill_in", "set_targets"]

# What a rep logs when a step of their deal is done: (kind, notes, next step, days to it).
STEP_ACTIVITIES: dict[str, tuple[str, str, str | None, int]] = {
    "task_initial_contact": ("visit", "首次拜访，介绍产品与案例。First visit.", "发送资料", 3),
    "task_needs_analysis": ("meeting", "需求调研会，确认三个核心痛点。", "方案初稿", 5),
    "task_prepare_quote": ("email", "报价单已发送。Quote sent.", "电话跟进报价", 2),
    "task_negotiate": ("call", "价格与交付条款谈判。", None, 0),
    "task_satisfaction_revisit": ("call", "满意度回访：交付顺利。Revisit call.", None, 0),
}
# A customers left without a word at the end of the story: their follow-up is due.
QUIET_A_CUSTOMERS = 2


def after_step(service: Service, deal: str, owner: str, element: str, at: datetime) -> None:
    """The activity a rep logs with the deal when `element` is done (if any)."""
    found = STEP_ACTIVITIES.get(element)
    if found is None:
        return
    kind, notes, next_step, days = found
    service.log_activity(
        actor=owner,
        kind=kind,
        at=at,
        notes=notes,
        next_step=next_step,
        next_step_at=(at + timedelta(days=days)).date() if next_step else None,
        deal_id=deal,
    )


def end_of_story(service: Service, end: datetime, rng: random.Random, *, skip: set[int]) -> int:
    """The last days: the team calls or messages its customers, all but QUIET_A_CUSTOMERS A
    customers (and the customers in `skip`, gone for good), so those few are due a follow-up;
    then the owners of the customers silent past their tier's rhythm are reminded.  How many
    were reminded."""
    customers = service.customers(None)
    tier_a = [c["id"] for c in customers if c["tier"] == "A" and c["id"] not in skip]
    quiet = set(tier_a[:QUIET_A_CUSTOMERS]) | skip
    for customer in customers:
        if customer["id"] in quiet or not customer["owner"]:
            continue
        at = end - timedelta(days=rng.uniform(0.5, 5))
        service.log_activity(
            actor=customer["owner"],
            kind=rng.choice(("call", "message", "email")),
            at=at,
            notes="例行跟进。Routine follow-up.",
            customer_id=customer["id"],
        )
    return service.remind_silent_customers(end)


# What the team spends on each lead channel a month (the channels report's lead cost): a
# referral costs a fraction of a cold lead, as the sources say.
CHANNEL_COSTS = {"trade_show": 60_000, "ads": 45_000, "content": 20_000, "social": 12_000,
                 "referral": 5_000, "other": 3_000}  # fmt: skip
ROLES_IN_CHAIN = ("决策人 decision maker", "采购 purchasing", "技术评估 technical buyer")


def fill_in(service: Service, manager: str) -> None:
    """What the reps wrote down about their customers along the way: the contact of each
    customer's first deal (with a role in the decision chain and a phone), its industry and
    region from the qualification; and the team's monthly spend per lead channel."""
    for n, customer in enumerate(service.customers(None)):
        found = service.customer(customer["id"], None)
        if not found["deal_ids"] or found["contacts"]:
            continue
        data: dict[str, object] = {}
        for deal in sorted(found["deal_ids"], key=int):
            data = {**service.show(deal)["data"], **data}
        if isinstance(data.get("contact"), str):
            person = {
                "name": data["contact"],
                "role": ROLES_IN_CHAIN[n % len(ROLES_IN_CHAIN)],
                "phone": f"138{n:04d}{(n * 7919) % 10000:04d}",
            }
            service.add_contact(customer["id"], person, manager)
        changes = {k: data[k] for k in ("industry", "region") if isinstance(data.get(k), str)}
        if changes:
            service.update_customer(customer["id"], changes, manager)
    service.set_channel_costs(CHANNEL_COSTS, actor=manager)


def set_targets(service: Service, end: datetime, manager: str) -> None:
    """This month's and last month's targets: the team's, and each rep's, set so that
    wang.fang is ahead of her pace and li.na behind hers (from what they actually did)."""
    for month in (_month(end.replace(day=1) - timedelta(days=1)), _month(end)):
        report = service.targets_report(month, viewer=manager)
        actual = {(r["user"], r["metric"]): Decimal(str(r["actual"] or 0)) for r in report["rows"]}
        elapsed = max(min(float(report.get("elapsed") or 1.0), 1.0), 0.2)
        for rep, factor, floor in (("wang.fang", 0.8, 100_000), ("li.na", 1.6, 400_000)):
            done = actual.get((rep, "won_value"), Decimal(0))
            target = max(Decimal(str(floor)), done / Decimal(str(elapsed)) * Decimal(str(factor)))
            service.set_target(month, rep, "won_value", int(round(target, -4)), actor=manager)
            visits = actual.get((rep, "visits"), Decimal(0))
            wanted = max(4, round(float(visits) / elapsed * factor))
            service.set_target(month, rep, "visits", wanted, actor=manager)
        team = actual.get((None, "won_value"), Decimal(0))
        goal = max(1_000_000, int(round(team * 2, -5)))
        service.set_target(month, None, "won_value", goal, actor=manager)
        service.set_target(month, None, "won_deals", 8, actor=manager)


def _month(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"
