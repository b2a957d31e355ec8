"""The JSON API at /api/v1 for other systems (a web lead form, an e-signature service).

    views.py      the routes: token check, engine use cases, JSON errors
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

from webui.api.views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
