"""The tier cadence's reminders: a customer silent for longer than its tier's rhythm (the
team setting `cadence_days`: A weekly, B less often, C nurture) gets its owner told, once per
silence.  The rule and the claim are engine.usecases.activities `remind_silent_customers`;
the worker calls `send_cadence_reminders` every ten minutes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.usecases.service import Service

__all__ = ["send_cadence_reminders"]


def send_cadence_reminders(service: Service, now: datetime) -> int:
    """Remind the owners of the customers due a follow-up; how many were told."""
    return service.remind_silent_customers(now)
