"""The JSON API at /api/v1 for other systems (a web lead form, an e-signature service).

    views.py      the routes: token check, engine use cases, JSON errors
    messages.py   POST /messages/{name}: a BPMN message from another system
    definitions_publish.py  POST /definitions: publish BPMN (+ DMN, forms), checked first
    incidents.py  GET /incidents, POST /deals/{id}/retry|skip|cancel: deals in error
    people.py     GET /notifications, POST /notifications/read: the caller's bell
    imports.py    POST /imports/preview, /imports: leads from a CSV or XLSX file
    filters.py    GET|POST /filters, DELETE /filters/{id}: the caller's saved views of a list
    forecast.py   GET /forecast: each open deal's chance, close date, value; months with a band
    activities.py GET|POST /activities: calls, visits, meetings with a customer or a deal
    customers.py  GET|POST /customers, GET /customers/{id}: customers and their contacts
    progress.py   GET /deals/{id}/progress: the deal's stages, done and current, days in each
    timeline.py   GET /deals/{id}/timeline: the deal's history in business words
    deal_data.py  GET /deals/{id}/data: the deal's data by form, labelled for the reader
    initiatives.py  /initiatives: optimisation initiatives, their rows and weekly reviews
    versions.py   /definitions/{id}/versions, /migrations: versions, moving deals between them
    webhooks.py   /webhooks: deal events to other systems; POST /hooks/messages/{name} signed
    reports.py    GET /reports/funnel|channels|cycle|reps|stale|customers: the report pages' figures
    targets.py    POST /targets, GET /reports/targets: targets per month, team and rep
    simulation.py GET /definitions/{id}/simulation: what-if, the process beside its draft
    queries.py    every query parameter checked against the document before the view runs
    schemas.py    the JSON Schemas of bodies and answers (bodies are checked against them)
    document.py   the OpenAPI 3.1 document at /api/v1/openapi.json
    docs_page.py  that document as a page at /api/v1/docs

The app factory calls `init_app(app)`.  When the factory installs Flask-WTF's CSRFProtect
before that call, `init_app` exempts the API itself; installed afterwards, CSRFProtect must
be told (`csrf.exempt(app.blueprints["api"])`).  The API needs no CSRF token: it
authenticates every call with a bearer token, which a browser never adds on its own.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import PathConverter, Rule

from webui.api import activities as _activities  # noqa: F401  (adds its routes to bp)
from webui.api import customers as _customers  # noqa: F401  (adds its routes to bp)
from webui.api import deal_data as _deal_data  # noqa: F401  (adds its route to bp)
from webui.api import definitions_publish as _publish  # noqa: F401  (adds its route to bp)
from webui.api import filters as _filters  # noqa: F401  (adds its routes to bp)
from webui.api import forecast as _forecast  # noqa: F401  (adds its route to bp)
from webui.api import imports as _imports  # noqa: F401  (adds its routes to bp)
from webui.api import incidents as _incidents  # noqa: F401  (adds its routes to bp)
from webui.api import initiatives as _initiatives  # noqa: F401  (adds its routes to bp)
from webui.api import messages as _messages  # noqa: F401  (adds its route to bp)
from webui.api import people as _people  # noqa: F401  (adds its routes to bp)
from webui.api import progress as _progress  # noqa: F401  (adds its route to bp)
from webui.api import queries as _queries  # noqa: F401  (checks query parameters, after the token)
from webui.api import reports as _reports  # noqa: F401  (adds its routes to bp)
from webui.api import simulation as _simulation  # noqa: F401  (adds its route to bp)
from webui.api import targets as _targets  # noqa: F401  (adds its routes to bp)
from webui.api import timeline as _timeline  # noqa: F401  (adds its route to bp)
from webui.api import versions as _versions  # noqa: F401  (adds its routes to bp)
from webui.api import webhooks as _webhooks  # noqa: F401  (adds its routes to bp)
from webui.api.views import bp

__all__ = ["bp", "init_app"]


class _AnyRest(PathConverter):
    """The rest of a path, empty or starting with slashes ("/api/v1", "/api/v1//deals")."""

    regex = ".*"
    part_isolating = False  # it spans slashes


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # The last resort under /api/v1: any method (TRACE, PROPFIND, ...) and any path the
    # blueprint's rules miss, even those Werkzeug would otherwise redirect (no trailing
    # slash, doubled slashes).  A request no rule matches has no blueprint, so the pages'
    # log-in guard would answer it with a redirect to the HTML log-in page; this rule gives it
    # the API's endpoint, hence the API's JSON 404/405.
    app.url_map.converters["api_rest"] = _AnyRest
    app.url_map.add(
        Rule(
            f"{bp.url_prefix}<api_rest:rest>",
            endpoint=f"{bp.name}.unknown_path",
            merge_slashes=False,
            strict_slashes=False,
        )
    )
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
