"""Issue 13, item 8: `salesflow serve` (and so `make run`) serves with waitress, the
production server, by default; Flask's development server only with --dev.  Run for real: a
`salesflow serve` process on a free port of this machine, asked over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SALESFLOW = Path(sys.executable).parent / "salesflow"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def health(port: int, process: subprocess.Popen[bytes]) -> tuple[str | None, bytes]:
    """The Server header and body of /healthz, once the server answers (it is polled while the
    process runs; a process that ends is a failure, reported with what it printed)."""
    url = f"http://127.0.0.1:{port}/healthz"
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1].decode())
        try:
            with urllib.request.urlopen(url) as answer:
                return answer.headers.get("Server"), answer.read()
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server never answered")


@contextmanager
def serving(
    db_url: str, var_dir: Path, **settings: str
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`salesflow serve` (waitress) on `db_url`, on a free port, until the block ends, with
    these extra SALESFLOW_* settings; (port, process).  No traceback may reach its stderr."""
    env = {**os.environ, "SALESFLOW_DATABASE_URL": db_url, "SALESFLOW_VAR_DIR": str(var_dir)}
    env.update(settings)
    port = free_port()
    process = subprocess.Popen(
        [str(SALESFLOW), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        health(port, process)
        yield port, process
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=60)
    assert b"Traceback" not in err, err.decode()[-3000:]


def test_serve_uses_waitress_by_default(tmp_path: Path, db_url: str) -> None:
    env = {**os.environ, "SALESFLOW_DATABASE_URL": db_url, "SALESFLOW_VAR_DIR": str(tmp_path)}
    port = free_port()
    process = subprocess.Popen(
        [str(SALESFLOW), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        server, body = health(port, process)
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=60)
    assert server == "waitress"
    assert b"ok" in body
    assert b"development server" not in err
