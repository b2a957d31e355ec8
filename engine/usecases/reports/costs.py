"""What leads cost: a monthly spend per lead channel, kept in the `setting` table (key
`channel_costs`), for the channels report."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import ValidationError
from engine.store import team_settings as settings
from engine.store.db import Database

__all__ = ["DAYS_PER_MONTH", "channel_costs", "set_channel_costs"]

COSTS_KEY = "channel_costs"
DAYS_PER_MONTH = 365.25 / 12
MAX_COST = Decimal("1e12")


def channel_costs(s: Session) -> dict[str, float]:
    """Channel -> monthly spend, as set (engine.store.team_settings, key `channel_costs`)."""
    value = settings.get(s, COSTS_KEY) or {}
    return {str(k): float(v) for k, v in dict(value).items()}


def set_channel_costs(
    db: Database, costs: Mapping[str, Any], *, actor: str | None = None
) -> dict[str, float]:
    """Set every channel's monthly spend at once (an empty value removes one); a
    ValidationError names the channel whose value is not an amount from 0."""
    clean: dict[str, float] = {}
    for raw_name, raw in costs.items():
        name = str(raw_name).strip()
        if not name or len(name) > 80:
            raise ValidationError("a channel is named by 1 to 80 characters", field="channel")
        if raw is None or str(raw).strip() == "":
            continue
        try:
            amount = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise ValidationError(f"'{raw}' is not an amount", field=name) from None
        if not amount.is_finite() or amount < 0 or amount >= MAX_COST:
            raise ValidationError(f"'{raw}' is not an amount from 0", field=name)
        clean[name] = float(round(amount, 2))
    with db.write() as s:
        settings.store(s, COSTS_KEY, clean or None, actor=actor)
    return clean
