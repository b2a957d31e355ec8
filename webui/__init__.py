"""salesflow web UI: a Flask app factory, one blueprint per concern.

Views are thin callers of the engine's use cases (engine.usecases.service.Service, one per app in
`app.extensions["salesflow"]`) and of diagrams/ for charts.  Blueprints: auth (log-in),
i18n (language), tasks (inbox and task forms), deals (list, board, new, deal page), processes
(definitions and heatmaps), admin (users), incidents (deals in error), handover (reassign,
hand over, holidays), notifications (the bell), initiatives (optimisation initiatives and
their execution tables), api (the JSON API, bearer tokens).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response

from engine.usecases.service import Service, connect

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from webui import (
        activities,
        admin,
        api,
        auth,
        chart_pages,
        config,
        connectors,
        customers,
        deals,
        designer,
        digest,
        errors,
        forecast,
        formats,
        handover,
        i18n,
        imports,
        incidents,
        initiatives,
        integrations,
        labels,
        notifications,
        processes,
        reports,
        security,
        settings,
        simulation,
        tasks,
        versions,
    )

    app = Flask(__name__)
    app.config.from_mapping(config.defaults())
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.stored_secret_key(Path(app.config["SALESFLOW_VAR_DIR"]))
    app.extensions["salesflow"] = connect(app.config["SALESFLOW_DATABASE_URL"])
    _share_reads(app)  # first: the log-in guard and the language read in it too

    api.init_app(app)
    # Order matters: the language first (pages and redirects speak it), then who the user is
    # (so that even a refused form shows the user's page), then the CSRF check.
    i18n.init_app(app)
    auth.init_app(app)
    security.init_app(app, exempt_blueprints=("api",))
    errors.init_app(app)
    labels.init_app(app)
    formats.init_app(app)  # Babel: numbers, money, times and due dates (after labels)
    for pages in (tasks, deals, processes, admin, digest, settings, incidents):
        pages.init_app(app)
    handover.init_app(app)
    notifications.init_app(app)
    initiatives.init_app(app)
    designer.init_app(app)
    versions.init_app(app)
    chart_pages.init_app(app)  # zoom, pan and fit for every page with a chart
    reports.init_app(app)
    forecast.init_app(app)  # the forecast from process position, a tab of the reports
    imports.init_app(app)  # import leads from a CSV or XLSX file
    customers.init_app(app)  # customers (accounts), their contacts and deals
    activities.init_app(app)  # calls, visits, meetings logged from the deal and customer pages
    simulation.init_app(app)  # what-if: a process beside its draft, on the team's history
    integrations.init_app(app)  # chat robots, webhooks, signed incoming messages (issue 18)
    connectors.init_app(app)  # the hosts and secrets of service tasks' HTTP connectors

    @app.get("/")
    def index() -> Response:
        return redirect(url_for("tasks.inbox"))

    @app.get("/favicon.ico")
    def favicon() -> Response:
        # Browsers ask for it on pages that are not ours (an error, a PDF): the site's icon.
        return redirect(url_for("favicon_svg"), code=301)

    icon = (Path(__file__).parent / "static" / "favicon.svg").read_bytes()

    @app.get("/favicon.svg")
    def favicon_svg() -> Response:
        # From memory, not a file: browsers ask for it on their own and drop the request when
        # a page goes on, which left the development server's file open (a ResourceWarning
        # in the browser tests).
        answer = Response(icon, mimetype="image/svg+xml")
        answer.cache_control.public = True
        answer.cache_control.max_age = 86400
        return answer

    @app.get("/healthz")
    def healthz() -> Response | dict[str, str]:
        """200 while the database can be read and written, else 503 with the reason (disk
        full, read-only, server gone); cheap enough to be polled (engine.store.failures)."""
        problem = service(app).storage_problem()
        if problem is None:
            return {"status": "ok"}
        answer = jsonify(
            status="unavailable",
            error=problem["error"],
            reason=problem["reason"],
            message=problem["message"],
        )
        answer.status_code = 503
        answer.headers["Retry-After"] = str(errors.RETRY_AFTER)
        return answer

    return app


def _share_reads(app: Flask) -> None:
    """A GET's use cases read in one transaction (Service.reading): the deal page asks about
    a dozen, and on PostgreSQL each used to check out, ping, begin and end its own.  Only
    GET and HEAD: a form post's page after its change reads anew anyway (writes end the
    shared transaction), but a page that only reads gains the most."""

    @app.before_request
    def open_reads() -> None:
        if request.method in ("GET", "HEAD"):
            stack = ExitStack()
            stack.enter_context(service(app).reading())
            g.salesflow_reads = stack

    @app.teardown_request
    def close_reads(exc: BaseException | None) -> None:
        stack = g.pop("salesflow_reads", None)
        if stack is not None:  # after an error the shared transaction is rolled back
            stack.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


def service(app: Flask) -> Service:
    """The engine's use cases for this app."""
    found: Service = app.extensions["salesflow"]
    return found
