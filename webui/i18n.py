"""English and Simplified Chinese for the whole UI, chosen per user.

The English text is the message id; the Chinese is in a Babel message catalog,
webui/translations/zh_Hans/LC_MESSAGES/messages.po, extracted from the templates and views with
pybabel (`make messages`; babel.cfg says where).  Templates and views call `_()` with literal
text (a test fails when a text has no Chinese entry in the catalog, or the catalog keeps one
nothing uses), and `N_()` marks text that is translated later, where it is shown.  The choice is
kept in the session and, for a logged-in user, on the user (User.language), where it wins at
the next log-in in any browser; until a user picks one, the browser's Accept-Language decides.
Process, element and form texts come translated from the engine (engine.core.translations).
"""

from __future__ import annotations

from contextvars import ContextVar

from flask import Blueprint, Flask, g, has_request_context, redirect, request, session
from werkzeug.wrappers import Response

from webui.catalog import load_catalog
from webui.context import engine
from webui.security import safe_next

ENGLISH = "en"
CHINESE = "zh-Hans"
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}
# What browsers send for Chinese; all of it gets the Simplified Chinese UI.
_ACCEPTED = (ENGLISH, "zh", "zh-CN", "zh-Hans", "zh-SG", "zh-TW", "zh-HK", "zh-Hant")
# The UI's language codes as the engine keeps them on the user.
STORED = {ENGLISH: "en", CHINESE: "zh"}

bp = Blueprint("i18n", __name__)
# Simplified Chinese for every English UI text, read once from the catalog.
ZH_HANS = load_catalog("zh_Hans")
# The request's language, set before every request.  A context variable, not flask.g: a
# list page translates ~600 strings, and each read through g's proxy costs ~2.5 us.
_LANG: ContextVar[str] = ContextVar("salesflow_language", default=ENGLISH)


def N_(text: str) -> str:
    """Mark text for translation where it is shown (module-level tables of labels)."""
    return text


def language() -> str:
    return _LANG.get() if has_request_context() else ENGLISH


def _use(lang: str) -> None:
    g.lang = lang
    _LANG.set(lang)


def _(text: str, **values: object) -> str:
    """`text` in the user's language, with %(name)s placeholders filled from `values`."""
    out = ZH_HANS.get(text, text) if language() == CHINESE else text
    return out % values if values else out


def choose_language() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    best = request.accept_languages.best_match(_ACCEPTED, default=ENGLISH)
    return CHINESE if best.startswith("zh") else ENGLISH


@bp.post("/language")
def switch() -> Response:
    """Remember the language the user picked (open to everyone: the log-in page has it), on
    the user too when someone is logged in."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
        me = g.get("user")
        if me is not None:
            engine().set_language(me.username, STORED[lang])
    return redirect(safe_next(request.form.get("next"), "/"))


def adopt_stored(stored: str | None) -> None:
    """At log-in: the language kept on the user wins over the browser's (and over a choice
    made before logging in, which may have been someone else's on a shared computer)."""
    for lang, code in STORED.items():
        if code == stored:
            session["lang"] = lang
            _use(lang)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _set_language() -> None:
        _use(choose_language())

    app.jinja_env.globals.update(_=_, languages=LANGUAGES, language=language)
