"""Expression benchmark: what the safe expression engine costs per evaluation, on the kinds
of text a sales process runs (gateway conditions, DMN cells, a small script), and what one
completion of the shipped sales pipeline's qualification (a decision table, gateways, a
parallel split) costs end to end.  Run it on two checkouts to see what a guard costs:

    .venv/bin/python bench/expressions.py [--runs 5]
    (cd ../other && PYTHONPATH=$PWD ../main/.venv/bin/python bench/expressions.py)

Prints figures; never part of the test run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file's folder is not a package: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from engine.core.expressions import SafeEnvironment  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.usecases.demo import FORMS  # noqa: E402
from engine.usecases.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = {
    "annual_revenue": 8_000_000,
    "intent": "high",
    "tier": "A",
    "source_channel": "referral",
    "discount": 5,
    "lines": [{"sku": f"S{i}", "qty": i % 7, "price": 99.5} for i in range(20)],
}
EXPRESSIONS = {
    "condition": "annual_revenue > 5000000 and intent == 'high'",
    "DMN cell": "tier in ('A', 'B')",
    "membership": "source_channel in ['referral', 'exhibition', 'website']",
}
SCRIPT = (
    "total = 0\n"
    "for line in lines:\n"
    "    total += line['qty'] * line['price']\n"
    "total = round(total * (100 - discount) / 100, 2)\n"
    "big = total > 1000\n"
)
LEAD = {
    "contact": "Li Wei",
    "source_channel": "referral",
    "annual_revenue": 8_000_000,
    "intent": "high",
}


def per_call(function: object, repeat: int) -> float:
    """Median microseconds per call over 5 batches of `repeat` calls."""
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            function()  # type: ignore[operator]
        batches.append((time.perf_counter() - t0) / repeat * 1e6)
    return statistics.median(batches)


def evaluations() -> dict[str, float]:
    env = SafeEnvironment()
    found = {}
    for name, text in EXPRESSIONS.items():
        found[name] = per_call(lambda text=text: env.evaluate(text, DATA), 20_000)
    found["script (20 lines totalled)"] = per_call(lambda: env.execute(SCRIPT, dict(DATA)), 5_000)
    return found


def qualification_ms() -> float:
    """Median ms of completing the pipeline's first task (qualification: decision table,
    gateways) through the use cases on a SQLite file, 200 deals."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        db.migrate()
        service = Service(db)
        service.add_user("alice", ["Sales Rep"])
        service.deploy([ROOT / "processes"])
        timings = []
        for i in range(200):
            iid = service.start(
                "sales_pipeline", owner="alice", data={**LEAD, "company": f"Bench {i}"}
            )["instance_id"]
            task = service.tasks(instance=iid)[0]
            data = FORMS.get(task["element_id"], {})
            t0 = time.perf_counter()
            service.complete(task["task_id"], user="alice", data=data)
            timings.append(time.perf_counter() - t0)
        db.dispose()
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    runs = [evaluations() for _ in range(args.runs)]
    print(f"\none evaluation, µs (median of {args.runs} runs)")
    for name in runs[0]:
        print(f"  {statistics.median(r[name] for r in runs):8.2f}  {name}")
    completion = statistics.median(qualification_ms() for _ in range(args.runs))
    print(f"\n  {completion:8.2f} ms  completing the sales pipeline's first task (p50)")


if __name__ == "__main__":
    main()
