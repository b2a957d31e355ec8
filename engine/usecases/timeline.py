"""A deal's timeline in business words (engine.core.timeline), for whoever may see the deal,
in their language: the deal page's timeline and GET /api/v1/deals/{id}/timeline.  The calls,
visits and meetings logged on the deal (engine.usecases.activities) are among its steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from engine.core.definitions import form_name
from engine.core.forms import send_back_field
from engine.core.timeline import (
    BUSINESS_KINDS,
    TimelineEntry,
    activity_entry,
    business_timeline,
    with_activities,
)
from engine.core.translations import ENGLISH_TEXTS
from engine.core.version import VersionRuntime
from engine.errors import NotFoundError
from engine.store import users
from engine.store.activities import activities_of
from engine.store.models import Customer, DefinitionVersion, History, Instance
from engine.store.records import history_record
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.charts import cached_graph
from engine.usecases.texts import is_english, localize_history
from engine.usecases.unit import parse_id

__all__ = ["BUSINESS_KINDS", "TimelineCases", "TimelineEntry", "deciding_forms"]

ACTIVITIES_SHOWN = 500  # the newest activities of a deal its timeline shows


def deciding_forms(vr: VersionRuntime) -> dict[str, Any]:
    """Element id -> form schema, for the tasks of a version whose form may send the work
    back (engine.core.forms `send_back_field`): all the timeline needs of the forms."""
    found: dict[str, Any] = {}
    for spec in (vr.spec, *vr.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            element = getattr(ts, "bpmn_id", None)
            schema = vr.form_schema(form_name(ts)) if element else None
            if element and send_back_field(schema) is not None:
                found[element] = schema
    return found


class TimelineCases(UseCases):
    """A deal's history as the people selling read it."""

    def deal_timeline(
        self, instance_id: str | int, viewer: str, lang: str | None = None
    ) -> list[TimelineEntry]:
        """The business entries of a deal's history, newest first, names in `lang`.
        NotFoundError for a deal `viewer` may not see, worded as for one that does not
        exist (the rule of the deal's page, engine.usecases.access)."""
        iid = parse_id(instance_id)
        with self.db.read() as s:
            inst = s.get(Instance, iid, options=[defer(Instance.state)])
            roles = users.roles_held(s, viewer)  # none for a user who left: sees nothing
            if inst is None or not access.may_see(
                s, viewer, roles, iid, team=access.team_deals_shared(s)
            ):
                raise NotFoundError(f"no deal with id '{instance_id}'")
            entries = self._timeline(s, inst, lang)
            return list(reversed(with_activities(entries, self._activities(s, inst))))

    def _activities(self, s: Session, inst: Instance) -> list[TimelineEntry]:
        """The activities logged on the deal, as timeline entries (oldest first)."""
        found = activities_of(s, instance_id=inst.id, limit=ACTIVITIES_SHOWN)
        if not found:
            return []
        customer = s.get(Customer, inst.customer_id) if inst.customer_id is not None else None
        about = customer.name if customer is not None else inst.name
        return [activity_entry(a, about) for a in reversed(found)]

    def _timeline(self, s: Session, inst: Instance, lang: str | None) -> list[TimelineEntry]:
        rows = s.scalars(select(History).where(History.instance_id == inst.id).order_by(History.id))
        history = [history_record(h) for h in rows]
        row = s.get(DefinitionVersion, inst.version_id)
        if row is None:  # cannot be: a deal keeps its version
            raise NotFoundError(f"no version of deal '{inst.id}'")
        graph = cached_graph(self.space, row)
        vr = self.version(s, inst.version_id)
        if not is_english(lang):
            texts = vr.texts(lang)
            if texts is not ENGLISH_TEXTS:
                history = [localize_history(h, texts) for h in history]
                graph = texts.graph(graph)  # flow names, the reopened step's name
        return business_timeline(history, graph, deciding_forms(vr))
