"""My tasks (the inbox), claim and release, and the form page of one task."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import clock
from engine.core.records import Deal, TaskRecord
from engine.core.roles import MANAGERS
from engine.core.stages import STAGE_ORDER
from engine.errors import (
    ConflictError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.usecases.tasks import TaskGoneError, may_complete
from webui import drafts
from webui.context import CurrentUser, engine, page_number, per_request, team, user
from webui.i18n import _, language
from webui.schema_form import FormView, Raw, build, flatten, parse
from webui.security import safe_next

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
FORM_META = frozenset({"csrf_token", "action"})  # fields of the page, not of the task's data


def may_act(me: CurrentUser, task: Mapping[str, Any]) -> bool:
    """The engine's rule for completing a task (engine.usecases.tasks `may_complete`), to
    decide what a page offers; the engine checks again when it is done."""
    return may_complete(me.username, me.roles, task)


def due_state(due_at: str | None, now: datetime | None = None) -> str:
    if not due_at:
        return ""
    return "overdue" if datetime.fromisoformat(due_at) < (now or clock.now()) else "due"


INBOX_PAGE = 50


@bp.get("")
def inbox() -> str:
    me = user()
    chosen = {k: request.args.get(k, "").strip() for k in ("stage", "deal", "process", "q")}
    page = page_number()
    if chosen["deal"] and not chosen["deal"].isdigit():
        chosen["deal"] = ""
    found = engine().inbox(
        me.username,
        stage=chosen["stage"] or None,
        instance=chosen["deal"] or None,
        process=chosen["process"] or None,
        search=chosen["q"] or None,
        limit=INBOX_PAGE,
        offset=(page - 1) * INBOX_PAGE,
        # The navigation counts the same tasks on every page: the unfiltered total for free.
        total=sum(nav_counts().values()),
        lang=language(),
    )
    now = clock.now()
    rows = [
        {
            **task,
            "deal": task["deal"] or f"#{task['instance_id']}",
            "mine": task["assignee"] == me.username,
            "due_state": due_state(task["due_at"], now),
        }
        for task in found["rows"]
    ]
    filtered = any(chosen.values())
    counts = nav_counts()
    return render_template(
        "tasks/inbox.html",
        rows=rows,
        matching=found["total"],
        total=counts.get("mine", 0) + counts.get("queued", 0) if filtered else found["total"],
        options={
            "stage": list(STAGE_ORDER),
            "process": [d["process_id"] for d in engine().definitions()],
        },
        chosen=chosen,
        filtered=filtered,
        page=page,
        pages=max(1, -(-found["total"] // INBOX_PAGE)),
        args={k: v for k, v in chosen.items() if v},
        # A manager gives several tasks to someone at once (engine: reassign_many).
        people=team() if user().has_any(MANAGERS) else [],
    )


def _visible_open_task(task_id: str) -> TaskRecord:
    """The open task, if the user may see its deal.  A task of a visible deal that is no
    longer open: the page that says what became of it (`_gone_page`, 409); a 404 otherwise
    (no leak: as for a task that never was)."""
    me = user().username
    task = engine().task(task_id, lang=language())
    if task is not None and engine().may_see(me, task["instance_id"]):
        return task
    if task is None:
        _abort_gone(task_id)
    abort(404)


def _abort_gone(task_id: str, *, submitted: bool = False) -> None:
    """Abort with the page of a task that is no longer open, if the user may see its deal
    (engine.usecases.tasks `gone_task` reads what became of it from the deal's history)."""
    found = engine().gone_task(task_id, user=user().username, lang=language())
    if found is not None:
        abort(_gone_page(found, submitted=submitted))


def _gone_page(found: Mapping[str, Any], *, submitted: bool) -> Response:
    page = render_template("tasks/gone.html", gone=found, submitted=submitted)
    return Response(page, status=409)


@bp.route("/<task_id>", methods=["GET", "POST"])
def task_page(task_id: str) -> Response | str | tuple[str, int]:
    me = user()
    if request.method == "POST" and engine().task(task_id) is None:
        _abort_gone(task_id, submitted=True)  # a stale form: nothing changes
    task = _visible_open_task(task_id)
    service = engine()
    form = service.task_form(task_id, lang=language())
    schema = form["schema"] or EMPTY_SCHEMA
    deal = service.localize_deal(service.show(task["instance_id"]), language())
    if request.method == "GET":
        draft = drafts.load(task_id)
        raw: Raw = draft if draft is not None else flatten(schema, deal["data"])
        return _render(task, deal, form, build(schema, raw), draft=draft is not None)

    raw = {k: request.form.getlist(k) for k in request.form if k not in FORM_META}
    if request.form.get("action") == "draft":
        if drafts.save(task_id, raw):
            flash(_("Draft saved. It stays until the task is completed, on any device."), "info")
        else:
            flash(_("This draft is too long to keep; nothing was saved."), "error")
        return redirect(url_for(".task_page", task_id=task_id))

    parsed = parse(schema, raw)
    status = 422
    if parsed.errors:
        view = build(schema, raw, parsed.errors, parsed)
    else:
        try:
            # The engine's messages in English: `build` words them for the page, in the
            # page's language, on the field they are about (the API names the field).
            service.complete(task_id, user=me.username, data=parsed.data)
        except ValidationError as exc:
            view = build(schema, raw, exc.errors or [_form_error(str(exc))], parsed)
        except ExpressionError as exc:
            view = build(schema, raw, [_form_error(_("The process could not go on: ") + str(exc))])
        except TaskGoneError as exc:
            # Completed (or ended) by someone else meanwhile: what became of it, and nothing
            # of what this person entered changed anything.
            _abort_gone(task_id, submitted=True)
            view, status = build(schema, raw, [_form_error(str(exc))]), 409
        except ConflictError as exc:
            view, status = build(schema, raw, [_form_error(str(exc))]), 409
        except NotFoundError:
            view, status = build(schema, raw, [_form_error(_("This task is no longer open."))]), 409
        else:
            flash(_("Done: %(task)s.", task=task["name"]), "success")
            return redirect(url_for("deals.show", instance_id=int(task["instance_id"])))
    return _render(task, deal, form, view, status=status)


def _form_error(message: str) -> dict[str, str]:
    return {"field": "(form)", "message": message}


def _render(
    task: Mapping[str, Any],
    deal: Deal,
    form: dict[str, Any],
    view: FormView,
    *,
    draft: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    me = user()
    page = render_template(
        "tasks/form.html",
        task=task,
        deal=deal,
        form=view,
        instructions=form["instructions"],
        may_act=may_act(me, task),
        mine=task["assignee"] == me.username,
        has_draft=draft,
        due_state=due_state(task["due_at"]),
        sent_back=engine().sent_back_note(task["task_id"], lang=language()),
        data_sections=engine().deal_data_sections(deal["instance_id"], me.username, language()),
    )
    return page, status


@bp.post("/<task_id>/claim")
def claim(task_id: str) -> Response:
    task = _visible_open_task(task_id)
    engine().claim(task_id, user=user().username)
    flash(_("The task is yours now: %(task)s.", task=task["name"]), "success")
    return redirect(safe_next(request.form.get("next"), url_for(".inbox")))


@bp.post("/bulk")
def bulk() -> Response:
    """Several ticked tasks at once: claimed by me, or (a manager) given to someone."""
    me = user()
    chosen = request.form.getlist("tasks")
    action = request.form.get("action", "")
    try:
        if action == "claim":
            done = engine().claim_many(chosen, user=me.username)
            flash(_("%(n)s tasks are yours now.", n=len(done)), "success")
        elif action == "reassign":
            to = request.form.get("to", "").strip()
            done = engine().reassign_many(chosen, to, actor=me.username)
            flash(_("%(n)s tasks given to %(person)s.", n=len(done), person=to), "success")
        else:
            raise ValidationError("choose what to do with the tasks", field="action")
    except (ConflictError, ForbiddenError, NotFoundError, ValidationError) as exc:
        flash(_("Nothing was changed: %(reason)s", reason=str(exc)), "error")
    return redirect(url_for(".inbox"))


@bp.post("/<task_id>/release")
def release(task_id: str) -> Response:
    task = _visible_open_task(task_id)
    engine().release(task_id, user=user().username)
    flash(_("The task is back in the queue: %(task)s.", task=task["name"]), "info")
    return redirect(safe_next(request.form.get("next"), url_for(".inbox")))


def nav_counts() -> dict[str, int]:
    if g.get("user") is None:
        return {}
    # Counted in the database: a rep with thousands of open tasks sees this on every page.
    return per_request("task_counts", lambda: engine().task_counts(user().username))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(lambda: {"nav_counts": nav_counts, "may_act": may_act})
