"""Reports benchmark: every report of usecases.reports over 100,000 deals and 1,000,000 history
rows, on SQLite (a file) and on PostgreSQL.

The deals are generated, not driven through the engine (that would take hours): three deals
are driven through the shipped sales pipeline first (won, lost in negotiation, sent to
nurturing) and their history rows are the templates; every generated deal follows one of
them, cut where the deal is now, with its own times (created over the last two years, each
human step taking days), owner, channel, tier and amount, claims before some completions,
escalations of late needs analyses, an open task at the step it waits at, and comments to make
up exactly the number of history rows asked for.  Rows go in with bulk inserts.

Deals that go nowhere are closed by a manager (stalled ones after two quiet months, nurtured
leads after four), so the running deals are the recent ones.  Rows go in with bulk inserts
(COPY on PostgreSQL); then the report facts the engine keeps per deal (usecases.reports.facts)
are worked out from them as migration 0009 does for an existing database (`facts.rebuild`).
Data kept from a run made before that migration is migrated, which fills them.  The index
the reports need on the history, (element_id, at, entered_at, instance_id), is created
unless a migration made it.

Each report is timed as the reports page asks for it (a manager, every deal) with the page's
default period (the last 90 days) and over the whole two years; the median of the runs is
printed.  Target (issue 7): each report <= 300 ms on SQLite and on PostgreSQL.

    .venv/bin/python bench/reports.py [--runs 3] [--deals 100000] [--history 1000000]
        [--sqlite PATH] [--pg URL] [--keep]

`--sqlite PATH` keeps the SQLite file there (a temporary one otherwise); `--pg URL` (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test_reports, never a database that holds
anything else) measures on PostgreSQL too: its public schema is dropped and made anew.
`--keep` reuses data a previous run generated instead of generating it again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import JSON, delete, func, insert, inspect, select, text  # noqa: E402

from engine.store.db import Database  # noqa: E402
from engine.store.deployments import version_row  # noqa: E402
from engine.store.models import (  # noqa: E402
    History,
    Instance,
    MessageSubscription,
    OpenTask,
    ReportFact,
)
from engine.usecases import reports  # noqa: E402
from engine.usecases.demo import LOST, NURTURE, WON, drive  # noqa: E402
from engine.usecases.reports import facts  # noqa: E402
from engine.usecases.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=730)
CHANNELS = ("trade_show", "content", "social", "referral", "ads", "other")
LOST_REASONS = ("Budget frozen", "Chose a competitor", "No decision", "Price too high")
REPS = tuple(f"rep{n:02d}" for n in range(1, 21))
# Who completes the steps of other lanes.
LANE_USERS = {"product expert": "pete", "legal": "lena", "finance": "fay", "marketing": "mark"}
# Median days a human step takes, by element.
STEP_DAYS = {
    "task_qualify_lead": 1.0,
    "task_initial_contact": 2.0,
    "task_needs_analysis": 4.0,
    "task_design_proposal": 5.0,
    "task_prepare_quote": 2.0,
    "task_negotiate": 6.0,
    "task_legal_review": 3.0,
    "task_confirm_down_payment": 4.0,
    "task_satisfaction_revisit": 5.0,
}
LEAD = {
    "company": "Bench",
    "contact": "Li Wei",
    "source_channel": "referral",
    "annual_revenue": 8_000_000,
    "intent": "high",
}
BATCH = 20_000
# The index the reports need: migration 0008 adds it; a database made before gets it here.
INDEX = "ix_history_element"
INDEX_COLUMNS = ("element_id", "at", "entered_at", "instance_id")
CLOSE_AFTER = {"stalled": timedelta(days=60), "nurture": timedelta(days=120)}


# --- the data -----------------------------------------------------------------------------


def _team(service: Service) -> None:
    for n, rep in enumerate(REPS):
        service.add_user(rep, ["Sales Rep", "East team" if n % 2 == 0 else "West team"])
    service.add_user("boss", ["Sales Manager"])
    service.add_user("pete", ["Product Expert"])
    service.add_user("lena", ["Legal"])
    service.add_user("fay", ["Finance"])
    service.add_user("sam", ["After-Sales"])
    service.add_user("mark", ["Marketing"])


def _templates(service: Service) -> dict[str, list[dict[str, Any]]]:
    """The history rows of three deals driven through the engine: won, lost, nurtured."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, path in (("won", WON), ("lost", LOST), ("nurture", NURTURE)):
        iid = service.start("sales_pipeline", owner=REPS[0], data=LEAD)["instance_id"]
        drive(service, iid, path)
        with service.db.read() as s:
            rows = s.scalars(
                select(History).where(History.instance_id == int(iid)).order_by(History.id)
            )
            found[name] = [
                {
                    "kind": h.kind,
                    "element_id": h.element_id,
                    "element_name": h.element_name,
                    "manual": h.actor is not None and h.kind == "completed",
                    "timed": h.entered_at is not None,
                }
                for h in rows
                if h.kind in ("completed", "cancelled")
            ]
    with service.db.write() as s:
        s.execute(delete(History))
        s.execute(delete(OpenTask))
        s.execute(delete(MessageSubscription))
        s.execute(delete(Instance))
    return found


