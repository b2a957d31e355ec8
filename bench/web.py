"""Web app benchmark: server time of the inbox, the deal page, the deal list and the board
with 10,000 deals in a SQLite file database (issue 4: p50 <= 30 ms each).

Server time is measured inside the process with Flask's test client: from the request to
the full response, no network and no browser.  Prints figures; never part of the test run.

    .venv/bin/python bench/web.py [--runs 3] [--deals 10000] [--db FILE]

--db keeps the populated database in FILE (and reuses it when it already holds the deals).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# Keep this folder off the front of the import path (bench/engine.py would shadow the engine
# package); at the end it still provides the shared helper _deals.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

from _deals import populate  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from engine.store.db import Database  # noqa: E402
from engine.usecases.service import Service  # noqa: E402
from webui import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pass-1"
TARGET_MS = 30.0
DEAL_PAGES = 200
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


R = TypeVar("R")


def prepare(path: Path, deals: int) -> None:
    service = Service(Database(f"sqlite:///{path}"))
    try:
        service.db.migrate()
        if len(service.instances(limit=deals)) >= deals:
            print(f"reusing {path} ({deals} deals)", file=sys.stderr)
            return
        service.add_user("alice", ["Sales Rep"], password=PASSWORD, display_name="Alice Rep")
        service.add_user("mia", ["Sales Manager"], password=PASSWORD, display_name="Mia Manager")
        service.deploy([ROOT / "processes"])
        print(f"creating {deals} deals ...", file=sys.stderr)
        populate(service, deals)
    finally:
        service.db.dispose()


def logged_in(client: FlaskClient, username: str) -> FlaskClient:
    page = client.get("/login").get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found is not None, "no csrf_token on /login"
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": found.group(1)}
    )
    assert answer.status_code in (302, 303), f"log-in of {username} failed: {answer.status_code}"
    return client


def timed_get(client: FlaskClient, url: str) -> float:
    t0 = time.perf_counter()
    answer = client.get(url)
    ms = (time.perf_counter() - t0) * 1000
    assert answer.status_code == 200, f"GET {url}: {answer.status_code}"
    return ms


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def one_run(db_path: Path, deals: int) -> dict[str, list[float]]:
    """A fresh app (empty in-process caches), then each page measured."""
    app = create_app({"SALESFLOW_DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": "bench"})
    try:
        alice = logged_in(app.test_client(), "alice")
        mia = logged_in(app.test_client(), "mia")
        timed_get(alice, "/tasks")  # templates compiled, connections opened
        timed_get(mia, "/deals")
        found: dict[str, list[float]] = {}
        found["inbox /tasks (alice)"] = [timed_get(alice, "/tasks") for _ in range(20)]
        step = max(1, deals // DEAL_PAGES)
        ids = list(range(1, deals + 1, step))[:DEAL_PAGES]
        found["deal page, first view"] = [timed_get(alice, f"/deals/{i}") for i in ids]
        found["deal page, second view"] = [timed_get(alice, f"/deals/{i}") for i in ids]
        pages = (deals + 49) // 50
        found["deal list /deals?page=N (mia)"] = [
            timed_get(mia, f"/deals?page={1 + (n * 37) % pages}") for n in range(50)
        ]
        found["board /deals/board (mia)"] = [timed_get(mia, "/deals/board") for _ in range(20)]
        return found
    finally:
        app.extensions["salesflow"].db.dispose()


def repeated(label: str, runs: int, once: Callable[[], R]) -> tuple[list[R], str]:
    """`once` run `runs` times, each announced on stderr with its duration; its results and
    the range of the 1-minute load average around them (what the figures were measured at)."""
    results, loads = [], []
    for n in range(runs):
        print(f"{label}: run {n + 1}/{runs} ...", file=sys.stderr)
        t0 = time.perf_counter()
        loads.append(os.getloadavg()[0])
        results.append(once())
        loads.append(os.getloadavg()[0])
        print(f"  {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return results, f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def run(db_path: Path, args: argparse.Namespace) -> None:
    prepare(db_path, args.deals)
    runs = []
    for n in range(args.runs):
        print(f"run {n + 1}/{args.runs} ...", file=sys.stderr)
        runs.append(one_run(db_path, args.deals))
    median: Callable[[list[float]], float] = statistics.median
    print(f"salesflow web app, SQLite file, {args.deals} deals; median of {args.runs} runs")
    print(f"machine: {machine()}")
    print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8}  target p50 <= {TARGET_MS:.0f} ms")
    for name in runs[0]:
        p50 = median([p(r[name], 0.50) for r in runs])
        p95 = median([p(r[name], 0.95) for r in runs])
        verdict = "ok" if p50 <= TARGET_MS else "MISSED"
        print(f"{name:34} {p50:8.1f} {p95:8.1f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--db", type=Path, help="keep (or reuse) the database in this file")
    args = parser.parse_args()
    if args.db is not None:
        run(args.db.resolve(), args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp) / "web.sqlite3", args)


if __name__ == "__main__":
    main()
