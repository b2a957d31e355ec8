"""The demo's initiative (engine.usecases.demo loads it after the demo deals): faster needs
analysis, in its execution loop, with a table, one review and an effect to measure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from engine import clock
from engine.core.roles import role_key
from engine.store.changes import touch
from engine.store.models import History, Instance
from engine.usecases.initiatives.table import process_graph

if TYPE_CHECKING:
    from engine.usecases.service import Service

__all__ = ["PREPARATION", "load_demo_initiative"]

DEMO_LEAD = "zhang.wei"
DEMO_EFFECTIVE_DAYS_AGO = 14
# What the lead entered in the preparation tasks (element id -> form data).
PREPARATION: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "task_locate_core_problem",
        {
            "problem_source": "data",
            "core_problem": "Needs analysis takes too long: deals wait a week for the survey",
            "baseline_metrics": [{"metric": "days in needs analysis", "value": 6}],
            "improvement_goal": "Cut the time in needs analysis by 20%",
        },
    ),
    (
        "task_map_current_process",
        {
            "process_steps": [
                {"step": "Needs analysis", "owner_role": "Sales Rep", "duration_days": 6}
            ]
        },
    ),
    (
        "task_form_team",
        {
            "initiative_lead": DEMO_LEAD,
            "team_members": [
                {"name": "wang.fang", "role": "Sales Rep"},
                {"name": "li.na", "role": "Sales Rep"},
            ],
        },
    ),
    (
        "task_break_goal_into_tasks",
        {
            "execution_tasks": [
                {
                    "stage": "needs analysis",
                    "task": "Standard pain-point survey",
                    "responsible_role": "Sales Rep",
                    "responsible_person": "li.na",
                    "planned_date": "2026-03-05",
                }
            ]
        },
    ),
)
DEMO_ROWS: tuple[dict[str, Any], ...] = (
    {
        "stage": "Customer development",
        "task": "Screen prospects by industry and size",
        "owner": "wang.fang",
        "status": "done",
        "notes": "Added the filter annual revenue ≥ 5,000,000 CNY",
        "elements": ["task_qualify_lead"],
        "plan_days": -40,
        "done_days": -39,
    },
    {
        "stage": "Needs analysis",
        "task": "Standard pain-point survey (three-step questioning)",
        "owner": "li.na",
        "status": "blocked",
        "notes": "Customers resist the survey; shorten it to 5 questions",
        "elements": ["task_needs_analysis"],
        "plan_days": -20,
    },
    {
        "stage": "Needs analysis",
        "task": "Survey template in the needs-analysis form",
        "owner": "wang.fang",
        "status": "in progress",
        "notes": "",
        "elements": ["task_needs_analysis"],
        "plan_days": 3,
    },
    {
        "stage": "Quote and negotiation",
        "task": "Price terms with the 5% room",
        "owner": DEMO_LEAD,
        "status": "not started",
        "notes": "Legal must review the template",
        "contact": "刘洋 Liu Yang (Legal)",
        "elements": ["task_prepare_quote", "task_negotiate"],
        "plan_days": 10,
    },
)
# Days deals spend in a user task in the demo's past: (before, after) the initiative.
DEMO_STAY_DAYS = {"task_needs_analysis": (6.0, 3.0)}
DEMO_OTHER_STAY_DAYS = (1.0, 1.0)


def load_demo_initiative(
    service: Service, *, effective_days_ago: int = DEMO_EFFECTIVE_DAYS_AGO, retime: bool = True
) -> dict[str, Any]:
    """The demo's initiative: faster needs analysis, in its execution loop, with a table
    and one review, and a measurable effect.

    With `retime`, the demo deals were all driven a moment ago, so their history first gets
    the times of a past: every other deal ran before the initiative took effect
    (`effective_days_ago`), spending about 6 days in needs analysis; the rest ran after it,
    spending about 3.  Only the times of their history rows (and when they were created or
    completed) are rewritten; what happened stays as the engine recorded it.  Without it the
    deals already lived through those months (engine.usecases.demo drives them in moved time).
    """
    now = clock.now()
    effective = now - timedelta(days=effective_days_ago)
    if retime:
        _retime_demo_deals(service, "sales_pipeline", effective)
    ini = service.create_initiative(
        name="需求分析提速 Faster needs analysis",
        process_id="sales_pipeline",
        lead=DEMO_LEAD,
        actor=DEMO_LEAD,
        effective_at=effective,
    )
    assert ini["instance_id"] is not None
    for element_id, data in PREPARATION:
        [task] = [
            t for t in service.tasks(instance=ini["instance_id"]) if t["element_id"] == element_id
        ]
        who = task["assignee"] or _holder(service, task["lane"])
        service.complete(task["task_id"], user=who, data=data)
    today = now.date()
    for spec in DEMO_ROWS:
        fields = {k: v for k, v in spec.items() if k not in ("plan_days", "done_days")}
        fields["planned_date"] = (today + timedelta(days=spec["plan_days"])).isoformat()
        if "done_days" in spec:
            fields["actual_date"] = (today + timedelta(days=spec["done_days"])).isoformat()
        service.add_initiative_row(ini["id"], fields, actor=DEMO_LEAD)
    service.record_review(
        ini["id"], actor=DEMO_LEAD, notes="The survey is blocked: customers resist it."
    )
    return service.initiative(ini["id"])


def _holder(service: Service, lane: str | None) -> str:
    key = role_key(lane or "")
    for user in service.users():
        if key in {role_key(r) for r in user["roles"]}:
            return str(user["username"])
    raise LookupError(f"nobody holds the lane {lane!r}")


def _retime_demo_deals(service: Service, process_id: str, effective: datetime) -> None:
    """Spread the demo deals of `process_id` over the weeks around `effective` (see
    load_demo_initiative): even-numbered ones before it, odd-numbered ones after it."""
    with service.db.write() as s:
        deals = list(
            s.execute(
                select(Instance.id, Instance.status)
                .where(Instance.process_id == process_id)
                .order_by(Instance.id)
            )
        )
        manual = {
            n.id
            for n in process_graph(service.space, s, process_id)[0].nodes
            if n.kind in ("userTask", "manualTask")
        }
        changes: list[dict[str, Any]] = []
        for n, (iid, status) in enumerate(deals):
            after = n % 2 == 1
            k = n // 2
            if after:
                cursor = effective + timedelta(hours=3 * k)
            else:
                cursor = effective - timedelta(days=60) + timedelta(days=2 * k)
            start = cursor
            for hid, element_id, entered in s.execute(
                select(History.id, History.element_id, History.entered_at)
                .where(History.instance_id == iid)
                .order_by(History.id)
            ):
                values: dict[str, Any] = {"id": hid, "at": cursor, "entered_at": None}
                if entered is not None:
                    values["entered_at"] = cursor
                    cursor += _demo_stay(element_id, element_id in manual, after, k)
                    values["at"] = cursor
                changes.append(values)
            s.execute(
                update(Instance)
                .where(Instance.id == iid)
                .values(
                    created_at=start,
                    completed_at=cursor if status == "completed" else None,
                )
                .execution_options(synchronize_session=False)
            )
        if changes:
            s.execute(update(History), changes)  # by primary key, one executemany
            for iid, _status in deals:  # the report facts follow the history's new times
                touch(s, iid)


def _demo_stay(element_id: str | None, manual: bool, after: bool, k: int) -> timedelta:
    """How long a demo deal stayed at an element: people take days, the engine a second;
    the linked element varies a little from deal to deal."""
    if not manual:
        return timedelta(seconds=1)
    if element_id in DEMO_STAY_DAYS:
        days = DEMO_STAY_DAYS[element_id][int(after)] + (k % 3 - 1) * (0.5 if after else 1.0)
        return timedelta(days=days)
    return timedelta(days=DEMO_OTHER_STAY_DAYS[int(after)])
