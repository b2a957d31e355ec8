"""Hostile-script benchmark (issue 13, item 1): a real `salesflow serve` (waitress) on a SQLite
file, a published model whose script attacks the server (tests/security/data/hostile.bpmn:
`a = [a, a]` thirty times, then compare, sort, test membership, hash, or keep it; or a loop
of script tasks without end), and a rep completing such tasks one after the other while
another client keeps asking for /healthz and the deal list and keeps starting deals.

Prints, for each hostile completion, how long until the deal was in incidents and what the
incident says; and the other client's answer times meanwhile (p50, p95, max) and how many
deals it started.  Never part of the test run.

    .venv/bin/python bench/hostile.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from engine.store.db import Database  # noqa: E402
from engine.usecases.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "security" / "data" / "hostile.bpmn"
SALESFLOW = Path(sys.executable).parent / "salesflow"
ATTACKS = ["compare", "sort", "member", "hash", "keep", "loop"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def call(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def run(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hostile.sqlite3'}"
        db = Database(url)
        db.migrate()
        service = Service(db)
        service.add_user("alice", ["Sales Rep"])
        service.add_user("bob", ["Sales Rep"])
        service.deploy([HOSTILE])
        tokens = {u: service.create_token(u)["token"] for u in ("alice", "bob")}
        tasks = []
        for _ in range(rounds):
            for attack in ATTACKS:
                iid = service.start("hostile", owner="alice", data={"attack": attack, "depth": 30})
                (task,) = service.tasks(instance=iid["instance_id"])
                tasks.append((attack, iid["instance_id"], task["task_id"]))
        db.dispose()
        port = free_port()
        env = {**os.environ, "SALESFLOW_DATABASE_URL": url, "SALESFLOW_VAR_DIR": tmp}
        server = subprocess.Popen(
            [str(SALESFLOW), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.05)
            measure(base, tokens, tasks)
        finally:
            server.terminate()
            server.wait(timeout=60)


def measure(base: str, tokens: dict[str, str], tasks: list[tuple[str, str, str]]) -> None:
    done = threading.Event()
    hostile: list[tuple[str, float, str]] = []
    others: list[float] = []
    started = 0

    def attacker() -> None:
        for attack, iid, task_id in tasks:
            t0 = time.perf_counter()
            call(base, tokens["alice"], "POST", f"/api/v1/tasks/{task_id}/complete", {})
            spent = time.perf_counter() - t0
            _status, deal = call(base, tokens["alice"], "GET", f"/api/v1/deals/{iid}")
            message = ((deal or {}).get("error") or {}).get("message", "(no incident)")
            hostile.append((attack, spent, message))
        done.set()

    thread = threading.Thread(target=attacker)
    thread.start()
    time.sleep(0.2)
    while not done.is_set():
        for method, path, body in (
            ("GET", "/healthz", None),
            ("GET", "/api/v1/deals", None),
            ("POST", "/api/v1/deals", {"process_id": "hostile", "data": {"attack": "none"}}),
        ):
            t0 = time.perf_counter()
            status, _ = call(base, tokens["bob"], method, path, body)
            others.append(time.perf_counter() - t0)
            if method == "POST" and status == 201:
                started += 1
        time.sleep(0.05)
    thread.join()
    print("hostile completions (each ends with the deal in incidents):")
    for attack, spent, message in hostile:
        print(f"  {attack:8} {spent:6.2f} s  {message[:90]}")
    ordered = sorted(others)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"\nanother client meanwhile: {len(others)} requests, p50 "
        f"{statistics.median(others) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(others) * 1000:.0f} ms; {started} deals started"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the six attacks")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    run(args.rounds)


if __name__ == "__main__":
    main()
