"""Issue 16: `salesflow serve` with 1 and with 2 processes on PostgreSQL under locust.

Loads 10,000 deals into a PostgreSQL database of its own (`bench_load`, reused while it holds
them; bench/_load_team.py), then for each run: a fresh copy of it (`bench_load_run`, CREATE
DATABASE ... TEMPLATE, so every run starts from the same deals), `salesflow serve --processes
N` with `salesflow worker` beside it, and locust headless (bench/load.py, 50 people) for a
fixed time.  Runs alternate between the process counts (1, 2, 1, 2, ...) so that whatever
else the machine does falls on both.  Prints each run, then per page the median over the
runs of requests/s, p50 and p95, the errors, the 409s (counted apart), and the ratio of the
throughputs 2 processes / 1.  Never part of the test run.

    .venv/bin/python bench/load_run.py [--runs 3] [--time 60] [--users 50] [--threads 8]
        [--processes 1,2] [--deals 10000] [--server postgresql+psycopg://postgres@127.0.0.1:5432]

--processes takes "waitress" too (the default server: one process), as a reference.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))
sys.path.append(str(_HERE))

import psutil  # noqa: E402  (locust's own dependency: CPU time of the server's processes)
from _load_team import load  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402

from engine.store.db import Database  # noqa: E402

BIN = Path(sys.executable).parent
TEMPLATE, COPY = "bench_load", "bench_load_run"
TAKEN = "complete task (409: done by someone else meanwhile)"


@dataclass
class Run:
    server: str  # "1", "2", ... processes, or "waitress"
    pages: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> figures
    total: dict[str, float] = field(default_factory=dict)
    # CPU seconds per second of the run (cores): the server's processes, the PostgreSQL
    # backends serving its database, locust; what is left of the machine went elsewhere.
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    locust_cpu: float = 0.0
    other_cpu: float = 0.0  # the rest of the machine's busy time: other people's work
    load_before: float = 0.0


def admin(server: str) -> Engine:
    return create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")


def prepare(server: str, deals: int, jobs: int) -> None:
    """`bench_load` with `deals` deals: reused when its comment says it holds them (it is set
    last, once the load finished), else loaded anew; migrated to the code's schema."""
    engine = admin(server)
    mark = f"salesflow load test: {deals} deals"
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                " WHERE datname = :name"
            ),
            {"name": TEMPLATE},
        ).scalar()
        if found != mark:
            print(f"loading {deals} deals into {TEMPLATE} ...", file=sys.stderr, flush=True)
            conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
            started = time.perf_counter()
            load(f"{server}/{TEMPLATE}", deals, jobs)
            print(f"loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            conn.execute(text(f"COMMENT ON DATABASE {TEMPLATE} IS '{mark}'"))
        else:
            print(f"reusing {TEMPLATE} ({deals} deals)", file=sys.stderr)
    engine.dispose()
    db = Database(f"{server}/{TEMPLATE}")
    db.migrate()  # another change may have added a migration since the deals were loaded
    db.dispose()


def fresh_copy(server: str) -> str:
    engine = admin(server)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {COPY} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {COPY} TEMPLATE {TEMPLATE}"))
    engine.dispose()
    return f"{server}/{COPY}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(1200):
        if process.poll() is not None:
            raise SystemExit(f"the server stopped: {process.communicate()[1].decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server never answered")


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU seconds of a server and of every process it forked."""
    root = psutil.Process(process.pid)
    return _cpu([root, *root.children(recursive=True)])


def database_cpu_seconds() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the run's database."""
    found: dict[int, float] = {}
    for proc in psutil.process_iter(["cmdline"]):
        if any(COPY in part for part in proc.info["cmdline"] or ()):
            found[proc.pid] = _cpu([proc])
    return found


def _busy(times: Any) -> float:
    """The machine's busy CPU seconds so far, all cores."""
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def one_run(args: argparse.Namespace, which: str, folder: Path) -> Run:
    url = fresh_copy(args.server)
    env = {
        **os.environ,
        "SALESFLOW_DATABASE_URL": url,
        "SALESFLOW_VAR_DIR": str(folder),
        # Shared by the processes of this run only; never written anywhere.
        "SALESFLOW_SECRET_KEY": secrets.token_hex(32),
        "LOAD_DEALS": str(args.deals),
    }
    port = free_port()
    serve = [str(BIN / "salesflow"), "serve", "--port", str(port)]
    if which == "waitress":
        serve += ["--workers", str(args.threads)]
    else:
        serve += ["--processes", which, "--threads", str(args.threads)]
    run = Run(which, load_before=os.getloadavg()[0])
    prefix = folder / f"run-{which}"
    # Logs go to files (a pipe nobody reads during the run would fill and stop the server).
    with (
        open(f"{prefix}-worker.log", "wb") as worker_log,
        open(f"{prefix}-server.log", "wb") as server_log,
        open(f"{prefix}-locust.log", "wb") as locust_log,
    ):
        worker = subprocess.Popen(
            [str(BIN / "salesflow"), "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=worker_log,
        )
        server = subprocess.Popen(serve, env=env, stderr=server_log)
        try:
            wait_healthy(port, server)
            cpu_before, database_before = cpu_seconds(server), database_cpu_seconds()
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            machine_before = _busy(psutil.cpu_times())
            started = time.perf_counter()
            subprocess.run(
                locust_command(args, port, prefix),
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=locust_log,  # its own summary: the figures are read from the CSV
            )
            elapsed = time.perf_counter() - started
            run.server_cpu = (cpu_seconds(server) - cpu_before) / elapsed
            database_after = database_cpu_seconds()  # backends that ended meanwhile are missed
            run.database_cpu = (
                sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items())
                / elapsed
            )
            children = resource.getrusage(resource.RUSAGE_CHILDREN)  # locust, just waited for
            run.locust_cpu = (
                children.ru_utime
                + children.ru_stime
                - children_before.ru_utime
                - children_before.ru_stime
            ) / elapsed
            machine = (_busy(psutil.cpu_times()) - machine_before) / elapsed
            run.other_cpu = machine - run.server_cpu - run.database_cpu - run.locust_cpu
            run.pages, run.total = read_stats(prefix)
            if run.total.get("failures"):  # what failed, as locust saw it
                failed = Path(f"{prefix}_failures.csv").read_text(encoding="utf-8")
                print(failed[:3000], file=sys.stderr)
        finally:
            for process in (server, worker):
                process.send_signal(signal.SIGTERM)
            for process in (server, worker):
                process.wait(timeout=120)
    for log in ("server", "worker", "locust"):
        written = Path(f"{prefix}-{log}.log").read_text(encoding="utf-8", errors="replace")
        if "Traceback" in written:
            print(f"--- {log} ({label(which)}):\n{written[-3000:]}", file=sys.stderr)
    return run


def locust_command(args: argparse.Namespace, port: int, prefix: Path) -> list[str]:
    return [
        str(BIN / "locust"),
        "-f",
        str(_HERE / "load.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.time}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--reset-stats",  # the figures from when everyone is logged in and working
        "--only-summary",
        "--exit-code-on-error",
        "0",  # failures are counted from the CSV, not from locust's exit code
    ]


def read_stats(prefix: Path) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per request name (and "Aggregated") from locust's CSV: requests, failures, requests/s,
    p50 and p95 in ms ("N/A" where nothing was timed: left out)."""
    pages: dict[str, dict[str, float]] = {}
    total: dict[str, float] = {}
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as stats:
        for row in csv.DictReader(stats):
            if row["50%"] == "N/A":
                continue
            figures = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
            }
            if row["Name"] == "Aggregated":
                total = figures
            else:
                pages[row["Name"]] = figures
    return pages, total


def median_of(runs: list[Run], page: str | None, key: str) -> float:
    values = [(r.total if page is None else r.pages.get(page, {})).get(key, 0.0) for r in runs]
    return statistics.median(values)


def label(which: str) -> str:
    return "waitress, 1 process" if which == "waitress" else f"gunicorn, {which} process(es)"


def report(args: argparse.Namespace, runs: list[Run]) -> None:
    configs = list(dict.fromkeys(r.server for r in runs))
    by = {c: [r for r in runs if r.server == c] for c in configs}
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(
        f"{args.users} users, {args.time} s a run, {args.threads} threads a process, "
        f"{args.deals} deals, {len(runs) // len(configs)} runs each (medians below)"
    )
    print("\nruns (in order):")
    for r in runs:
        print(
            f"  {label(r.server):24} {r.total['rps']:7.1f} req/s  p50 {r.total['p50']:5.0f} ms"
            f"  p95 {r.total['p95']:6.0f} ms  errors {r.total['failures']:.0f}  409s "
            f"{r.pages.get(TAKEN, {}).get('requests', 0):.0f}  CPU: server {r.server_cpu:.2f}, "
            f"PostgreSQL {r.database_cpu:.2f}, locust {r.locust_cpu:.2f}, "
            f"others {r.other_cpu:.2f} cores"
            f"  load before {r.load_before:.2f}"
        )
    pages = sorted({p for r in runs for p in r.pages})
    head = " | ".join(f"{label(c)} req/s, p50, p95 (ms)" for c in configs)
    print(f"\n| page | {head} |")
    print("|---|" + "---|" * len(configs))
    for page in [*pages, None]:
        cells = []
        for c in configs:
            rps = median_of(by[c], page, "rps")
            p50, p95 = median_of(by[c], page, "p50"), median_of(by[c], page, "p95")
            cells.append(f"{rps:.1f}, {p50:.0f}, {p95:.0f}")
        print(f"| {page or '**all**'} | " + " | ".join(cells) + " |")
    for c in configs:
        errors = sum(r.total["failures"] for r in by[c])
        taken = sum(r.pages.get(TAKEN, {}).get("requests", 0) for r in by[c])
        cpu = [
            statistics.median(getattr(r, f"{part}_cpu") for r in by[c])
            for part in ("server", "database", "locust", "other")
        ]
        print(
            f"{label(c)}: errors {errors:.0f}, 409s {taken:.0f}, CPU (cores, medians): server "
            f"{cpu[0]:.2f}, PostgreSQL {cpu[1]:.2f}, locust {cpu[2]:.2f}, others {cpu[3]:.2f}"
        )
    if "1" in by and "2" in by:
        ratio = median_of(by["2"], None, "rps") / median_of(by["1"], None, "rps")
        print(f"throughput 2 processes / 1: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=3, help="processes loading the deals")
    parser.add_argument("--processes", default="1,2", help="e.g. 1,2 or waitress,1,2")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time", type=int, default=60, help="seconds of each locust run")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--load-only", action="store_true", help="load the deals, run nothing")
    args = parser.parse_args()
    prepare(args.server, args.deals, args.jobs)
    if args.load_only:
        return
    configs = args.processes.split(",")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.runs):
            for which in configs:
                print(f"run {n + 1}/{args.runs}: {label(which)} ...", file=sys.stderr, flush=True)
                runs.append(one_run(args, which, Path(tmp)))
    report(args, runs)


if __name__ == "__main__":
    main()
