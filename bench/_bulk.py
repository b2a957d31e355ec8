"""Many deals for the read benchmarks (bench/web.py --deals 100000), written with bulk inserts.

Driving 100,000 deals through the engine takes hours, so the engine drives a few *template*
deals instead, in a scratch SQLite database under a moved clock (one hour per step): the
shipped sales pipeline won, lost in negotiation, sent to nurturing, stopped at each step
while it is still open, and marked lost by a manager at each step.  Every row the engine
wrote for a template (the instance with its serialized workflow, data, position and timers;
its history; its open tasks; its message subscriptions) is kept.

Each generated deal is a copy of one template at the step where the deal is now, with its
own id, owner (one of REPS), customer, name, channel, tier, amount, task ids (also inside
the serialized workflow, so each deal's state stays its own) and times: created over the
last two years, each human step taking days (a log-normal spread around STEP_DAYS), every
time of a template step moved to that step's time in the deal.  What is synthetic: the
times (nothing but the clock differs from what the engine would have written at them),
comments added to reach the history size asked for, and what is left out: escalations and
timers that would have fired meanwhile, notifications, activities.

Fates: won (and revisited), lost in negotiation, nurtured (closed by a manager after four
quiet months) or stalled at some step (closed by a manager after three quiet months); the
deals still running are the recent ones and those a step has not finished yet.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import JSON, func, insert, select, text

from engine.store import heat
from engine.store.db import Database
from engine.store.deployments import version_row
from engine.store.models import (
    Customer,
    History,
    Instance,
    MessageSubscription,
    OpenTask,
)
from engine.usecases.demo import FORMS, LOST, WON, complete_step
from engine.usecases.reports import facts
from engine.usecases.service import Service

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pass-1"  # bench/web.py logs in with it
REPS = tuple(f"rep{n:02d}" for n in range(1, 31))
MANAGER = "boss"
# Who holds the other lanes (the templates' history names them).
LANE_USERS = (
    ("pete", "Product Expert"),
    ("lena", "Legal"),
    ("fay", "Finance"),
    ("sam", "After-Sales"),
    ("mark", "Marketing"),
)
TEMPLATE_OWNER = REPS[0]
CHANNELS = ("trade_show", "content", "social", "referral", "ads", "other")
LOST_REASONS = ("price too high", "chose a competitor", "no budget", "no decision", "not a fit")
SPAN = timedelta(days=730)
STEP = timedelta(hours=1)  # the templates' clock moves one hour per step
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the templates' start
# Median days a human step takes, by the element completed.
STEP_DAYS = {
    "task_qualify_lead": 1.0,
    "task_initial_contact": 2.0,
    "task_needs_analysis": 4.0,
    "task_design_proposal": 5.0,
    "task_prepare_quote": 2.0,
    "task_negotiate": 6.0,
    "task_legal_review": 3.0,
    "task_confirm_down_payment": 4.0,
    "task_satisfaction_revisit": 7.0,
}
QUIET = {"stalled": timedelta(days=90), "nurture": timedelta(days=120)}
WON_PATH = [*WON, ("task_satisfaction_revisit", {})]
NURTURE_PATH = [
    (
        "task_qualify_lead",
        {"annual_revenue": 2_000_000, "intent": "low", "decision_chain": "unknown"},
    )
]
PATHS = {"won": WON_PATH, "lost": LOST, "nurture": NURTURE_PATH}
LEAD = {
    "company": "Template Co",
    "contact": "Li Wei",
    "source_channel": "referral",
    "annual_revenue": 8_000_000,
    "intent": "high",
}
BATCH = 20_000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Template:
    """The rows the engine wrote for one deal driven `steps` steps (then closed when
    `closed`), its clock at T0 + n * STEP for its n-th step."""

    path: str
    steps: int
    closed: bool
    instance: dict[str, Any]
    history: list[dict[str, Any]]
    open_tasks: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    uuids: list[str] = field(default_factory=list)  # every task id it holds, in order


def _team(service: Service) -> None:
    for rep in REPS:
        service.add_user(rep, ["Sales Rep"], password=PASSWORD, display_name=f"Rep {rep[3:]}")
    service.add_user(MANAGER, ["Sales Manager"], password=PASSWORD, display_name="Boss Manager")
    for user, role in LANE_USERS:
        service.add_user(user, [role], password=PASSWORD)


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _capture(service: Service, iid: int, path: str, steps: int, closed: bool) -> Template:
    with service.db.read() as s:
        inst = _row(s.get(Instance, iid))
        history = [
            _row(h)
            for h in s.scalars(
                select(History).where(History.instance_id == iid).order_by(History.id)
            )
        ]
        tasks = [_row(t) for t in s.scalars(select(OpenTask).where(OpenTask.instance_id == iid))]
        subs = [
            _row(m)
            for m in s.scalars(
                select(MessageSubscription).where(MessageSubscription.instance_id == iid)
            )
        ]
    found = Template(path, steps, closed, inst, history, tasks, subs)
    seen: dict[str, None] = {}
    for u in _UUID.findall(inst["state"]):
        seen.setdefault(u)
    for row in (*history, *tasks):
        if row.get("task_id"):
            seen.setdefault(row["task_id"])
    found.uuids = list(seen)
    return found


def templates() -> dict[tuple[str, int, bool], Template]:
    """Each path stopped after each of its steps, open and (but a finished deal) closed by a
    manager an hour later; driven in a scratch database."""
    found: dict[tuple[str, int, bool], Template] = {}
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Database(f"sqlite:///{tmp}/templates.sqlite3"))
        service.db.migrate()
        _team(service)
        service.deploy([ROOT / "processes"])
        for path, steps in PATHS.items():
            first = 0 if path == "won" else len(steps)  # a lost deal's early steps are a won one's
            for n in range(first, len(steps) + 1):
                # Only deals that stall or are nurtured are closed (Deals.deal).
                stalls = path == "nurture" or n < len(steps) - 1
                for closed in (False, True) if stalls else (False,):
                    with time_machine.travel(T0, tick=False) as clock:
                        iid = service.start("sales_pipeline", owner=TEMPLATE_OWNER, data=LEAD)[
                            "instance_id"
                        ]
                        for element, changes in steps[:n]:
                            clock.shift(STEP)
                            complete_step(service, iid, element, **changes)
                        if closed:
                            clock.shift(STEP)
                            service.mark_lost(iid, user=MANAGER, reason="no decision")
                    found[(path, n, closed)] = _capture(service, int(iid), path, n, closed)
        service.db.dispose()
    return found


# --- the deals ------------------------------------------------------------------------------


def _company(n: int) -> str:
    return f"Company {n:05d} Ltd"


class Deals:
    """Generates deals from the templates, one at a time, reproducibly."""

    def __init__(
        self, found: dict[tuple[str, int, bool], Template], version_id: int, now: datetime
    ):
        self.templates = found
        self.version_id = version_id
        self.now = now
        self.rng = random.Random(16)

    def _fate(self) -> tuple[str, int]:
        """The path and how far it goes when nothing stops it."""
        rng = self.rng
        # Most leads go nowhere, and most of those stall early: about ten history rows a deal.
        fate = rng.choices(("won", "lost", "nurture", "stalled"), weights=(6, 5, 27, 62))[0]
        if fate == "stalled":  # never at the last step of a won deal
            return fate, min(int(rng.expovariate(1 / 0.9)), len(WON_PATH) - 2)
        return fate, len(PATHS[fate])

    def deal(
        self, iid: int, created: datetime, customer: int, owner: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """instance, history, open tasks, message subscriptions of one deal."""
        rng = self.rng
        fate, goal = self._fate()
        path = "won" if fate == "stalled" else fate
        steps = PATHS[path]
        times = [created]
        for element, _changes in steps[:goal]:
            took = timedelta(days=STEP_DAYS.get(element, 2.0) * rng.lognormvariate(0, 0.6))
            if times[-1] + took > self.now:
                break  # the deal waits at this step now
            times.append(times[-1] + took)
        done = len(times) - 1
        closed = False
        if done == goal and (fate in QUIET) and times[-1] + QUIET[fate] <= self.now:
            closed = True  # a manager closes a deal that went nowhere
            times.append(times[-1] + QUIET[fate])
        key = (path, done, closed)
        if key not in self.templates:  # a lost deal still in its early steps: a won one's
            key = ("won", done, closed)
        tpl = self.templates[key]
        return self._copy(tpl, iid, times, customer, owner)

    def _copy(
        self, tpl: Template, iid: int, times: list[datetime], customer: int, owner: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        starts = [T0 + n * STEP for n in range(len(times))]

        def moved(value: datetime | None) -> datetime | None:
            """A template time moved to the deal's: the same distance from its step."""
            if value is None:
                return None
            n = min(max(bisect.bisect_right(starts, value) - 1, 0), len(times) - 1)
            return times[n] + (value - starts[n])

        ids = {
            u: f"{iid:08x}-{n:04x}-4000-8000-{rng.getrandbits(48):012x}"
            for n, u in enumerate(tpl.uuids)
        }

        def who(user: str | None) -> str | None:
            return owner if user == TEMPLATE_OWNER else user

        company = _company(customer)
        channel = rng.choices(CHANNELS, weights=(20, 15, 15, 25, 20, 5))[0]
        src = tpl.instance
        tier = src["tier"] if src["tier"] == "C" else rng.choice("AAB")
        data = dict(src["data"])
        data.update(company=company, source_channel=channel)
        if "tier" in data:
            data["tier"] = tier
        amount = src["amount"]
        if amount is not None:
            amount = rng.randrange(50, 2000) * 1000
        reason = rng.choice(LOST_REASONS) if src["lost_reason"] else None
        if reason is not None:
            data["lost_reason"] = reason
        timers = [{**t, "due_at": _iso(moved(_parse(t.get("due_at"))))} for t in src["timers"]]
        instance = {
            **src,
            "id": iid,
            "version_id": self.version_id,
            "customer_id": customer,
            "name": company,
            "owner": who(src["owner"]),
            "amount": amount,
            "lead_source": channel,
            "tier": tier,
            "lost_reason": reason,
            "state": _UUID.sub(lambda m: ids.get(m.group(0), m.group(0)), src["state"]),
            "data": data,
            "timers": timers,
            "next_due_at": moved(src["next_due_at"]),
            "activity_at": moved(src["activity_at"]),
            "escalated_at": moved(src["escalated_at"]),
            "created_at": times[0],
            "updated_at": moved(src["updated_at"]),
            "completed_at": moved(src["completed_at"]),
        }
        history = []
        for h in tpl.history:
            row = {
                **h,
                "instance_id": iid,
                "at": moved(h["at"]),
                "entered_at": moved(h["entered_at"]),
                "actor": who(h["actor"]),
                "task_id": ids.get(h["task_id"], h["task_id"]) if h["task_id"] else None,
            }
            if h["kind"] == "started":
                row["data"] = {**(h["data"] or {}), "company": company, "source_channel": channel}
            del row["id"]
            history.append(row)
        tasks = [
            {
                **t,
                "task_id": ids[t["task_id"]],
                "instance_id": iid,
                "assignee": who(t["assignee"]),
                "created_at": moved(t["created_at"]),
                "due_at": moved(t["due_at"]),
                "escalated_at": moved(t["escalated_at"]),
            }
            for t in tpl.open_tasks
        ]
        subs = [{**m, "instance_id": iid} for m in tpl.subscriptions]
        for m in subs:
            del m["id"]
        return instance, history, tasks, subs


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- writing them ---------------------------------------------------------------------------


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _copy(db: Database, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: a million rows in seconds rather than minutes."""
    if not rows:
        return
    columns = [c.name for c in model.__table__.columns if c.name in rows[0]]
    as_json = {c.name for c in model.__table__.columns if isinstance(c.type, JSON)}
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(row[c]) if c in as_json and row[c] is not None else row[c]
                        for c in columns
                    ]
                )
        raw.commit()
    finally:
        raw.close()


def _write(db: Database, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    if db.is_sqlite:
        with db.write() as s:
            for chunk in _chunks(rows):
                s.execute(insert(model), chunk)
    else:
        _copy(db, model, rows)


def generate(db: Database, deals: int, history_rows: int, *, customers: int | None = None) -> None:
    """Fill a new, migrated database with `deals` deals and exactly `history_rows` history rows
    (comments make up the difference; an error when the deals alone make more)."""
    t0 = time.perf_counter()
    found = templates()
    print(
        f"  {len(found)} template deals driven in {time.perf_counter() - t0:.0f} s", file=sys.stderr
    )
    service = Service(db)
    _team(service)
    service.deploy([ROOT / "processes"])
    with db.read() as s:
        version_id = version_row(s, "sales_pipeline", None).id
    now = datetime.now(UTC).replace(microsecond=0)
    maker = Deals(found, version_id, now)
    rng = random.Random(17)
    created = sorted(now - SPAN * rng.random() for _ in range(deals))  # ids grow with time
    customers = customers or max(1, deals // 4)
    latest: dict[int, tuple[datetime, str, str]] = {}
    instances, history, tasks, subs = [], [], [], []
    for iid, at in enumerate(created, start=1):
        customer = rng.randrange(1, customers + 1)  # four deals a customer, on average
        owner = rng.choice(REPS)
        inst, hist, open_rows, waits = maker.deal(iid, at, customer, owner)
        instances.append(inst)
        history.extend(hist)
        tasks.extend(open_rows)
        subs.extend(waits)
        latest[customer] = (at, owner, inst["tier"])
    if len(history) > history_rows:
        raise SystemExit(f"the deals alone make {len(history)} history rows; ask for more")
    while len(history) < history_rows:  # comments on random deals, while they were open
        inst = instances[rng.randrange(len(instances))]
        until = inst["completed_at"] or inst["updated_at"]
        at = inst["created_at"] + (until - inst["created_at"]) * rng.random()
        history.append(
            {
                "instance_id": inst["id"],
                "at": at,
                "actor": inst["owner"],
                "kind": "comment",
                "element_id": None,
                "element_name": None,
                "task_id": None,
                "entered_at": None,
                "data": {"text": "Called the customer; follow-up next week."},
            }
        )
    history.sort(key=lambda h: h["at"])  # ids grow with time, as in a real database
    first_deal: dict[int, datetime] = {}
    for inst in instances:
        first_deal.setdefault(inst["customer_id"], inst["created_at"])
    customer_rows = [
        {
            "id": n,
            "name": _company(n),
            "name_key": f"company{n:05d}",
            "owner": owner,
            "tier": tier,
            "created_at": first_deal[n],
            "updated_at": at,
        }
        for n, (at, owner, tier) in sorted(latest.items())
    ]
    running = sum(i["status"] == "running" for i in instances)
    print(
        f"  generated {len(instances):,} deals ({running:,} running), "
        f"{len(history):,} history rows, {len(tasks):,} open tasks, "
        f"{len(customer_rows):,} customers in {time.perf_counter() - t0:.0f} s; inserting ...",
        file=sys.stderr,
    )
    for model, rows in (
        (Customer, customer_rows),
        (Instance, instances),
        (OpenTask, tasks),
        (MessageSubscription, subs),
        (History, history),
    ):
        _write(db, model, rows)
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            for table in ("customer", "instance", "history", "message_subscription"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
    t1 = time.perf_counter()
    with db.write() as s:  # the report facts, as the engine would have kept them
        written = facts.rebuild(s)
        heat.recount(s)  # the deals per process, as starting them keeps them
    print(f"  {written:,} report facts in {time.perf_counter() - t1:.0f} s", file=sys.stderr)
    analyse(db)
    print(f"  data ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def analyse(db: Database) -> None:
    """PostgreSQL's planner statistics, as autovacuum keeps them in a database in use.  SQLite
    gets none: salesflow never runs ANALYZE there."""
    if not db.is_sqlite:
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def holds(db: Database, deals: int) -> bool:
    """Whether the database holds `deals` deals already."""
    try:
        with db.read() as s:
            return (s.scalar(select(func.count()).select_from(Instance)) or 0) >= deals
    except Exception:  # no schema yet
        return False


__all__ = ["FORMS", "MANAGER", "PASSWORD", "REPS", "analyse", "generate", "holds"]
