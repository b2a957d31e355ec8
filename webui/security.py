"""CSRF protection, response headers, no NUL characters, and safe redirect targets."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

from engine.errors import NotFoundError, ValidationError
from engine.usecases.forms import holds_nul, load_json

# Pages load only our own CSS and JS; charts are inline SVG (hence img-src data: for nothing
# else than the browser's own icons).  No inline script anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask, *, exempt_blueprints: tuple[str, ...] = ()) -> None:
    """CSRF on every state-changing request (blueprints named here, registered before, are
    exempt) and the security headers on every response."""
    csrf = CSRFProtect(app)
    for name in exempt_blueprints:
        # The JSON API authenticates every call with a bearer token, not a cookie.
        csrf.exempt(app.blueprints[name])
    app.before_request(_refuse_nul)
    app.after_request(_headers)


def _refuse_nul() -> None:
    """No NUL character (U+0000) reaches the database from a page: PostgreSQL can neither
    store nor compare one (a 500 there).  The API checks its own (webui.api.queries)."""
    if request.blueprint == "api":
        return
    if "\x00" in request.path:
        raise NotFoundError("no page has a NUL character in its path")
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            if "\x00" in value or "\x00" in name:
                raise ValidationError("must not hold a NUL character", field=name)
    if request.mimetype == "application/json" and request.content_length:
        text = request.get_data(as_text=True)
        if "\\u0000" in text and holds_nul(load_json(text, "body")):
            raise ValidationError("must not hold a NUL character (\\u0000)", field="body")


def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.blueprint != "api":
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target
