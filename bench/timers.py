"""Timer benchmark: one `salesflow worker` process (default settings) against a SQLite file
with 10,000 deals of the shipped sales pipeline waiting on their 30-day nurture timer.

- burst:  all 10,000 timers are already due when the worker starts (the backlog after an
  outage, or 10,000 timers due in the same minute): time until every one has fired, and the
  rate.  Target (issue 5): all fired within 30 s.
- minute: the 10,000 timers fall due spread evenly over one minute while the worker runs:
  lateness (fired at - due at) p50/p99/max.  Target: a timer fires at most 1 s late.

Deals are driven through the engine (start, then the qualification that sends the lead to
nurturing), with the clock moved back so each timer falls due exactly when wanted.  Each
firing does the real work: the workflow is restored, the follow-up task for Marketing opens,
history is written.  Prints figures; never part of the test run.

    .venv/bin/python bench/timers.py [--runs 3] [--deals 10000] [--scenario burst|minute|both]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import time_machine  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from engine.store.db import Database  # noqa: E402
from engine.store.models import History  # noqa: E402
from engine.usecases.demo import NURTURE, drive  # noqa: E402
from engine.usecases.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SALESFLOW = str(Path(sys.executable).parent / "salesflow")
WAIT = timedelta(days=30)  # the pipeline's nurture timer
LEAD = {
    "company": "Bench",
    "contact": "Li Wei",
    "source_channel": "referral",
    "annual_revenue": 2_000_000,
    "intent": "low",
}


def prepare(path: Path, dues: list[datetime]) -> Service:
    service = Service(Database(f"sqlite:///{path}"))
    service.db.migrate()
    service.add_user("alice", ["Sales Rep"])
    service.add_user("mark", ["Marketing"])
    service.deploy([ROOT / "processes"])
    with time_machine.travel(dues[0] - WAIT, tick=False) as clock:
        for n, due in enumerate(dues):
            clock.move_to(due - WAIT)
            iid = service.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
            drive(service, iid, NURTURE)
            if (n + 1) % 2000 == 0:
                print(f"  ... {n + 1} deals", file=sys.stderr)
    return service


def fired(service: Service) -> list[tuple[datetime, datetime]]:
    """(due, fired) of every timer that fired."""
    with service.db.read() as s:
        rows = s.execute(
            select(History.entered_at, History.at).where(History.kind == "timer")
        ).all()
    return [(entered + WAIT, at) for entered, at in rows if entered is not None]


def count_fired(service: Service) -> int:
    with service.db.read() as s:
        return s.scalar(select(func.count()).where(History.kind == "timer")) or 0


def run_worker(service: Service, path: Path, deals: int, limit: float) -> float:
    """Start a worker, wait until `deals` timers have fired (or `limit` s), stop it; the
    seconds from its start to the last firing seen."""
    env = {**os.environ, "SALESFLOW_DATABASE_URL": f"sqlite:///{path}"}
    worker = subprocess.Popen(
        [SALESFLOW, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    t0 = time.monotonic()
    try:
        while count_fired(service) < deals and time.monotonic() - t0 < limit:
            time.sleep(0.05)
        return time.monotonic() - t0
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def burst(deals: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "timers.sqlite3"
        due = datetime.now(UTC) - timedelta(seconds=30)
        service = prepare(path, [due] * deals)
        seconds = run_worker(service, path, deals, limit=600)
        found = fired(service)
        service.db.dispose()
    assert len(found) == deals, f"only {len(found)} of {deals} fired"
    span = (max(at for _due, at in found) - min(at for _due, at in found)).total_seconds()
    return {"all fired after s": seconds, "timers/s": deals / max(span, 1e-9)}


def minute(deals: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "timers.sqlite3"
        # Time the preparation of a few deals to know when the minute can start.
        t0 = time.monotonic()
        probe = prepare(Path(tmp) / "probe.sqlite3", [datetime.now(UTC) + WAIT] * 50)
        probe.db.dispose()
        per_deal = (time.monotonic() - t0) / 50
        start = datetime.now(UTC) + timedelta(seconds=per_deal * deals * 1.3 + 15)
        step = 60.0 / deals
        dues = [start + timedelta(seconds=i * step) for i in range(deals)]
        service = prepare(path, dues)
        if datetime.now(UTC) > start:
            print("  warning: preparing took longer than planned", file=sys.stderr)
        run_worker(service, path, deals, limit=600)
        found = fired(service)
        service.db.dispose()
    assert len(found) == deals, f"only {len(found)} of {deals} fired"
    late = sorted((at - due).total_seconds() for due, at in found)
    return {
        "lateness p50 s": late[len(late) // 2],
        "lateness p99 s": late[round(0.99 * (len(late) - 1))],
        "lateness max s": late[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--scenario", choices=["burst", "minute", "both"], default="both")
    args = parser.parse_args()
    scenarios = {"burst": burst, "minute": minute}
    chosen = list(scenarios) if args.scenario == "both" else [args.scenario]
    results: dict[str, list[float]] = {}
    for n in range(args.runs):
        for name in chosen:
            print(f"run {n + 1}/{args.runs}: {name} ...", file=sys.stderr)
            for key, value in scenarios[name](args.deals).items():
                results.setdefault(f"{name}: {key}", []).append(value)
    print(f"salesflow worker, SQLite file, {args.deals} timers; median of {args.runs} runs")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for key, values in results.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{key:28} {statistics.median(values):10.2f}   (runs: {shown})")


if __name__ == "__main__":
    main()
