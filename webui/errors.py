"""Engine errors and HTTP errors as pages (or as JSON for clients that want no HTML).

NotFoundError → 404 (a deal the user may not see is a 404 too: never a leak),
ForbiddenError → 403, ConflictError → 409, ValidationError/ExpressionError → 422,
StorageUnavailableError (disk full, read-only database, database server gone) → 503 with
Retry-After.  Forms catch ValidationError themselves to show each error on its field.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from engine.errors import (
    ConflictError,
    EngineError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    StorageUnavailableError,
    ValidationError,
)
from webui.auth import wants_html
from webui.i18n import N_, _

TITLES = {
    400: N_("The request was not accepted"),
    401: N_("Please log in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    409: N_("Changed meanwhile"),
    413: N_("Too large"),
    422: N_("The data was not accepted"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("Cannot save right now"),
}
HINTS = {
    400: N_("The form was too old or incomplete. Go back, reload the page and try again."),
    403: N_("You do not hold the role this needs. Ask your sales manager or an administrator."),
    404: N_("This page does not exist, or it is not shared with you."),
    409: N_("Someone else changed it first; nothing was changed. Reload the page to see it now."),
    413: N_("What was sent is larger than this server accepts; nothing was changed."),
    422: N_("Go back and correct the data."),
    500: N_("Nothing was changed. Try again; if it happens again, tell your administrator."),
    503: N_("Nothing was changed and what was saved before is safe. Try again in a while."),
}
log = logging.getLogger(__name__)
# Seconds a client should wait before trying a 503 again.
RETRY_AFTER = 30
STATUS_OF: tuple[tuple[type[EngineError], int], ...] = (
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (ValidationError, 422),
    (ExpressionError, 422),  # a process expression failing on the submitted data
    (StorageUnavailableError, 503),
)


def status_of(exc: EngineError, default: int) -> int:
    """The HTTP status of an engine error, for the pages and the API alike."""
    return next((code for cls, code in STATUS_OF if isinstance(exc, cls)), default)


def error_page(status: int, message: str | None = None) -> tuple[Response | str, int]:
    if request.path.startswith("/api/") or not wants_html():
        return jsonify(error=_(TITLES.get(status, TITLES[500])), message=message or ""), status
    user = g.get("user")
    if status == 503:
        g.user = None  # the menu's counts and the bell read the database, which is failing
    try:
        page = render_template(
            "error.html",
            status=status,
            title=_(TITLES.get(status, TITLES[500])),
            hint=_(HINTS.get(status, HINTS[500])),
            message=message,
            user=g.user,
        )
    finally:
        g.user = user
    return page, status


def headers_of(exc: EngineError, status: int) -> dict[str, str]:
    """The headers an engine error's answer carries besides its body: when to try a 503
    again.  A storage failure also goes to the log, in the database's own words (which the
    answer leaves out: they name files and hosts)."""
    if isinstance(exc, StorageUnavailableError):
        log.warning("storage unavailable (%s): %s", exc.reason, exc.detail)
    return {"Retry-After": str(RETRY_AFTER)} if status == 503 else {}


def _engine_error(exc: EngineError) -> tuple[Response | str, int, dict[str, str]]:
    status = status_of(exc, 500)
    # A 404 says nothing about what exists: the engine's message names ids.
    body, status = error_page(status, None if status == 404 else str(exc))
    return body, status, headers_of(exc, status)


def _http_error(exc: HTTPException) -> tuple[Response | str, int] | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc
    message = exc.description if isinstance(exc, CSRFError) else None
    return error_page(exc.code, message)


def _body_within_limit() -> None:
    """413 from the Content-Length alone, before any view or check reads a byte of the body
    (a body sent without a length is cut off at the limit by Werkzeug as it is read)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    app.before_request(_body_within_limit)
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(HTTPException, _http_error)
