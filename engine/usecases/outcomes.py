"""Outcomes: whether a deal is won, lost or still open, and marking a deal lost.

How a deal's process ends decides its outcome, through its stages (engine.core.stages): the
shipped pipeline passes the stage "lost" where it records a loss (Record loss after a lost
negotiation, Record loss: not qualified after the nurture rounds) and "won" where it records
a win (after legal and finance both confirmed), which after-sales follows.  So a deal is
lost when its stage is "lost", won when its stage is "won" or one after it, and open (None)
otherwise, whatever its status: a won deal in its after-sales revisit is running and won, a
deal cancelled after an incident keeps the stage it stopped in and has no outcome.  Its
`lost_reason` is the data's, shown for a lost deal only.

Marking a deal lost (`mark_lost`) ends an open deal from any stage, by its owner or a
manager (`may_change`, the rule for a deal's value and close date too), with a reason from
the process's lost-reason list: the choices of the `lost_reason` field of its forms (the
shipped negotiation form's), or any short text for a process whose forms have no such list.
The process's running tasks are cancelled; the deal's data records the loss as the process's
own Record loss does (`outcome`, `lost_reason`, `lost_at_stage`); its stage becomes "lost",
its status "cancelled"; its history says who marked it lost, why and where it was; its owner
is told.  The reports count it as the process's own losses: its history entry is an entry
into the stage "lost" (MARKED_LOST, which engine.usecases.reports.scope maps to that stage)
and its reason is the data's `lost_reason`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core import webhooks
from engine.core.records import DealRow, DealSummary
from engine.core.roles import MANAGERS
from engine.core.stages import STAGE_ORDER
from engine.core.translations import choices
from engine.core.version import VersionRuntime
from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import deployments as versions
from engine.store import users
from engine.store.integrations import record_deal_events
from engine.store.models import History, Instance
from engine.store.records import instance_summary
from engine.usecases.base import UseCases
from engine.usecases.notices import Notices
from engine.usecases.people import display_name
from engine.usecases.unit import parse_id, retried

__all__ = [
    "LOST",
    "LOST_KIND",
    "MARKED_LOST",
    "MAX_REASON",
    "WON",
    "WON_STAGES",
    "OutcomeCases",
    "check_may_change",
    "deal_summary",
    "latest_version",
    "may_change",
    "outcome_of",
    "reason_choices",
]

WON, LOST = "won", "lost"
# "won" and the stages after it ("lost" is no stage after a win): a deal there is won.
WON_STAGES = frozenset(s for s in STAGE_ORDER[STAGE_ORDER.index(WON) :] if s != LOST)
# The history entry of a deal marked lost: its kind, and the element id under which the
# reports count it as an entry into the stage "lost" (no BPMN element has this id).
LOST_KIND = "lost"
MARKED_LOST = "salesflow:marked_lost"
REASON_FIELD = "lost_reason"
MAX_REASON = 300  # Instance.lost_reason
# Who may change any deal (mark it lost, set its value and close date), besides its owner.
CHANGERS = MANAGERS


def outcome_of(stage: str | None) -> str | None:
    """`won`, `lost`, or None for a deal still open (see the module's docstring)."""
    if stage == LOST:
        return LOST
    return WON if stage in WON_STAGES else None


def deal_summary(row: DealRow) -> DealSummary:
    """A deal's record as lists, the board and its page show it: its row with its outcome,
    and its lost reason only when it is lost."""
    outcome = outcome_of(row["stage"])
    return {
        **row,
        "outcome": outcome,
        "lost_reason": row["lost_reason"] if outcome == LOST else None,
    }


def may_change(username: str, roles: set[str], owner: str | None) -> bool:
    """Whether `username`, holding `roles`, may mark the deal of `owner` lost or change its
    value and expected close date: its owner, or a manager (Sales Manager, admin)."""
    return (owner is not None and username == owner) or bool(roles & CHANGERS)


def check_may_change(s: Session, inst: Instance, username: str) -> set[str]:
    """The roles of `username`, who may change `inst` (`may_change`); ForbiddenError
    otherwise, NotFoundError for an unknown or inactive user."""
    roles = users.roles_of(s, username)
    if not may_change(username, roles, inst.owner):
        raise ForbiddenError(
            f"{username} may not change deal {inst.id}: its owner ({inst.owner or 'nobody'}) "
            "or a sales manager may"
        )
    return roles


def _labels(field: Mapping[str, Any]) -> dict[str, str]:
    """A choice field's labels: its `oneOf` titles, or the `enumNames` beside its `enum`."""
    found = {
        str(o["const"]): str(o["title"])
        for o in field.get("oneOf") or ()
        if isinstance(o, Mapping) and "const" in o and o.get("title")
    }
    names = field.get("enumNames")
    if isinstance(names, list) and isinstance(field.get("enum"), list):
        found.update({str(v): str(n) for v, n in zip(field["enum"], names, strict=False)})
    return found


def reason_choices(vr: VersionRuntime, lang: str | None = None) -> list[dict[str, str]]:
    """The lost-reason list of a version: the choices of the first of its forms (by file name)
    with a `lost_reason` choice field, each `{"value", "label"}` with its label in `lang`;
    empty when no form has one (a reason is then any short text)."""
    texts = vr.texts(lang)
    for name in sorted(vr.validators):
        schema = vr.form_schema(name) or {}
        field = (schema.get("properties") or {}).get(REASON_FIELD)
        if not isinstance(field, Mapping) or not (values := choices(field)):
            continue
        shown = (texts.form(name, schema) or schema)["properties"][REASON_FIELD]
        labels = _labels(shown)
        return [
            {"value": v, "label": labels.get(v) or str(texts.value(REASON_FIELD, v))}
            for v in values
        ]
    return []


def latest_version(cases: UseCases, s: Session, process_id: str) -> VersionRuntime:
    """The latest version of a deployed process, ready to run (read without its files);
    NotFoundError for a process not deployed."""
    for pid, _name, vid in versions.latest_versions(s):
        if pid == process_id:
            return cases.version(s, vid)
    raise NotFoundError(f"no deployed process '{process_id}'")


def _checked_reason(reason: Any, offered: list[dict[str, str]]) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationError("give the reason the deal was lost", field="reason")
    values = [c["value"] for c in offered]
    if values and text not in values:
        raise ValidationError(
            f"'{text[:60]}' is not on the lost-reason list: {', '.join(values)}", field="reason"
        )
    if len(text) > MAX_REASON or "\x00" in text:
        raise ValidationError(f"a reason is 1-{MAX_REASON} characters", field="reason")
    return text


class OutcomeCases(UseCases):
    """Deals won and lost: marking a deal lost, and the list of reasons to choose from."""

    def lost_reasons(self, process_id: str, lang: str | None = None) -> list[dict[str, str]]:
        """The lost-reason list of a process's latest version (`reason_choices`): what a
        deal of it is marked lost with, whichever version it runs on."""
        with self.db.read() as s:
            return reason_choices(self._latest(s, process_id), lang)

    def lost_reason_labels(self, process_id: str, lang: str | None = None) -> dict[str, str]:
        """Stored lost reason -> how people read it in `lang`, for a process's deals: the
        list's labels, then the translations of the values the process writes itself."""
        with self.db.read() as s:
            vr = self._latest(s, process_id)
        labels = dict(vr.texts(lang).values.get(REASON_FIELD, {}))
        labels.update({c["value"]: c["label"] for c in reason_choices(vr, lang)})
        return labels

    def _latest(self, s: Session, process_id: str) -> VersionRuntime:
        return latest_version(self, s, process_id)

    @retried
    def mark_lost(self, instance_id: str | int, *, user: str, reason: Any) -> DealSummary:
        """End an open deal as lost, from any stage (see the module's docstring): its owner or
        a manager, with a reason from the process's lost-reason list.  ForbiddenError for
        anyone else, ConflictError for a deal already finished, ValidationError (field
        `reason`) for a missing reason or one not on the list."""
        iid = parse_id(instance_id)
        with self.space.write() as unit:
            s = unit.s
            inst = unit.lock(iid, status=None)
            unit.roles[user] = check_may_change(s, inst, user)
            outcome = outcome_of(inst.stage)
            if inst.status not in ("running", "error") or outcome is not None:
                raise ConflictError(
                    f"deal {iid} is {outcome or inst.status}: only an open deal can be lost"
                )
            latest = self._latest(s, inst.process_id)
            text = _checked_reason(reason, reason_choices(latest))
            deal = unit.open(inst)
            now = clock.now()
            stage = inst.stage
            deal.workflow.cancel()  # its running tasks, timers and waits
            # The loss in the deal's data, as the process's own Record loss writes it.
            deal.workflow.data.update(outcome=LOST, lost_reason=text, lost_at_stage=stage)
            inst.completed_at = now
            deal.save(actor=user, now=now, status="cancelled")
            inst.stage = LOST
            s.flush()
            # After the cancelled tasks: the timeline's newest entry says why it ended.
            entry = {
                "instance_id": iid,
                "at": now,
                "actor": user,
                "kind": LOST_KIND,
                "element_id": MARKED_LOST,
                "element_name": None,
                "task_id": None,
                "entered_at": None,
                "data": {"reason": text, "stage": stage},
            }
            s.execute(insert(History), [entry])
            record_deal_events(s, inst, [webhooks.LOST], now)  # for the webhooks that want it
            if inst.owner and inst.owner != user:

                def label(locale: str) -> str:  # the reason as the owner reads it
                    found = {c["value"]: c["label"] for c in reason_choices(latest, locale)}
                    return found.get(text, text)

                Notices(s).tell(
                    inst.owner,
                    "lost",
                    "lost",
                    instance_id=iid,
                    now=now,
                    user=display_name(s, user),  # as the owner knows them
                    deal=inst.name,
                    reason=label,
                )
            return deal_summary(instance_summary(inst))

    def may_change_deal(self, username: str, instance_id: str | int) -> bool:
        """Whether `username` may mark the deal lost or change its value and expected close
        date (`may_change`); False for an unknown deal or user."""
        iid = parse_id(instance_id)
        with self.db.read() as s:
            found = s.execute(select(Instance.owner).where(Instance.id == iid)).first()
            roles = users.roles_held(s, username)
        return found is not None and bool(roles) and may_change(username, roles, found.owner)
