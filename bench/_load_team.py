"""The load test's team and deals (issue 16): shared by the locustfile (bench/load.py), which
only reads the names, and the runner (bench/load_run.py), which loads them into PostgreSQL.

40 reps own 250 deals each (10,000), driven through the engine by bench/_deals.py `populate`
(spread over the first stages, so each rep's inbox holds qualify / contact / needs-analysis
tasks); 9 managers see every deal; one designer publishes.  Every password is PASSWORD: the
load test's own throwaway database, never a real one.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPS = tuple(f"rep{n:02d}" for n in range(1, 41))
MANAGERS = tuple(f"manager{n}" for n in range(1, 10))
DESIGNER = "designer1"
PASSWORD = "load-test-pass-16"
ROOT = Path(__file__).resolve().parent.parent


def load(url: str, deals: int, jobs: int) -> None:
    """The team, the shipped processes and `deals` deals (spread evenly over the reps) in the
    migrated, empty database at `url`; `jobs` processes drive the deals in parallel."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from engine.store.db import Database
    from engine.usecases.service import Service

    service = Service(Database(url))
    try:
        service.db.migrate()
        for rep in REPS:
            service.add_user(rep, ["Sales Rep"], password=PASSWORD, display_name=rep.title())
        for manager in MANAGERS:
            service.add_user(manager, ["Sales Manager"], password=PASSWORD)
        service.add_user(DESIGNER, ["designer"], password=PASSWORD)
        service.deploy([ROOT / "processes"], actor=DESIGNER)
    finally:
        service.db.dispose()  # nothing open across the fork below
    shares = [deals // len(REPS) + (1 if i < deals % len(REPS) else 0) for i in range(len(REPS))]
    with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
        done = 0
        for finished in pool.map(_populate, [url] * len(REPS), REPS, shares):
            done += finished
            print(f"  ... {done} deals", file=sys.stderr, flush=True)


def _populate(url: str, owner: str, count: int) -> int:
    from _deals import populate

    from engine.store.db import Database
    from engine.usecases.service import Service

    service = Service(Database(url))
    try:
        populate(service, count, owner=owner)
    finally:
        service.db.dispose()
    return count
