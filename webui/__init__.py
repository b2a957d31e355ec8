"""salesflow web UI: a Flask app factory (pages arrive with the web-app issue)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, render_template

from engine.config import database_url

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        SALESFLOW_DATABASE_URL=database_url(),
        # A secret set in the environment survives restarts; otherwise one per process.
        SECRET_KEY=os.environ.get("SALESFLOW_SECRET_KEY") or secrets.token_hex(32),
    )
    if test_config:
        app.config.update(test_config)

    @app.get("/")
    def index() -> str:
        # Shows nothing about deals: pages with data come with log-in (issue 4).
        return render_template("index.html")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
