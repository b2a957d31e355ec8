"""Team settings: the SLA clock (time zone, business hours, holidays, make-up working days),
the days after which a quiet deal is stale, per stage, when the daily digest goes out, and
the follow-up cadence of each customer tier (engine.usecases.activities).

Admins read and change them (the settings page is theirs); engine.store.team_settings checks,
normalises and keeps the values, and the rest of the engine reads them from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.core.customers import TIERS
from engine.core.roles import ADMIN
from engine.errors import ForbiddenError
from engine.store import team_settings, users
from engine.store.team_settings import STALE_STAGES, date_ranges
from engine.usecases.base import UseCases

__all__ = ["SETTING_ROLES", "STALE_STAGES", "TIERS", "SettingCases", "date_ranges"]

# Who reads and changes the team's settings (role keys).
SETTING_ROLES = frozenset({ADMIN})


class SettingCases(UseCases):
    """The team's settings, for the admins who keep them."""

    def team_settings(self, *, user: str) -> dict[str, Any]:
        """Every setting an admin edits, defaults filled in."""
        with self.db.read() as s:
            _check_admin(users.roles_of(s, user), user)
            return team_settings.load_all(s)

    def team_timezone(self) -> str:
        """The team's time zone (an IANA name): what every page shows times in (anyone)."""
        with self.db.read() as s:
            return str(team_settings.get(s, "timezone") or "UTC")

    def save_team_settings(self, values: Mapping[str, Any], *, user: str) -> dict[str, Any]:
        """Check every given setting, then store them all, or none (ValidationError with
        `errors` naming every bad key); the settings as stored now."""
        with self.db.read() as s:
            _check_admin(users.roles_of(s, user), user)
        return team_settings.save(self.db, values, actor=user)


def _check_admin(roles: set[str], user: str) -> None:
    if not roles & SETTING_ROLES:
        raise ForbiddenError(
            f"{user} may not see or change the team's settings: that needs the admin role"
        )
