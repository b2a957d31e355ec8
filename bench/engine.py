"""Engine benchmark: completion latency, deal starts per second, cost against history, and
the cost of persistence against SpiffWorkflow itself.

Runs on a fresh SQLite file database through the service layer (the path the CLI and the web
app take), and on PostgreSQL too when `--postgres` (or SALESFLOW_BENCH_DATABASE_URL) names
one: it uses a schema of its own, `bench_engine`, dropped and made again for every run.
Prints figures; never part of the test run.

    .venv/bin/python bench/engine.py [--runs 5] [--postgres [URL]] [--only overhead]

The overhead section measures, in the same process and interleaved batch by batch, the same
work done by raw SpiffWorkflow in memory (the spec parsed once, our SafeScriptEngine) and by
our use cases (`Service.start`, `Service.complete`): a start up to the first user task, and
the completion of that task with the engine steps it leads into.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# This file is named like the package it measures: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine.store.db import Database  # noqa: E402
from engine.usecases.demo import FORMS  # noqa: E402
from engine.usecases.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOOP = ROOT / "tests" / "engine" / "data"
BENCH_DATA = Path(__file__).resolve().parent / "data"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_engine"
PG_SCHEMA = "bench_engine"
# The clock of the overhead figures: wall time, or with --cpu this process's CPU time, which a
# busy shared machine disturbs far less (the time a process waits for a core is not counted;
# on PostgreSQL the server's own work is not counted either).
CLOCK = time.perf_counter

# A function that gives a fresh, migrated database for one run.
Backend = Callable[[], Any]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        db.migrate()
        try:
            yield db
        finally:
            db.dispose()


def postgres_url(url: str) -> str:
    """The URL with our own schema as its search path; the database is created if missing
    (never dropped: only the schema `bench_engine` in it is)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        known = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if known is None:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    glue = "&" if "?" in url else "?"
    return f"{url}{glue}options=-c%20search_path%3D{PG_SCHEMA}"


@contextmanager
def postgres_database(url: str) -> Iterator[Database]:
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()


def fresh_service(db: Database, *, cache: bool = True) -> Service:
    service = Service(db)
    if not cache:
        service.workflows.size = 0
    service.add_user("alice", ["Sales Rep"])
    service.add_user("mia", ["Sales Manager"])
    service.deploy([LOOP / "review_loop.bpmn", LOOP / "review.schema.json"])
    service.deploy([ROOT / "processes"])
    service.deploy([BENCH_DATA])
    return service


def complete_round(service: Service, iid: str) -> float:
    task = service.tasks(instance=iid)[0]
    t0 = time.perf_counter()
    service.complete(task["task_id"], user="alice", data={"done": False})
    return time.perf_counter() - t0


def run_once(cache: bool, database: Callable[[], Any]) -> dict[str, float]:
    with database() as db:
        service = fresh_service(db, cache=cache)
        # Completion latency on fresh deals (rounds 1-10 of 50 deals).
        iids = [service.start("review_loop", owner="alice")["instance_id"] for _ in range(50)]
        fresh = [complete_round(service, iid) for _ in range(10) for iid in iids]
        # Drive the same deals to 200 completed rounds, then measure rounds 201-210.
        for _ in range(190):
            for iid in iids[:10]:
                complete_round(service, iid)
        late = [complete_round(service, iid) for _ in range(10) for iid in iids[:10]]
        early = fresh[: len(late)]
        # Deal starts per second on the shipped sales pipeline.
        t0 = time.perf_counter()
        starts = 300
        for i in range(starts):
            service.start(
                "sales_pipeline",
                owner="alice",
                data={
                    "company": f"Bench {i}",
                    "contact": "Li Wei",
                    "source_channel": "referral",
                    "annual_revenue": 8_000_000,
                    "intent": "high",
                },
            )
        elapsed = time.perf_counter() - t0
    return {
        "p50_ms": statistics.median(fresh) * 1000,
        "p95_ms": percentile(fresh, 0.95) * 1000,
        "starts_per_s": starts / elapsed,
        "ratio_200": statistics.median(late) / statistics.median(early),
    }


