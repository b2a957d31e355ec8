"""The web app's configuration: defaults, the environment, and the stored session key.

SALESFLOW_MAX_BODY_BYTES (default 10 MB, DEFAULT_MAX_BODY_BYTES) caps every request's body:
a larger one is answered 413 from its Content-Length, before any of it is read (Flask's
MAX_CONTENT_LENGTH; a body sent without a length is cut off at the limit the same way).
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine.usecases.service import database_url

SECRET_KEY_FILE = "secret_key"
DEFAULT_MAX_BODY_BYTES = 10_000_000  # 10 MB: a publish of every shipped process is 200 kB


def max_body_bytes(env: dict[str, str] | os._Environ[str]) -> int:
    """SALESFLOW_MAX_BODY_BYTES as a positive whole number of bytes (the default unset)."""
    raw = env.get("SALESFLOW_MAX_BODY_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"SALESFLOW_MAX_BODY_BYTES must be a number of bytes, not {raw!r}")
    return int(raw)


def defaults(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings before a test config is applied (SECRET_KEY only when the environment has it:
    otherwise it is read from, or created in, the var directory)."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {
        "SALESFLOW_DATABASE_URL": database_url(dict(env)),
        "SALESFLOW_VAR_DIR": env.get("SALESFLOW_VAR_DIR") or str(Path("var").resolve()),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Behind HTTPS set SALESFLOW_SECURE_COOKIES=1 so the cookie never travels in clear.
        "SESSION_COOKIE_SECURE": env.get("SALESFLOW_SECURE_COOKIES", "") in ("1", "true", "yes"),
        # The form token lives as long as the session: a rep may keep a form open for hours.
        "WTF_CSRF_TIME_LIMIT": None,
        "SALESFLOW_PAGE_SIZE": 50,
        "MAX_CONTENT_LENGTH": max_body_bytes(env),
    }
    if env.get("SALESFLOW_SECRET_KEY"):
        config["SECRET_KEY"] = env["SALESFLOW_SECRET_KEY"]
    return config


def stored_secret_key(var_dir: Path) -> str:
    """The key in `var_dir/secret_key`, created (mode 600) the first time, so that sessions
    survive a restart without anyone having to set SALESFLOW_SECRET_KEY."""
    path = var_dir / SECRET_KEY_FILE
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another worker created it a moment ago: everyone must use the same key.
        return _written_by_other(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
    return key


def _written_by_other(path: Path) -> str:
    for _ in range(50):
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it, or set SALESFLOW_SECRET_KEY")
