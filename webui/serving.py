"""Serving the app: Flask's development server, or waitress for real use.

`salesflow serve` (and so `make run`) calls `serve(host, port, workers)` with waitress's
threads (8 unless --workers says otherwise); `salesflow serve --dev` passes no `workers`
and gets Flask's development server (one process, reloads nothing, debug off).
"""

from __future__ import annotations

import errno
import socket
import sys

from flask import Flask

from webui import create_app

SWITCH_INTERVAL = 0.001  # seconds (Python's default: 0.005)


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on `host`:`port` (another salesflow, most often):
    asked before serving, so that the person starting it reads why instead of a traceback.
    A port only lingering after a closed connection is free, as for the servers (both set
    SO_REUSEADDR)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False  # a name that does not resolve: the server says so itself
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def serve(
    host: str = "127.0.0.1", port: int = 5000, workers: int | None = None, app: Flask | None = None
) -> None:
    app = app or create_app()
    if workers is None:
        app.run(host=host, port=port, debug=False, use_reloader=False)
        return
    if workers < 1:
        raise ValueError("workers must be 1 or more")
    import waitress  # only needed here; the development server does without

    # A thread running a long engine step (a process's scripts: pure Python, up to their time
    # limit) keeps the GIL 5 ms at a time, and a request that waits on the database takes it
    # back after every call: dozens of 5 ms waits.  Handing it over every 1 ms keeps other
    # people's pages quick meanwhile (bench/hostile.py; docs/benchmarks.md, issue 13).
    sys.setswitchinterval(SWITCH_INTERVAL)

    # The app answers a body over MAX_CONTENT_LENGTH with a 413 in its own shape, but waitress
    # reads (and spools to disk) a body before the app sees it: far beyond the limit (twice
    # it) waitress itself refuses from the Content-Length header, reading nothing.
    limit = app.config.get("MAX_CONTENT_LENGTH") or 0
    extra = {"max_request_body_size": 2 * limit} if limit else {}
    waitress.serve(app, host=host, port=port, threads=workers, **extra)
