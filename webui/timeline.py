"""A business timeline entry (engine.core.timeline) as a sentence on the deal's page.

Each sentence is one catalog text with named placeholders, so that the Chinese can put the
person, the step and the outcome where Chinese puts them ("张伟 退回了报价").  The comment
of an entry is not in the sentence: the page quotes it below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webui.activities import activity_kind
from webui.i18n import _
from webui.labels import event, person

__all__ = ["sentence"]

# The outcomes of one step's decisions, in order: arrows read the same in both languages.
ARROW = " → "


def sentence(entry: Mapping[str, Any]) -> str:
    """What happened, as one sentence in the reader's language."""
    kind = entry["kind"]
    step = entry.get("name") or ""
    who = person(entry["actor"]) if entry.get("actor") else ""
    outcome = ARROW.join(entry.get("outcomes") or ())
    if kind in ("step", "decision"):
        return _step(step, who, outcome)
    if kind == "sent_back":
        target = entry.get("target")
        if target:
            return _(
                "%(step)s: %(target)s sent back by %(name)s", step=step, target=target, name=who
            )
        return _("%(step)s: sent back by %(name)s", step=step, name=who)
    if kind == "reminder":
        return _("Reminder: %(step)s", step=step)
    if kind == "waited":
        return _("Waited: %(step)s", step=step)
    if kind == "message":
        return _("%(step)s received", step=step)
    if kind == "won":
        return _("Deal won")
    if kind == "closed":
        return _("Deal closed as lost")
    if kind == "finished":
        return _("Process finished")
    if kind == "task_cancelled":
        return _("%(step)s cancelled", step=step)
    if kind == "deal_cancelled":
        return _("Deal cancelled by %(name)s", name=who) if who else _("Deal cancelled")
    if kind == "started":
        return _("Deal started by %(name)s", name=who) if who else _("Deal started")
    if kind == "comment":
        return _("%(name)s commented", name=who)
    if kind == "activity":
        return _activity(entry, who)
    if kind == "claimed" and step and who:
        return _("%(step)s claimed by %(name)s", step=step, name=who)
    # The other kinds say what they are (labels.EVENTS) and the step they concern.
    return _("%(event)s: %(step)s", event=event(kind), step=step) if step else event(kind)


def _activity(entry: Mapping[str, Any], who: str) -> str:
    """A call, visit, meeting, e-mail or message logged on the deal: "Call with ACME by Wang
    Fang" (its notes are quoted below, like a comment's)."""
    data = entry.get("data") or {}
    kind = data.get("activity") if isinstance(data, Mapping) else None
    customer = entry.get("name") or ""
    if kind == "call":
        return _("Call with %(customer)s by %(name)s", customer=customer, name=who)
    if kind == "visit":
        return _("Visit to %(customer)s by %(name)s", customer=customer, name=who)
    if kind == "meeting":
        return _("Meeting with %(customer)s by %(name)s", customer=customer, name=who)
    if kind == "email":
        return _("E-mail to %(customer)s by %(name)s", customer=customer, name=who)
    if kind == "message":
        return _("Message to %(customer)s by %(name)s", customer=customer, name=who)
    return _(
        "%(activity)s with %(customer)s by %(name)s",
        activity=activity_kind(kind),
        customer=customer,
        name=who,
    )


def _step(step: str, who: str, outcome: str) -> str:
    if who and outcome:
        return _("%(step)s done by %(name)s → %(outcome)s", step=step, name=who, outcome=outcome)
    if who:
        return _("%(step)s done by %(name)s", step=step, name=who)
    if outcome:
        return _("%(step)s done → %(outcome)s", step=step, outcome=outcome)
    return _("%(step)s done", step=step)