def plain_spiffworkflow_ratio() -> float:
    """For contrast: plain SpiffWorkflow with its own serializer (spec embedded, no pruning),
    one deserialize + complete + serialize per completion, in memory (no database)."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    from engine.core.definitions import parse_sources, read_paths
    from engine.core.expressions import SafeScriptEngine

    bundle = parse_sources(read_paths([LOOP / "review_loop.bpmn", LOOP / "review.schema.json"]))
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    engine = SafeScriptEngine()
    wf = BpmnWorkflow(bundle[0].spec, bundle[0].subprocess_specs, script_engine=engine)
    wf.do_engine_steps()
    state = serializer.serialize_json(wf)
    timings = []
    for _ in range(210):
        t0 = time.perf_counter()
        wf = serializer.deserialize_json(state)
        wf.script_engine = engine
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["done"] = False
        task.run()
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        timings.append(time.perf_counter() - t0)
    return statistics.median(timings[200:]) / statistics.median(timings[:10])


# --- the cost of persistence: raw SpiffWorkflow against our use cases ----------------------


@dataclass(frozen=True)
class Case:
    """One process measured both ways: started with `start`, its first user task
    (`first_task`) completed with `form`."""

    process_id: str
    paths: tuple[Path, ...]
    start: dict[str, Any]
    first_task: str
    form: dict[str, Any]


CASES = (
    Case(
        "sales_pipeline",
        (ROOT / "processes",),
        {
            "contact": "Li Wei",
            "source_channel": "referral",
            "annual_revenue": 8_000_000,
            "intent": "high",
        },
        "task_qualify_lead",  # its completion: the grading table, two gateways, the next task
        FORMS["task_qualify_lead"],
    ),
    Case(
        "order_check",
        (BENCH_DATA,),
        {"contact": "Li Wei"},
        "task_review_order",  # a decision table, a gateway, a parallel split, a boundary timer
        {"order_value": 250_000, "standing": "good"},
    ),
)


@dataclass
class Timings:
    raw_start: list[float] = field(default_factory=list)
    raw_complete: list[float] = field(default_factory=list)
    # The least any engine that keeps the deal safe must add to raw_complete: its state
    # written out (SpiffWorkflow's serializer, as runtime.dump_state) and stored with one
    # UPDATE and COMMIT through the raw driver (sqlite3, WAL, synchronous=NORMAL).
    raw_persist: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    complete: list[float] = field(default_factory=list)
    complete_nocache: list[float] = field(default_factory=list)


class Raw:
    """SpiffWorkflow in memory: the spec parsed once, our safe script engine, nothing else."""

    def __init__(self, case: Case) -> None:
        from engine.core.definitions import parse_sources, read_paths
        from engine.core.expressions import SafeScriptEngine

        bundles = parse_sources(read_paths(case.paths))
        self.bundle = next(b for b in bundles if b.process_id == case.process_id)
        self.engine = SafeScriptEngine()
        self.case = case
        self.last: Any = None  # the workflow of the last pair
        self._folder = tempfile.TemporaryDirectory(prefix="salesflow-raw-")
        self.store = sqlite3.connect(Path(self._folder.name) / "raw.sqlite3", isolation_level=None)
        self.store.execute("PRAGMA journal_mode=WAL")
        self.store.execute("PRAGMA synchronous=NORMAL")
        self.store.execute("CREATE TABLE deal (id INTEGER PRIMARY KEY, state TEXT)")
        self.store.execute("INSERT INTO deal VALUES (1, '')")

    def persist(self, wf: Any) -> float:
        """The floor of persistence (Timings.raw_persist), in seconds."""
        from engine.core.runtime import dump_state

        t0 = CLOCK()
        state = dump_state(wf)
        self.store.execute("BEGIN IMMEDIATE")
        self.store.execute("UPDATE deal SET state = ? WHERE id = 1", (state,))
        self.store.execute("COMMIT")
        return CLOCK() - t0

    def pair(self, n: int) -> tuple[float, float]:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        t0 = CLOCK()
        wf = BpmnWorkflow(self.bundle.spec, self.bundle.subprocess_specs, script_engine=self.engine)
        for task in wf.get_tasks(state=TaskState.READY):
            task.data.update({**self.case.start, "company": f"Raw {n}"})
        wf.do_engine_steps()
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        t1 = CLOCK()
        assert task.task_spec.bpmn_id == self.case.first_task, task.task_spec.bpmn_id
        task_id = task.id
        t2 = CLOCK()
        task = wf.get_task_from_id(task_id)
        task.data.update(self.case.form)
        task.run()
        wf.do_engine_steps()
        t3 = CLOCK()
        self.last = wf
        return t1 - t0, t3 - t2


def ours_pair(service: Service, case: Case, n: int) -> tuple[float, float]:
    t0 = CLOCK()
    iid = service.start(
        case.process_id, owner="alice", data={**case.start, "company": f"Bench {n}"}
    )["instance_id"]
    t1 = CLOCK()
    task = service.tasks(instance=iid)[0]
    assert task["element_id"] == case.first_task, task
    t2 = CLOCK()
    service.complete(task["task_id"], user="alice", data=case.form)
    t3 = CLOCK()
    return t1 - t0, t3 - t2


def overhead_once(case: Case, database: Callable[[], Any], *, rounds: int = 10) -> Timings:
    """Raw and ours interleaved, batch by batch, in this one process (so contention from the
    rest of the machine falls on both alike); a warm-up batch of each is left out."""
    raw = Raw(case)
    times = Timings()
    with database() as db:
        service = fresh_service(db)
        cold = Service(db, workflow_cache=0)  # the same database, every step restored
        n = 0
        for batch in range(rounds + 1):
            keep = batch > 0
            for _ in range(20):
                n += 1
                start, complete = raw.pair(n)
                persist = raw.persist(raw.last)
                if keep:
                    times.raw_start.append(start)
                    times.raw_complete.append(complete)
                    times.raw_persist.append(persist)
            for _ in range(20):
                n += 1
                start, complete = ours_pair(service, case, n)
                if keep:
                    times.start.append(start)
                    times.complete.append(complete)
            for _ in range(5):
                n += 1
                _, complete = ours_pair(cold, case, n)
                if keep:
                    times.complete_nocache.append(complete)
    return times


def report_overhead(label: str, case: Case, runs: list[Timings]) -> None:
    def med(key: str) -> float:
        return statistics.median(statistics.median(getattr(r, key)) for r in runs) * 1000

    raw_start, start = med("raw_start"), med("start")
    raw_done, done, cold = med("raw_complete"), med("complete"), med("complete_nocache")
    clock = "CPU time" if CLOCK is time.process_time else "wall time"
    print(f"\n{case.process_id} on {label}: median of {len(runs)} runs ({clock})")
    print(f"  {raw_start:8.3f} ms  raw start (to the first user task)")
    print(f"  {start:8.3f} ms  ours start")
    print(f"  {start / raw_start:8.2f} x   start overhead (target <= 4)")
    print(f"  {raw_done:8.3f} ms  raw completion ({case.first_task} with its engine steps)")
    print(f"  {done:8.3f} ms  ours completion, warm workflow cache")
    print(f"  {done / raw_done:8.2f} x   completion overhead (target <= 2 SQLite, <= 3 PG)")
    print(f"  {cold:8.3f} ms  ours completion, no cache ({cold / raw_done:.2f} x raw)")
    floor = raw_done + med("raw_persist")
    print(
        f"  {floor:8.3f} ms  floor: raw completion + its state serialized and committed "
        f"({floor / raw_done:.2f} x raw)"
    )
    print(f"  {1000 / start:8.0f} /s  starts (1 / ours start)")


def backends(args: argparse.Namespace) -> list[tuple[str, Callable[[], Any]]]:
    found: list[tuple[str, Callable[[], Any]]] = [("SQLite file", sqlite_database)]
    url = args.postgres or os.environ.get("SALESFLOW_BENCH_DATABASE_URL")
    if url:
        pg = postgres_url(url)
        found.append(("PostgreSQL", lambda: postgres_database(pg)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_DEFAULT,
        default=None,
        help=f"also measure on PostgreSQL (default URL {PG_DEFAULT})",
    )
    parser.add_argument(
        "--only", choices=["overhead", "history"], help="one section of the figures only"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="overhead figures in CPU time instead of wall time"
    )
    args = parser.parse_args()
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(f"machine: {machine}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, database in backends(args):
        if args.only != "history":
            for case in CASES:
                report_overhead(
                    label, case, [overhead_once(case, database) for _ in range(args.runs)]
                )
        if args.only == "overhead":
            continue
        for cache in (True, False):
            runs = [run_once(cache, database) for _ in range(args.runs)]
            kind = "warm workflow cache" if cache else "no cache (state restored every time)"
            print(f"\n{label}, {kind}: median of {args.runs} runs")
            for key, unit in (
                ("p50_ms", "ms  completion p50 (target <= 3)"),
                ("p95_ms", "ms  completion p95"),
                ("starts_per_s", "/s  deal starts, sales pipeline (target >= 300)"),
                ("ratio_200", "x   completion after 200 loop rounds / fresh (target <= 1.2)"),
            ):
                print(f"  {statistics.median(r[key] for r in runs):8.2f} {unit}")
    if args.only != "overhead":
        ratios = [plain_spiffworkflow_ratio() for _ in range(args.runs)]
        print("\nplain SpiffWorkflow (spec embedded, no pruning, in memory), for contrast:")
        print(f"  {statistics.median(ratios):8.2f} x   completion after 200 loop rounds / fresh")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
