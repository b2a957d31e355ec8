"""Engine benchmark: completion latency, deal starts per second, cost against history.

Runs on a fresh SQLite file database through the service layer (the path the CLI and the web
app take).  Prints figures; never part of the test run.

    .venv/bin/python bench/engine.py [--runs 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file is named like the package it measures: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from engine.store.db import Database  # noqa: E402
from engine.usecases.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOOP = ROOT / "tests" / "engine" / "data"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fresh_service(folder: Path, *, cache: bool = True) -> Service:
    db = Database(f"sqlite:///{folder / 'bench.sqlite3'}")
    db.migrate()
    service = Service(db)
    if not cache:
        service.workflows.size = 0
    service.add_user("alice", ["Sales Rep"])
    service.add_user("mia", ["Sales Manager"])
    service.deploy([LOOP / "review_loop.bpmn", LOOP / "review.schema.json"])
    service.deploy([ROOT / "processes"])
    return service


def complete_round(service: Service, iid: str) -> float:
    task = service.tasks(instance=iid)[0]
    t0 = time.perf_counter()
    service.complete(task["task_id"], user="alice", data={"done": False})
    return time.perf_counter() - t0


def run_once(cache: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        service = fresh_service(Path(tmp), cache=cache)
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
        service.db.dispose()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(f"machine: {machine}, python {platform.python_version()}")
    for cache in (True, False):
        runs = [run_once(cache) for _ in range(args.runs)]
        label = "warm workflow cache" if cache else "no cache (state restored every time)"
        print(f"\n{label}: median of {args.runs} runs")
        for key, unit in (
            ("p50_ms", "ms  completion p50 (target <= 3)"),
            ("p95_ms", "ms  completion p95"),
            ("starts_per_s", "/s  deal starts, sales pipeline (target >= 300)"),
            ("ratio_200", "x   completion after 200 loop rounds / fresh (target <= 2)"),
        ):
            print(f"  {statistics.median(r[key] for r in runs):8.2f} {unit}")
    ratios = [plain_spiffworkflow_ratio() for _ in range(args.runs)]
    print("\nplain SpiffWorkflow (spec embedded, no pruning, in memory), for contrast:")
    print(f"  {statistics.median(ratios):8.2f} x   completion after 200 loop rounds / fresh")


if __name__ == "__main__":
    main()
