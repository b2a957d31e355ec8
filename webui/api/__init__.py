"""The JSON API at /api/v1 for other systems (a web lead form, an e-signature service).

    views.py      the routes: token check, engine use cases, JSON errors
    messages.py   POST /messages/{name}: a BPMN message from another system
    definitions_publish.py  POST /definitions: publish BPMN (+ DMN, forms), checked first
    incidents.py  GET /incidents, POST /deals/{id}/retry|skip|cancel: deals in error
    people.py     GET /notifications, POST /notifications/read: the caller's bell
    initiatives.py  /initiatives: optimisation initiatives, their rows and weekly reviews
    versions.py   /definitions/{id}/versions, /migrations: versions, moving deals between them
    reports.py    GET /reports/funnel|channels|cycle|reps|stale: the report pages' figures
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

from webui.api import definitions_publish as _publish  # noqa: F401  (adds its route to bp)
from webui.api import incidents as _incidents  # noqa: F401  (adds its routes to bp)
from webui.api import initiatives as _initiatives  # noqa: F401  (adds its routes to bp)
from webui.api import messages as _messages  # noqa: F401  (adds its route to bp)
from webui.api import people as _people  # noqa: F401  (adds its routes to bp)
from webui.api import reports as _reports  # noqa: F401  (adds its routes to bp)
from webui.api import versions as _versions  # noqa: F401  (adds its routes to bp)
from webui.api.views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
