"""Integrations (issue 18): the admins' page of team-chat robots, webhooks for deal events,
the delivery logs with replay and the secrets of signed incoming messages; and each user's
own choice of the robot that also tells them their notifications ("My chat").

The rules (who may, what is valid, secrets never shown back) are the engine's
(engine.usecases.integrations); this module turns forms into calls and errors into the
reader's words.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import NotFoundError, ValidationError
from engine.usecases.integrations import CHAT_EVENTS, DEAL_EVENTS, INTEGRATION_ROLES, VENDORS
from webui.context import engine, require_any_role, user
from webui.i18n import N_, _

bp = Blueprint("integrations", __name__, url_prefix="/integrations")

VENDOR_NAMES = {"wecom": N_("WeCom"), "feishu": N_("Feishu"), "dingtalk": N_("DingTalk")}
CHAT_EVENT_NAMES = {
    "assigned": N_("Tasks given to me or handed over"),
    "escalated": N_("SLA escalations"),
    "incident": N_("Deals stopped, cancelled or lost"),
    "digest": N_("The daily digest"),
    "initiative": N_("Initiative rows blocked or not updated"),
}
DEAL_EVENT_NAMES = {
    "deal.started": N_("Deal started"),
    "deal.stage_changed": N_("Stage changed"),
    "deal.task_completed": N_("Task completed"),
    "deal.won": N_("Deal won"),
    "deal.lost": N_("Deal lost"),
    "deal.sla_breached": N_("SLA breached"),
    "deal.incident": N_("Incident"),
}
STATUS_NAMES = {"pending": N_("pending"), "delivered": N_("delivered"), "failed": N_("failed")}
LANGUAGE_NAMES = {"zh": "简体中文", "en": "English"}
# Per field of the forms, what to tell the admin (the engine's own words follow).
PROBLEMS = {
    "name": N_("Give the robot a name."),
    "vendor": N_("Choose WeCom, Feishu or DingTalk."),
    "url": N_("Enter the robot's or receiver's http:// or https:// address."),
    "secret": N_("Enter a secret of 16 to 300 characters."),
    "events": N_("Choose at least one event."),
    "language": N_("Choose a language."),
    "message": N_("Enter the message name as in the BPMN, such as payment_received."),
    "robot": N_("Choose one of the team's robots."),
}


def _admin() -> str:
    return require_any_role(INTEGRATION_ROLES).username


@bp.get("")
def index() -> str:
    return _page({}, {})


@bp.post("/robots")
def add_robot() -> Response | tuple[str, int]:
    me = _admin()
    form = request.form
    try:
        engine().add_robot(
            user=me,
            name=form.get("name", ""),
            vendor=form.get("vendor", ""),
            url=form.get("url", ""),
            secret=form.get("secret"),
            language=form.get("language", "zh"),
            events=form.getlist("events"),
        )
    except ValidationError as exc:
        return _page({"robot": _problems(exc)}, {"robot": dict(form)}), 422
    flash(_("Robot added. Send it a test message to check it."), "success")
    return redirect(url_for(".index"))


@bp.post("/robots/<int:robot_id>/remove")
def remove_robot(robot_id: int) -> Response:
    engine().remove_robot(robot_id, user=_admin())
    flash(_("Robot removed."), "success")
    return redirect(url_for(".index"))


@bp.post("/robots/<int:robot_id>/pause")
def pause_robot(robot_id: int) -> Response:
    paused = request.form.get("paused") == "1"
    engine().pause_robot(robot_id, paused=paused, user=_admin())
    flash(_("Robot paused: nothing is sent to it.") if paused else _("Robot resumed."), "success")
    return redirect(url_for(".index"))


@bp.post("/robots/<int:robot_id>/test")
def test_robot(robot_id: int) -> Response:
    engine().test_robot(robot_id, user=_admin())
    flash(_("Test message queued: it appears in the log below within seconds."), "success")
    return redirect(url_for(".index", _anchor="chat-log"))


@bp.post("/webhooks")
def add_webhook() -> Response | tuple[str, int]:
    me = _admin()
    form = request.form
    try:
        engine().add_webhook(
            user=me,
            url=form.get("url", ""),
            events=form.getlist("events"),
            secret=form.get("secret", ""),
        )
    except ValidationError as exc:
        return _page({"webhook": _problems(exc)}, {"webhook": dict(form)}), 422
    flash(_("Webhook added."), "success")
    return redirect(url_for(".index"))


@bp.post("/webhooks/<int:webhook_id>/remove")
def remove_webhook(webhook_id: int) -> Response:
    engine().remove_webhook(webhook_id, user=_admin())
    flash(_("Webhook removed."), "success")
    return redirect(url_for(".index"))


@bp.post("/webhooks/<int:webhook_id>/pause")
def pause_webhook(webhook_id: int) -> Response:
    paused = request.form.get("paused") == "1"
    engine().pause_webhook(webhook_id, paused=paused, user=_admin())
    flash(
        _("Webhook paused: nothing is sent to it.") if paused else _("Webhook resumed."),
        "success",
    )
    return redirect(url_for(".index", _anchor="webhooks"))


@bp.post("/deliveries/<int:delivery_id>/replay")
def replay_delivery(delivery_id: int) -> Response:
    engine().replay_delivery(delivery_id, user=_admin())
    flash(_("The delivery will be sent again."), "success")
    return redirect(url_for(".index", _anchor="webhooks"))


@bp.post("/chat/<int:delivery_id>/replay")
def replay_chat(delivery_id: int) -> Response:
    engine().replay_chat(delivery_id, user=_admin())
    flash(_("The message will be sent again."), "success")
    return redirect(url_for(".index", _anchor="chat-log"))


@bp.post("/inbound")
def set_inbound() -> Response | tuple[str, int]:
    me = _admin()
    form = request.form
    try:
        engine().set_inbound_secret(form.get("message", ""), form.get("secret", ""), user=me)
    except ValidationError as exc:
        return _page(
            {"inbound": _problems(exc)}, {"inbound": {"message": form.get("message")}}
        ), 422
    flash(_("Secret saved. It is not shown again: keep it in the other system."), "success")
    return redirect(url_for(".index", _anchor="inbound"))


@bp.post("/inbound/<name>/remove")
def remove_inbound(name: str) -> Response:
    me = _admin()
    with contextlib.suppress(NotFoundError):  # removed already: the page shows what is left
        engine().remove_inbound_secret(name, user=me)
    flash(_("Secret removed: that message can no longer be posted signed."), "success")
    return redirect(url_for(".index", _anchor="inbound"))


@bp.route("/mine", methods=["GET", "POST"])
def mine() -> Response | str | tuple[str, int]:
    """Everyone's own choice: which of the team's robots also tells them their news."""
    me = user().username
    service = engine()
    if request.method == "GET":
        return _mine_page(service.my_chat(user=me), {})
    raw = request.form.get("robot", "")
    try:
        robot_id = int(raw) if raw else None
    except ValueError:
        robot_id = -1
    try:
        service.choose_chat(
            user=me, robot_id=robot_id, events=request.form.getlist("events") if raw else []
        )
    except ValidationError as exc:
        choice = {**service.my_chat(user=me), "events": request.form.getlist("events")}
        return _mine_page(choice, _problems(exc)), 422
    flash(_("Your chat notifications are saved."), "success")
    return redirect(url_for(".mine"))


def _page(errors: dict[str, dict[str, str]], forms: dict[str, dict[str, Any]]) -> str:
    data = engine().integrations(user=_admin())
    return render_template(
        "integrations/index.html",
        data=data,
        errors=errors,
        forms=forms,
        vendors=[(v, VENDOR_NAMES[v]) for v in VENDORS],
        chat_events=[(e, CHAT_EVENT_NAMES[e]) for e in CHAT_EVENTS],
        deal_events=[(e, DEAL_EVENT_NAMES[e]) for e in DEAL_EVENTS],
        vendor_names=VENDOR_NAMES,
        chat_event_names=CHAT_EVENT_NAMES,
        deal_event_names=DEAL_EVENT_NAMES,
        status_names=STATUS_NAMES,
        languages=LANGUAGE_NAMES,
    )


def _mine_page(choice: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template(
        "integrations/mine.html",
        choice=choice,
        errors=errors,
        chat_events=[(e, CHAT_EVENT_NAMES[e]) for e in CHAT_EVENTS],
        vendor_names=VENDOR_NAMES,
    )


def _problems(exc: ValidationError) -> dict[str, str]:
    found = exc.errors or [{"field": exc.field or "", "message": str(exc)}]
    return {
        str(e["field"]): f"{_(PROBLEMS.get(str(e['field']), str(e['field'])))} ({e['message']})"
        for e in found
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
