"""The pages at scale (issue 16): server time of the inbox, the deal page, the deal list, the
board and the sales pipeline's heatmap over 100,000 deals and 1,000,000 history rows, on a
SQLite file and on a PostgreSQL database of its own.  Target: p50 <= 50 ms each.

The deals are written by bench/_bulk.py (copies of deals the engine drove, with their own
times, owners and customers; read its docstring for what is synthetic), once: a SQLite file
or a PostgreSQL database that already holds them is reused.  Pages are timed as bench/web.py
times them: inside the process with Flask's test client, from the request to the full
response, after logging in through /login.  Prints figures; never part of the test run.

    .venv/bin/python bench/web_100k.py [--runs 3] [--sqlite var/bench_100k.sqlite3]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_100k] [--only sqlite|pg]
        [--heatmaps 10]

--pg names a database of its own (never one that holds anything else): it is emptied and
filled when it does not hold the deals yet.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# As in bench/web.py: this folder at the end of the import path (bench/engine.py would shadow
# the engine package), the project's root at its front.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

from _bulk import MANAGER, REPS, generate, holds  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from web import logged_in, machine, p, repeated, timed_get  # noqa: E402

from engine.store.db import Database  # noqa: E402
from engine.store.models import History, Instance, OpenTask  # noqa: E402
from webui import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0
DEALS = 100_000
HISTORY = 1_000_000
REP = REPS[6]  # rep07: the inbox, the deal pages, a rep's list and board
DEAL_PAGES = 100
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_100k"


def prepare(db: Database, label: str) -> None:
    if holds(db, DEALS):
        print(f"{label}: reusing the {DEALS:,} deals there", file=sys.stderr)
        db.migrate()  # a migration added since (an index) applies to the data kept
        return
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    print(f"{label}: generating {DEALS:,} deals and {HISTORY:,} history rows ...", file=sys.stderr)
    db.migrate()
    generate(db, DEALS, HISTORY)


def sizes(db: Database) -> str:
    with db.read() as s:
        deals = s.scalar(select(func.count()).select_from(Instance)) or 0
        running = s.scalar(select(func.count()).where(Instance.status == "running")) or 0
        rows = s.scalar(select(func.count()).select_from(History)) or 0
        tasks = s.scalar(select(func.count()).select_from(OpenTask)) or 0
        mine = s.scalar(select(func.count()).where(OpenTask.assignee == REP)) or 0
    return (
        f"{deals:,} deals ({running:,} running), {rows:,} history rows, {tasks:,} open tasks "
        f"({mine} of them {REP}'s)"
    )


def rep_deals(db: Database) -> list[int]:
    """DEAL_PAGES of the rep's deals, spread over the years (old and new, open and closed)."""
    with db.read() as s:
        ids = list(
            s.scalars(select(Instance.id).where(Instance.owner == REP).order_by(Instance.id))
        )
    step = max(1, len(ids) // DEAL_PAGES)
    return ids[::step][:DEAL_PAGES]


def timed(client: FlaskClient, url: str) -> tuple[float, float]:
    """Server time of one page: wall and this process's CPU, in ms.  On a shared machine the
    CPU time is what the page itself cost (without the database server's, on PostgreSQL)."""
    cpu = time.process_time()
    wall = timed_get(client, url)
    return wall, (time.process_time() - cpu) * 1000


def one_run(url: str, deals: list[int], heatmaps: int) -> dict[str, list[tuple[float, float]]]:
    """A fresh app (empty in-process caches), then each page measured."""
    app = create_app({"SALESFLOW_DATABASE_URL": url, "SECRET_KEY": "bench"})
    try:
        rep = logged_in(app.test_client(), REP)
        boss = logged_in(app.test_client(), MANAGER)
        timed_get(rep, "/tasks")  # templates compiled, connections opened
        timed_get(boss, "/deals")
        middle = DEALS // 50 // 2
        heatmap = "/processes/sales_pipeline/heatmap"
        pages: dict[str, tuple[FlaskClient, list[str]]] = {
            f"inbox /tasks ({REP})": (rep, ["/tasks"] * 20),
            "deal page, first view": (rep, [f"/deals/{i}" for i in deals]),
            "deal page, second view": (rep, [f"/deals/{i}" for i in deals]),
            f"deal list, page {middle} (boss)": (
                boss,
                [f"/deals?page={middle + n % 7}" for n in range(20)],
            ),
            "deal list, filtered (boss)": (
                boss,
                [f"/deals?status=running&source=referral&page={1 + n % 3}" for n in range(20)],
            ),
            f"deal list ({REP})": (rep, ["/deals"] * 20),
            "board (boss)": (boss, ["/deals/board"] * 20),
            f"board ({REP})": (rep, ["/deals/board"] * 20),
            "heatmap (boss)": (boss, [heatmap] * heatmaps),
            # The process page links its version's heatmap.
            "heatmap ?version=1 (boss)": (boss, [f"{heatmap}?version=1"] * heatmaps),
        }
        return {name: [timed(c, url) for url in urls] for name, (c, urls) in pages.items()}
    finally:
        app.extensions["salesflow"].db.dispose()


def measure(url: str, label: str, runs: int, heatmaps: int) -> None:
    db = Database(url)
    try:
        prepare(db, label)
        described = sizes(db)
        deals = rep_deals(db)
    finally:
        db.dispose()
    results, loads = repeated(label, runs, lambda: one_run(url, deals, heatmaps))
    median: Callable[[list[float]], float] = statistics.median
    print(f"\nsalesflow web app, {label}: {described}; median of {runs} runs")
    print(f"machine: {machine()}; load average (1 min) {loads}")
    print(
        f"{'page':34} {'p50 ms':>7} {'p95 ms':>7} {'CPU p50':>8}  target p50 <= {TARGET_MS:.0f} ms"
    )
    for name in results[0]:
        p50 = median([p([w for w, _c in r[name]], 0.50) for r in results])
        p95 = median([p([w for w, _c in r[name]], 0.95) for r in results])
        cpu = median([p([c for _w, c in r[name]], 0.50) for r in results])
        verdict = "ok" if p50 <= TARGET_MS else "MISSED"
        print(f"{name:34} {p50:7.1f} {p95:7.1f} {cpu:8.1f}  {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite", type=Path, default=ROOT / "var" / "bench_100k.sqlite3")
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--only", choices=("sqlite", "pg"))
    parser.add_argument("--heatmaps", type=int, default=10, help="heatmap views per run")
    args = parser.parse_args()
    if args.only != "pg":
        measure(f"sqlite:///{args.sqlite.resolve()}", "SQLite file", args.runs, args.heatmaps)
    if args.only != "sqlite":
        measure(args.pg, "PostgreSQL", args.runs, args.heatmaps)


if __name__ == "__main__":
    main()
