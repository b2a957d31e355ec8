"""SLAs as the change writer stores them: a task's due time and the role it escalates to,
and whether a deal still has an escalated task open.  The sweep that escalates is
engine.jobs.escalation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.calendar import Calendar, Sla
from engine.store import team_settings as settings
from engine.store.models import OpenTask


class DueTimes:
    """Due times of the tasks one change opens; reads the SLA calendar once, and only when
    one of them has an SLA."""

    def __init__(self, s: Session, slas: Mapping[str, Sla]) -> None:
        self._s = s
        self._slas = slas
        self._calendar: Calendar | None = None

    def fields(self, element_id: str, ready_at: datetime) -> dict[str, Any]:
        """The open-task columns `due_at` and `escalate_to` of a task ready at `ready_at`."""
        sla = self._slas.get(element_id)
        if sla is None:
            return {"due_at": None, "escalate_to": None}
        if self._calendar is None:
            self._calendar = settings.sla_calendar(self._s)
        return {
            "due_at": self._calendar.add(ready_at, sla.duration),
            "escalate_to": sla.escalate_to,
        }


def still_escalated(s: Session, instance_id: int, open_task_ids: Iterable[str]) -> bool:
    """Whether one of the deal's escalated tasks is among those still open."""
    escalated = set(
        s.scalars(
            select(OpenTask.task_id).where(
                OpenTask.instance_id == instance_id, OpenTask.escalated_at.is_not(None)
            )
        )
    )
    return bool(escalated & set(open_task_ids))