def _lanes(service: Service) -> dict[str, tuple[str | None, str | None]]:
    """element id -> (role, stage) of the human tasks."""
    with service.db.read() as s:
        vid = s.scalar(select(func.max(Instance.version_id))) or 0
        if not vid:
            from engine.store.models import DefinitionVersion

            vid = s.scalar(select(func.max(DefinitionVersion.id))) or 0
        vr = service.version(s, vid)
    lanes: dict[str, tuple[str | None, str | None]] = {}
    for ts in vr.spec.task_specs.values():
        if getattr(ts, "bpmn_id", None) and getattr(ts, "manual", False):
            role = ts.lane.lower().replace("-", " ").replace("_", " ") if ts.lane else None
            lanes[ts.bpmn_id] = (role, vr.stages.get(ts.bpmn_id))
    return lanes


class _Deals:
    """Generates the rows of one deal at a time."""

    def __init__(
        self,
        templates: dict[str, list[dict[str, Any]]],
        lanes: dict[str, Any],
        version: tuple[int, int],
    ):
        self.templates = templates
        self.lanes = lanes
        self.version_id, self.version_number = version
        self.rng = random.Random(7)
        self.task_no = 0

    def _task_id(self) -> str:
        self.task_no += 1
        return f"00000000-0000-4000-8000-{self.task_no:012d}"

    def deal(self, iid: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        owner = rng.choice(REPS)
        channel = rng.choices(CHANNELS, weights=(20, 15, 15, 25, 20, 5))[0]
        fate = rng.choices(("won", "lost", "nurture", "stalled"), weights=(7, 6, 37, 50))[0]
        template = self.templates["won" if fate == "stalled" else fate]
        manual_steps = sum(1 for r in template if r["manual"])
        # Most deals that stall do so early.
        cut = (
            min(int(rng.expovariate(1 / 1.2)), manual_steps - 1)
            if fate == "stalled"
            else manual_steps
        )
        created = NOW - SPAN * rng.random()
        tier = "C" if fate == "nurture" else rng.choice("AAB")
        at = created
        history: list[dict[str, Any]] = [
            {"instance_id": iid, "at": at, "actor": owner, "kind": "started", "data": None}
        ]
        open_rows: list[dict[str, Any]] = []
        stage = "lead"
        done = 0
        escalated_at = None
        for row in template:
            role, row_stage = self.lanes.get(row["element_id"], (None, None))
            if row["manual"]:
                median = STEP_DAYS.get(row["element_id"], 2.0)
                took = timedelta(days=median * rng.lognormvariate(0, 0.6))
                actor = (
                    owner if role == "sales rep" or role is None else LANE_USERS.get(role, owner)
                )
                if done >= cut or at + took > NOW:
                    open_rows.append(self._open(iid, row, role, row_stage, owner, at))
                    stage = row_stage or stage
                    if row["element_id"] == "task_needs_analysis" and at + timedelta(days=3) < NOW:
                        escalated_at = at + timedelta(days=3)
                        open_rows[-1]["escalated_at"] = escalated_at
                        history.append(self._escalated(iid, row, at))
                    break
                task_id = self._task_id()
                if rng.random() < 0.2:
                    history.append(
                        {
                            "instance_id": iid,
                            "at": at + took * rng.random() * 0.5,
                            "actor": actor,
                            "kind": "claimed",
                            "element_id": row["element_id"],
                            "element_name": row["element_name"],
                            "task_id": task_id,
                        }
                    )
                if row["element_id"] == "task_needs_analysis" and took > timedelta(days=3):
                    history.append(self._escalated(iid, row, at, task_id))
                history.append(
                    {
                        "instance_id": iid,
                        "at": at + took,
                        "actor": actor,
                        "kind": "completed",
                        "element_id": row["element_id"],
                        "element_name": row["element_name"],
                        "task_id": task_id,
                        "entered_at": at,
                    }
                )
                at += took
                done += 1
            else:
                history.append(
                    {
                        "instance_id": iid,
                        "at": at,
                        "actor": None,
                        "kind": row["kind"],
                        "element_id": row["element_id"],
                        "element_name": row["element_name"],
                        "task_id": self._task_id(),
                        "entered_at": at if row["timed"] else None,
                    }
                )
            stage = row_stage or stage
        # A manager closes deals that went nowhere: stalled ones after two quiet months,
        # nurtured leads after four.
        updated = at
        quiet = CLOSE_AFTER.get(fate)
        cancelled = quiet is not None and at + quiet < NOW
        if cancelled:
            updated = at + quiet
            for task in open_rows:
                history.append(
                    {
                        "instance_id": iid,
                        "at": updated,
                        "actor": "boss",
                        "kind": "cancelled",
                        "element_id": task["element_id"],
                        "element_name": task["name"],
                        "task_id": task["task_id"],
                        "entered_at": task["created_at"],
                    }
                )
            open_rows = []
        finished = not open_rows and fate != "nurture"
        won = fate == "won" and not open_rows
        if won:  # the satisfaction revisit is open for a week, then done
            stage = "after_sales"
        amount = None
        if any(h.get("element_id") == "task_prepare_quote" for h in history):
            amount = rng.randrange(50, 2000) * 1000
        data = {"source_channel": channel, "tier": tier}
        if fate == "lost" and finished:
            data.update(
                outcome="lost", lost_reason=rng.choice(LOST_REASONS), lost_at_stage="negotiation"
            )
        if won:
            data["outcome"] = "won"
        instance = {
            "id": iid,
            "version_id": self.version_id,
            "process_id": "sales_pipeline",
            "version_number": self.version_number,
            "name": f"Deal {iid}",
            "owner": owner,
            "amount": amount,
            "lead_source": channel,
            "tier": tier,
            "stage": stage,
            "status": "cancelled"
            if cancelled
            else "completed"
            if finished and not won
            else "running",
            "state": "{}",
            "data": data,
            "visited": {},
            "position": {},
            "timers": [],
            "lock_version": 1,
            "activity_at": at,
            "escalated_at": escalated_at,
            "created_at": created,
            "updated_at": updated,
            "completed_at": updated if finished and not won else None,
        }
        return instance, history, open_rows

    def _open(
        self,
        iid: int,
        row: dict[str, Any],
        role: str | None,
        stage: str | None,
        owner: str,
        since: datetime,
    ) -> dict[str, Any]:
        due = since + timedelta(days=3) if row["element_id"] == "task_needs_analysis" else None
        return {
            "task_id": self._task_id(),
            "instance_id": iid,
            "element_id": row["element_id"],
            "name": row["element_name"] or row["element_id"],
            "lane": role,
            "role": role,
            "assignee": owner if role == "sales rep" else None,
            "stage": stage,
            "form": None,
            "due_at": due,
            "created_at": since,
            "escalate_to": "sales manager" if due else None,
            "escalated_at": None,
        }

    @staticmethod
    def _escalated(
        iid: int, row: dict[str, Any], since: datetime, task_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "instance_id": iid,
            "at": since + timedelta(days=3),
            "actor": None,
            "kind": "escalated",
            "element_id": row["element_id"],
            "element_name": row["element_name"],
            "task_id": task_id,
        }


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def generate(db: Database, deals: int, history_rows: int) -> None:
    """A fresh schema holding `deals` deals and exactly `history_rows` history rows."""
    db.migrate()
    service = Service(db)
    _team(service)
    service.deploy([ROOT / "processes"])
    templates = _templates(service)
    lanes = _lanes(service)
    with db.read() as s:
        row = version_row(s, "sales_pipeline", None)
        version = (row.id, row.version)
    maker = _Deals(templates, lanes, version)
    instances: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    open_tasks: list[dict[str, Any]] = []
    for iid in range(1, deals + 1):
        inst, hist, tasks = maker.deal(iid)
        instances.append(inst)
        history.extend(hist)
        open_tasks.extend(tasks)
    rng = random.Random(11)
    if len(history) > history_rows:
        raise SystemExit(f"the deals alone make {len(history)} history rows; ask for more")
    while len(history) < history_rows:  # comments on random deals, after they started
        inst = instances[rng.randrange(len(instances))]
        span = (inst["updated_at"] - inst["created_at"]) * rng.random()
        history.append(
            {
                "instance_id": inst["id"],
                "at": inst["created_at"] + span,
                "actor": inst["owner"],
                "kind": "comment",
                "data": {"text": "Called the customer."},
            }
        )
    history.sort(key=lambda h: h["at"])  # ids grow with time, as in a real database
    print(
        f"  generated {len(instances)} deals, {len(history)} history rows, "
        f"{len(open_tasks)} open tasks; inserting ...",
        file=sys.stderr,
    )
    keys = ("element_id", "element_name", "task_id", "entered_at", "data")
    history = [{k: None for k in keys} | h for h in history]
    if db.is_sqlite:
        with db.write() as s:
            for table, rows in ((Instance, instances), (OpenTask, open_tasks), (History, history)):
                for chunk in _chunks(rows):
                    s.execute(insert(table), chunk)
    else:
        _copy(db, (Instance, instances), (OpenTask, open_tasks), (History, history))
        with db.engine.connect() as conn:
            conn.execute(text("SELECT setval('instance_id_seq', (SELECT max(id) FROM instance))"))
            conn.execute(text("SELECT setval('history_id_seq', (SELECT max(id) FROM history))"))
            conn.commit()
    t0 = time.perf_counter()
    with db.write() as s:  # the report facts, as the engine would have kept them
        written = facts.rebuild(s)
    print(
        f"  {written} report facts in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    if not db.is_sqlite:
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def _copy(db: Database, *tables: tuple[Any, list[dict[str, Any]]]) -> None:
    """PostgreSQL's COPY: a million rows in seconds rather than minutes."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for model, rows in tables:
            columns = [c.name for c in model.__table__.columns if c.name in rows[0]]
            json_columns = {c.name for c in model.__table__.columns if isinstance(c.type, JSON)}
            with cursor.copy(
                f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(row.get(c))
                            if c in json_columns and row.get(c) is not None
                            else row.get(c)
                            for c in columns
                        ]
                    )
        raw.commit()
    finally:
        raw.close()


def ensure_index(db: Database) -> bool:
    """Create the index engine/reports.py asks for unless the schema has it; whether it had."""
    found = {ix["name"] for ix in inspect(db.engine).get_indexes("history")}
    if INDEX in found:
        return True
    with db.engine.begin() as conn:
        conn.execute(text(f"CREATE INDEX {INDEX} ON history ({', '.join(INDEX_COLUMNS)})"))
        if not db.is_sqlite:
            conn.execute(text("ANALYZE history"))
    return False


# --- measuring ----------------------------------------------------------------------------

REPORTS: dict[str, Callable[..., Any]] = {
    "funnel": reports.funnel,
    "channels": reports.channels,
    "cycle": reports.cycle,
    "reps": reports.reps,
    "stale": reports.stale,
}


def measure(db: Database, runs: int) -> dict[tuple[str, str], float]:
    """Median milliseconds of each report, per period."""
    periods = {
        "last 90 days": reports.Filters(since=NOW - timedelta(days=90), until=NOW),
        "two years": reports.Filters(since=NOW - SPAN, until=NOW),
    }
    figures: dict[tuple[str, str], float] = {}
    for period, filters in periods.items():
        for name, report in REPORTS.items():
            report(db, filters, now=NOW)  # warm: the version's stages, the statement cache
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                report(db, filters, now=NOW)
                times.append((time.perf_counter() - t0) * 1000)
            figures[(name, period)] = statistics.median(times)
    return figures


def _print(label: str, figures: dict[tuple[str, str], float]) -> None:
    periods = sorted({p for _n, p in figures}, reverse=True)
    print(f"\n{label}")
    print(f"| report | {' | '.join(periods)} |")
    print(f"|---|{'---|' * len(periods)}")
    for name in REPORTS:
        cells = " | ".join(f"{figures[(name, p)]:.0f} ms" for p in periods)
        print(f"| {name} | {cells} |")


def _sizes(db: Database) -> str:
    with db.read() as s:
        deals = s.scalar(select(func.count()).select_from(Instance))
        rows = s.scalar(select(func.count()).select_from(History))
        tasks = s.scalar(select(func.count()).select_from(OpenTask))
        kept = s.scalar(select(func.count()).select_from(ReportFact))
    return f"{deals:,} deals, {rows:,} history rows, {tasks:,} open tasks, {kept:,} report facts"


def _ready(db: Database, args: argparse.Namespace, label: str) -> None:
    """Generate the data unless --keep finds it there already; then the index."""
    if args.keep and db_holds(db, args.deals):
        print(f"  {label}: keeping the data there", file=sys.stderr)
        t0 = time.perf_counter()
        db.migrate()  # data made before migration 0009: it fills the report facts
        if not db.is_sqlite:
            with db.engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                auto.execute(text("VACUUM ANALYZE report_fact"))
                auto.execute(text("VACUUM ANALYZE report_count"))
        print(f"  {label}: migrated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    else:
        if not db.is_sqlite:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        t0 = time.perf_counter()
        generate(db, args.deals, args.history)
        print(f"  {label}: data ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if not ensure_index(db):
        print(f"  {label}: created {INDEX} on history {INDEX_COLUMNS}", file=sys.stderr)


def db_holds(db: Database, deals: int) -> bool:
    try:
        with db.read() as s:
            return (s.scalar(select(func.count()).select_from(Instance)) or 0) >= deals
    except Exception:  # no schema yet
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--sqlite", type=Path, default=None)
    parser.add_argument("--pg", default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{args.sqlite or Path(tmp) / 'reports.sqlite3'}")
        _ready(db, args, "SQLite")
        _print(f"SQLite ({_sizes(db)})", measure(db, args.runs))
        db.dispose()
    if args.pg:
        pg = Database(args.pg)
        _ready(pg, args, "PostgreSQL")
        _print(f"PostgreSQL ({_sizes(pg)})", measure(pg, args.runs))
        pg.dispose()


if __name__ == "__main__":
    main()
