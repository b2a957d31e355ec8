"""Serving with several processes: gunicorn's gthread workers, for PostgreSQL.

`salesflow serve --processes N [--threads T]` runs gunicorn as a library: one master that
listens and watches, N forked processes that each answer with T threads.  waitress (one
process, `webui.serving`) stays the default, and the only server on Windows (gunicorn forks).

What makes the processes agree, and what they keep to themselves:
- The app is built in each process after the fork, never in the master (no preloading): each
  has its own SQLAlchemy engine and connection pool (a pool's connections must not cross a
  fork), its own live-workflow cache (checked against the deal's lock_version in the database
  before use, so another process's change is never missed) and its own chart and layout caches
  (keyed by what they draw from: a definition version's content hash, a deal's state).
- Sessions and CSRF tokens are signed with SECRET_KEY, so every process (and every machine
  behind the same load balancer) must hold the same one: with N > 1 it must come from
  SALESFLOW_SECRET_KEY, and `refusal` says so before anything starts.
- SQLite has one writer: N > 1 is refused there (its threads already share the lock).
- The timers, escalations and e-mail stay with `salesflow worker`, started beside the server.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from webui.serving import SWITCH_INTERVAL

__all__ = [
    "PROCESS_HEADER",
    "backend",
    "options",
    "process_app",
    "refusal",
    "serve_processes",
]

# Which process answered (a random word per process, nothing about the machine): lets a load
# test or an operator see that requests are spread, and the tests that sessions cross.
PROCESS_HEADER = "X-Salesflow-Process"
LONGEST_REQUEST_LINE = 8190  # gunicorn's ceiling (default 4094): long filtered-list URLs


def backend(url: str) -> str:
    """The database kind of a SQLAlchemy URL: "sqlite", "postgresql", ..."""
    return url.split(":", 1)[0].split("+", 1)[0].lower()


def refusal(processes: int, url: str, environ: Mapping[str, str], platform: str) -> str | None:
    """Why `processes` gunicorn processes cannot serve the database at `url` (None: they can)."""
    if processes < 1:
        return "--processes must be 1 or more"
    if platform == "win32":
        return (
            "--processes needs gunicorn, which does not run on Windows: "
            "serve without it (waitress, one process; --workers sets its threads)"
        )
    if processes > 1 and backend(url) == "sqlite":
        return (
            "several processes need PostgreSQL: SQLite lets one process write at a time; "
            "serve SQLite with one process (--workers sets its threads) or set "
            "SALESFLOW_DATABASE_URL to a postgresql+psycopg:// database"
        )
    if processes > 1 and not environ.get("SALESFLOW_SECRET_KEY", "").strip():
        return (
            "several processes need SALESFLOW_SECRET_KEY: the same secret in every process "
            "(and on every machine), or a session or form signed by one process is refused by "
            "the next; for example: export SALESFLOW_SECRET_KEY=$(python3 -c "
            "'import secrets; print(secrets.token_hex(32))')"
        )
    return None


def options(host: str, port: int, processes: int, threads: int) -> dict[str, Any]:
    """gunicorn's settings for `serve_processes`."""
    if threads < 1:
        raise ValueError("threads must be 1 or more")
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": processes,
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": False,  # each process builds its own app: see the module's docstring
        # Trust no proxy's X-Forwarded-* headers, as waitress does by default: the app sees
        # the same requests whichever server answers (SALESFLOW_SECURE_COOKIES is for HTTPS).
        "forwarded_allow_ips": "",
        "limit_request_line": LONGEST_REQUEST_LINE,
        # No control socket under $HOME: two servers on one machine would fight over it.
        "control_socket_disable": True,
        "proc_name": "salesflow",
        "errorlog": "-",
    }


def _application(settings: Mapping[str, Any], make_app: Callable[[], Flask]) -> Any:
    """A gunicorn application whose `load` runs in each forked process (gunicorn is imported
    only here: it is not installed on Windows)."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return make_app()

    return Application()


def process_app(make_app: Callable[[], Flask]) -> Flask:
    """The app of one forked process: built here, with this process's word in every answer."""
    # As with waitress's threads (webui.serving): hand the GIL over every 1 ms, so a long
    # engine step does not keep the other threads' pages waiting.
    sys.setswitchinterval(SWITCH_INTERVAL)
    app = make_app()
    word = secrets.token_hex(4)

    @app.after_request
    def _tell_process(response: Any) -> Any:
        response.headers[PROCESS_HEADER] = word
        return response

    return app


def serve_processes(host: str, port: int, processes: int, threads: int) -> None:
    """gunicorn with `processes` gthread processes of `threads` threads each, until it is
    stopped (SIGTERM or Ctrl-C: the processes finish the requests in hand).  The caller has
    checked `refusal` first."""
    from webui import create_app

    settings = options(host, port, processes, threads)
    _application(settings, lambda: process_app(create_app)).run()
