"""Configuration from the environment (the Flask config uses the same names)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATABASE_FILE = Path("var") / "salesflow.sqlite3"


def database_url(environ: dict[str, str] | None = None) -> str:
    """`SALESFLOW_DATABASE_URL`, or a SQLite file under ./var/ (created on demand)."""
    env = os.environ if environ is None else environ
    url = env.get("SALESFLOW_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{DEFAULT_DATABASE_FILE.resolve()}"
