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

# Keep this folder off the front of the import path (bench/engine.py would shadow the engine
# package); at the end it still provides the shared helper _deals.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

from _deals import populate  # noqa: E402

from diagrams import render_definition, render_instance  # noqa: E402
from engine.core.graph import graph_from_xml  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.usecases.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "processes" / "sales_pipeline.bpmn"


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
