"""Log-in, log-out, and the guard in front of every page.

The guard runs before every request: it loads the user of the session (with the roles they
hold now) into `g.user`, and sends anyone without a session to /login (pages) or answers
401 (clients that do not want HTML).  Open without a session: the log-in page, the language
switch, /healthz and static files; the JSON API checks its own bearer tokens.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from engine.errors import NotFoundError
from webui.context import CurrentUser, engine
from webui.i18n import _, adopt_stored
from webui.security import safe_next

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = frozenset({"auth.login", "i18n.switch", "healthz", "static"})
OWN_AUTH_BLUEPRINTS = frozenset({"api"})


def wants_html() -> bool:
    """Browsers get pages and redirects; API clients and scripts get status codes."""
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return False
    accept = request.accept_mimetypes
    if not accept:
        return True
    return accept.best_match(["text/html", "application/json"]) == "text/html"


def _load_user() -> CurrentUser | None:
    username = session.get("user")
    if not username:
        return None
    try:
        roles = engine().roles(username)
    except NotFoundError:
        # Deactivated or removed since the log-in: the session ends here.
        _end_session()
        return None
    return CurrentUser(str(username), str(session.get("name") or username), frozenset(roles))


def guard() -> Response | tuple[Response, int] | None:
    g.user = _load_user()
    if g.user is not None:
        return None
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in OWN_AUTH_BLUEPRINTS:
        return None
    if wants_html():
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    response = jsonify(error="Unauthorized", message="log in first")
    response.headers["WWW-Authenticate"] = 'Cookie realm="salesflow"'
    return response, 401


def _end_session() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    target = safe_next(request.values.get("next"), url_for("tasks.inbox"))
    if request.method == "GET":
        if g.user is not None:
            return redirect(target)
        return render_template("login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    found = engine().authenticate(username, password) if username and password else None
    if found is None:
        # One message for a wrong name and a wrong password: no hint which one it was.
        return render_template("login.html", next=target, username=username, failed=True), 401
    _end_session()  # a fresh session for the new user; only the language choice stays
    session.permanent = True
    session["user"] = found["username"]
    session["name"] = found["display_name"]
    adopt_stored(found["language"])
    flash(_("Welcome, %(name)s.", name=found["display_name"]), "success")
    return redirect(target)


@bp.post("/logout")
def logout() -> Response:
    _end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(guard)
