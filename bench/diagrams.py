"""Flowchart benchmark: first render, cached instance SVG, heatmap over 10,000 deals.

Prints figures; never part of the test run.

    .venv/bin/python bench/diagrams.py [--runs 5] [--deals 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Keep this folder off the import path (bench/engine.py would shadow the engine package).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from diagrams import render_definition, render_instance  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.demo import FORMS  # noqa: E402
from engine.graph import graph_from_xml  # noqa: E402
from engine.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "processes" / "sales_pipeline.bpmn"
LEAD = {
    "company": "Bench",
    "contact": "Li Wei",
    "source_channel": "referral",
    "annual_revenue": 8_000_000,
    "intent": "high",
}
STEPS = ["task_qualify_lead", "task_initial_contact", "task_needs_analysis"]


def timed(fn: object, *args: object, **kwargs: object) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)  # type: ignore[operator]
    return (time.perf_counter() - t0) * 1000


def first_render_ms() -> float:
    """Parse the file and draw it, nothing cached (a new key each time)."""
    text = PIPELINE.read_bytes()
    t0 = time.perf_counter()
    graph = graph_from_xml(text, file=PIPELINE.name)
    render_definition(graph, "svg", cache_key=f"first-{time.perf_counter_ns()}")
    return (time.perf_counter() - t0) * 1000


def populate(service: Service, deals: int) -> None:
    """Deals spread over the first stages, each driven through the engine."""
    for n in range(deals):
        iid = service.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
        for element_id in STEPS[: n % (len(STEPS) + 1)]:
            task = service.tasks(instance=iid)[0]
            service.complete(task["task_id"], user="alice", data=FORMS[element_id])
        if (n + 1) % 1000 == 0:
            print(f"  ... {n + 1} deals", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deals", type=int, default=10_000)
    args = parser.parse_args()

    firsts = [first_render_ms() for _ in range(args.runs)]
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"))
        service.db.migrate()
        service.add_user("alice", ["Sales Rep"])
        service.deploy([ROOT / "processes"])
        print(f"creating {args.deals} deals ...", file=sys.stderr)
        populate(service, args.deals)

        graph, view, key = service.instance_chart("1")
        render_instance(graph, view, "svg", cache_key=key)  # warm the layout cache
        instance = []
        for iid in range(1, 201):
            t0 = time.perf_counter()
            graph, view, key = service.instance_chart(str(iid))
            render_instance(graph, view, "svg", cache_key=key)
            instance.append((time.perf_counter() - t0) * 1000)

        heat_runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            heat = service.heat("sales_pipeline")
            graph, key = service.definition_chart("sales_pipeline")
            render_definition(graph, "svg", heat=heat, cache_key=key)
            heat_runs.append((time.perf_counter() - t0) * 1000)
        service.db.dispose()

    print(f"sales pipeline, SQLite file, {args.deals} deals; medians")
    print(f"  {statistics.median(firsts):8.1f} ms  first render, parse + layout + SVG (<= 300)")
    print(f"  {statistics.median(instance):8.1f} ms  instance SVG p50, layout cached (<= 20)")
    p95 = sorted(instance)[int(0.95 * (len(instance) - 1))]
    print(f"  {p95:8.1f} ms  instance SVG p95")
    print(f"  {statistics.median(heat_runs):8.1f} ms  heatmap over all deals: query + SVG (<= 300)")


if __name__ == "__main__":
    main()
