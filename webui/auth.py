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
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from engine.usecases.users import LoginThrottled
from webui.context import CurrentUser, engine
from webui.i18n import _, adopt_stored
from webui.security import safe_next

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "i18n.switch", "healthz", "static", "favicon", "favicon_svg"}
)
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
    generation = session.get("generation", 0)
    roles = engine().session_roles(str(username), generation if isinstance(generation, int) else -1)
    if roles is None:
        # Deactivated or removed since the log-in, or the session was ended (log-out, a new
        # password, "log out everywhere"): it ends here.
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
    try:
        found = (
            engine().authenticate(username, password, address=request.remote_addr)
            if username and password
            else None
        )
    except LoginThrottled as exc:
        return _throttled(exc, target, username)
    if found is None:
        # One message for a wrong name and a wrong password: no hint which one it was.
        return render_template("login.html", next=target, username=username, failed=True), 401
    _end_session()  # a fresh session for the new user; only the language choice stays
    session.permanent = True
    session["user"] = found["username"]
    session["name"] = found["display_name"]
    session["generation"] = found["session_generation"]
    adopt_stored(found["language"])
    flash(_("Welcome, %(name)s.", name=found["display_name"]), "success")
    return redirect(target)


def _throttled(exc: LoginThrottled, target: str, username: str) -> Response:
    """429 with Retry-After: the log-in page with a message, or the JSON error shape."""
    if wants_html():
        page = render_template(
            "login.html", next=target, username=username, retry_after=exc.retry_after
        )
        response = make_response(page, 429)
    else:
        from webui.errors import error_page  # here: webui.errors imports this module

        body, _status = error_page(429, str(exc))
        response = make_response(body, 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.post("/logout")
def logout() -> Response:
    if g.user is not None:
        engine().end_sessions(g.user.username)  # a copy of this cookie must not work either
    _end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(guard)
