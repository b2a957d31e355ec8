"""salesflow web UI: a Flask app factory, one blueprint per concern.

Views are thin callers of the engine's use cases (engine.service.Service, one per app in
`app.extensions["salesflow"]`) and of diagrams/ for charts.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, render_template

from engine.config import database_url
from engine.db import Database
from engine.service import Service

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
    app.extensions["salesflow"] = Service(Database(app.config["SALESFLOW_DATABASE_URL"]))

    from webui import api

    api.init_app(app)

    @app.get("/")
    def index() -> str:
        # Shows nothing about deals: pages with data come with log-in.
        return render_template("index.html")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def service(app: Flask) -> Service:
    """The engine's use cases for this app."""
    found: Service = app.extensions["salesflow"]
    return found
