"""Activities and the tier follow-up cadence (issue 19): the calls, visits, meetings, e-mails
and messages a rep logs with a customer or one of its deals, and the reminder that a customer
has not heard from the team for longer than its tier's rhythm (domain.md: A weekly, B less
often, C nurture; the team setting `cadence_days`).

Who may do what:
- a customer is seen by its owner, by managers and admins, and by whoever may see one of its
  deals (engine.usecases.access); a deal by the rule of its page.  Someone who may not see the
  customer or deal gets NotFoundError, worded as for one that does not exist;
- logging needs the customer or deal seen without the team's read-only sharing
  (`reps_see_team_deals`): a rep who only reads a colleague's deal gets ForbiddenError.

What logging does, in one transaction (engine.store.activities `add_activity`): the activity
(one on a deal also carries the deal's customer, so the customer's page lists it), the
customer's `last_activity_at` (the latest activity's time), its `next_follow_up` (the next
step's date of the latest activity that set one), its cadence reminder cleared (the silence is
over), and for a deal its `activity_at` (it is not stale).

The cadence: a customer is due a follow-up when it has been silent (since its last activity,
or since it was added) for longer than its tier's days (`cadence_due`, and in SQL
engine.store.activities `silent_clause`).  The worker (engine.jobs.cadence) calls
`remind_silent_customers`: each due customer's owner is told once per silence (`reminded_at`
claims the row; the next activity clears it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.store import team_settings, users
from engine.store.activities import (
    KINDS,
    ActivityRecord,
    activities_of,
    add_activity,
    silent_clause,
)
from engine.store.changes import note_activity
from engine.store.models import Customer, Instance, User
from engine.store.records import iso
from engine.usecases import access
from engine.usecases.access import SEE_ALL
from engine.usecases.base import UseCases
from engine.usecases.notices import Notices
from engine.usecases.unit import parse_id

__all__ = [
    "KINDS",
    "MAX_LINE",
    "MAX_NOTES",
    "ActivityCases",
    "ActivityRecord",
    "FollowUp",
    "cadence_due",
    "customers_due",
    "follow_ups_due",
    "silent_days",
]

MAX_NOTES = 5000
MAX_LINE = 300  # Activity.outcome, Activity.next_step
# A clock a few minutes ahead (a phone, a laptop) still logs "now"; later is a typo.
FUTURE_SLACK = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no CRM logs calls from before this
LATEST_DAY = date(9999, 12, 31)
MAX_LISTED = 500  # activities a list or a timeline shows
REMIND_BATCH = 500  # customers reminded per worker pass; the next pass takes the rest


class FollowUp(TypedDict):
    """A customer due a follow-up (the Today page, the customer list's marker)."""

    customer_id: int
    name: str
    tier: str | None
    owner: str | None
    last_activity_at: str | None
    next_follow_up: str | None
    silent_days: int
    cadence_days: int


# --- the cadence rule ------------------------------------------------------------------


def silent_days(last_activity_at: datetime | None, created_at: datetime, now: datetime) -> int:
    """Whole days since the customer last heard from the team (or was added)."""
    return max(0, (now - (last_activity_at or created_at)).days)


def cadence_due(
    last_activity_at: datetime | None,
    created_at: datetime,
    tier: str | None,
    cadence: Mapping[str, int | None],
    now: datetime,
) -> bool:
    """Whether a customer is due a follow-up: silent (since its last activity, or since it
    was added) for longer than its tier's days in `cadence` (the team setting
    `cadence_days`, engine.store.team_settings); never for a tier without one.  The SQL twin
    is engine.store.activities `silent_clause`."""
    days = cadence.get(tier or "")
    if not days:
        return False
    return (last_activity_at or created_at) < now - timedelta(days=days)


def customers_due(s: Session, customer_ids: list[int], now: datetime) -> set[int]:
    """Those of the customers that are due a follow-up (the board's marker on a deal)."""
    if not customer_ids:
        return set()
    query = select(Customer.id).where(
        Customer.id.in_(customer_ids), silent_clause(team_settings.cadence_days(s), now)
    )
    return set(s.scalars(query))


def follow_ups_due(s: Session, owner: str, now: datetime) -> list[FollowUp]:
    """The customers of `owner` due a follow-up, longest silent first (the Today page)."""
    cadence = team_settings.cadence_days(s)
    rows = s.scalars(
        select(Customer)
        .where(Customer.owner == owner, silent_clause(cadence, now))
        .order_by(Customer.id)
    )
    found = [_follow_up(c, cadence, now) for c in rows]
    return sorted(found, key=lambda f: -f["silent_days"])


def _follow_up(c: Customer, cadence: Mapping[str, int | None], now: datetime) -> FollowUp:
    return {
        "customer_id": c.id,
        "name": c.name,
        "tier": c.tier,
        "owner": c.owner,
        "last_activity_at": iso(c.last_activity_at),
        "next_follow_up": c.next_follow_up.isoformat() if c.next_follow_up else None,
        "silent_days": silent_days(c.last_activity_at, c.created_at, now),
        "cadence_days": cadence.get(c.tier or "") or 0,
    }


# --- who sees a customer -----------------------------------------------------------------


# --- checking what is logged ---------------------------------------------------------------


def _text(value: Any, field: str, limit: int, *, empty: str | None = None) -> str | None:
    if value is None:
        return empty
    if not isinstance(value, str):
        raise ValidationError("text", field=field)
    if "\x00" in value:
        raise ValidationError("must not hold a NUL character", field=field)
    value = value.strip()
    if len(value) > limit:
        raise ValidationError(f"at most {limit} characters", field=field)
    return value or empty


def _moment(value: Any, zone: str, now: datetime) -> datetime:
    """When it happened: a datetime or ISO text; without an offset, in the team's time zone
    (what a person means by "10:30"); not in the future."""
    if value is None or value == "":
        return now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(
                "a date and time such as 2026-03-02T10:30 or 2026-03-02T10:30:00+08:00",
                field="at",
            ) from None
    if not isinstance(value, datetime):
        raise ValidationError("a date and time", field="at")
    try:
        moment = value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError("a date and time after 2000", field="at") from None
    if moment < EARLIEST:
        raise ValidationError("a date and time after 2000", field="at")
    if moment > now + FUTURE_SLACK:
        raise ValidationError("not in the future: log what has happened", field="at")
    return moment


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError("a date such as 2026-03-09", field="next_step_at") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError("a date such as 2026-03-09", field="next_step_at")
    if value.year < EARLIEST.year:
        raise ValidationError("a date after 2000", field="next_step_at")
    return value


def _target(customer_id: Any, deal_id: Any) -> tuple[int | None, int | None]:
    """(customer id, deal id): exactly one of them."""
    given_customer = customer_id not in (None, "")
    given_deal = deal_id not in (None, "")
    if given_customer == given_deal:
        raise ValidationError(
            "give either a customer or a deal, not both",
            field="deal_id" if given_deal else "customer_id",
        )
    if given_customer:
        return parse_id(customer_id, "customer"), None
    return None, parse_id(deal_id, "deal")


class ActivityCases(UseCases):
    """Activities logged with customers and deals, and the tier cadence's reminders."""

    def cadence(self) -> dict[str, int | None]:
        """Tier -> days of silence after which its customers are due a follow-up."""
        with self.db.read() as s:
            return team_settings.cadence_days(s)

    def may_set_cadence(self, username: str) -> bool:
        """Whether `username` sets the team's follow-up rhythm: a sales manager or an admin."""
        with self.db.read() as s:
            return bool(users.roles_of(s, username) & SEE_ALL)

    def set_cadence(self, values: Mapping[str, Any], *, user: str) -> dict[str, int | None]:
        """Set tiers' follow-up rhythm (tier -> days; an empty value: no cadence for the
        tier), by a sales manager or an admin (domain.md: the manager sets the rhythm);
        ValidationError naming the setting `cadence_days` for a bad value."""
        if not self.may_set_cadence(user):
            raise ForbiddenError(f"{user} may not set the follow-up rhythm: a sales manager does")
        with self.db.read() as s:
            stored = dict(team_settings.cadence_days(s))
        saved = team_settings.save(self.db, {"cadence_days": {**stored, **values}}, actor=user)
        days: dict[str, int | None] = saved["cadence_days"]
        return days

    def log_activity(
        self,
        *,
        actor: str,
        kind: str,
        at: datetime | str | None = None,
        notes: str | None = "",
        outcome: str | None = None,
        next_step: str | None = None,
        next_step_at: date | str | None = None,
        customer_id: int | str | None = None,
        deal_id: int | str | None = None,
    ) -> ActivityRecord:
        """Log an activity of `actor` with a customer or a deal (exactly one of them); see
        the module's docstring for its rules and effects.  NotFoundError for a customer or
        deal the actor may not see, ForbiddenError for one they only read (the team's
        sharing), ValidationError naming the field for bad input."""
        customer, deal = _target(customer_id, deal_id)
        now = clock.now()
        with self.db.write() as s:
            roles = users.roles_of(s, actor)
            shared = access.team_deals_shared(s)
            if deal is not None:
                inst = s.get(Instance, deal)
                if inst is None or not access.may_see(s, actor, roles, deal, team=shared):
                    raise NotFoundError(f"no deal with id '{deal}'")
                if not access.may_see(s, actor, roles, deal):
                    raise ForbiddenError(
                        f"{actor} may read deal {deal} but not log activities on it: it is "
                        "a colleague's, shared read only"
                    )
                customer = inst.customer_id
                activity_at = inst.activity_at or inst.created_at
            else:
                assert customer is not None
                if not access.may_see_customer(s, actor, roles, customer, team=shared):
                    raise NotFoundError(f"no customer with id '{customer}'")
                if not access.may_see_customer(s, actor, roles, customer):
                    raise ForbiddenError(
                        f"{actor} may read customer {customer} but not log activities "
                        "with it: it is a colleague's, shared read only"
                    )
            if kind not in KINDS:
                raise ValidationError(f"one of {', '.join(KINDS)}", field="kind")
            zone = str(team_settings.get(s, "timezone") or "UTC")
            moment = _moment(at, zone, now)
            values: dict[str, Any] = {
                "customer_id": customer,
                "instance_id": deal,
                "kind": kind,
                "at": moment,
                "by": actor,
                "notes": _text(notes, "notes", MAX_NOTES, empty="") or "",
                "outcome": _text(outcome, "outcome", MAX_LINE),
                "next_step": _text(next_step, "next_step", MAX_LINE),
                "next_step_at": _day(next_step_at),
            }
            record = add_activity(s, values, now=now)
            if deal is not None and moment > activity_at:
                note_activity(s, deal, moment)  # worked on: not stale
            return record

    def activities(
        self,
        viewer: str | None,
        *,
        customer_id: int | str | None = None,
        deal_id: int | str | None = None,
    ) -> list[ActivityRecord]:
        """The activities of a customer (its own and its deals') or of a deal, newest first,
        as `viewer` may see them (None: the console operator, who sees all): NotFoundError
        for a customer or deal they may not see; of a customer's deals, only those they may
        see."""
        customer, deal = _target(customer_id, deal_id)
        with self.db.read() as s:
            # None for the console; no roles for a user who left: sees nothing.
            roles = users.roles_held(s, viewer) if viewer is not None else set(SEE_ALL)
            name = viewer or ""
            shared = access.team_deals_shared(s)
            if deal is not None:
                if s.get(Instance, deal) is None or not access.may_see(
                    s, name, roles, deal, team=shared
                ):
                    raise NotFoundError(f"no deal with id '{deal}'")
                return activities_of(s, instance_id=deal, limit=MAX_LISTED)
            assert customer is not None
            exists = s.get(Customer, customer) is not None
            if not exists or not access.may_see_customer(s, name, roles, customer, team=shared):
                raise NotFoundError(f"no customer with id '{customer}'")
            found = activities_of(s, customer_id=customer, limit=MAX_LISTED)
            return _seen(s, found, name, roles, shared)

    def follow_ups(self, username: str) -> list[FollowUp]:
        """The user's customers due a follow-up now, longest silent first."""
        with self.db.read() as s:
            return follow_ups_due(s, username, clock.now())

    def cadence_days(self) -> dict[str, int | None]:
        """Tier -> days of silence after which a customer is due a follow-up (anyone)."""
        with self.db.read() as s:
            return team_settings.cadence_days(s)

    def remind_silent_customers(self, now: datetime | None = None) -> int:
        """Tell the owner of every customer silent past its tier's cadence, once per silence
        (`reminded_at` is set; the next activity clears it); how many were told.  Two
        workers on PostgreSQL never tell twice: the rows are claimed FOR UPDATE SKIP LOCKED,
        and a row claimed and committed no longer matches `reminded_at IS NULL`."""
        now = now or clock.now()
        with self.db.write() as s:
            cadence = team_settings.cadence_days(s)
            query = (
                select(Customer)
                .join(User, User.username == Customer.owner)
                .where(
                    User.active.is_(True),
                    Customer.reminded_at.is_(None),
                    silent_clause(cadence, now),
                )
                .order_by(Customer.id)
                .limit(REMIND_BATCH)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(of=Customer, skip_locked=True)
            notices = Notices(s)  # each owner in their language
            told = 0
            for c in s.scalars(query).all():
                notices.tell(
                    c.owner,
                    "cadence_reminder",
                    "cadence_reminder",
                    now=now,
                    customer=c.name,
                    tier=c.tier or "",
                    days=silent_days(c.last_activity_at, c.created_at, now),
                )
                c.reminded_at = now
                told += 1
            return told


def _seen(
    s: Session, found: list[ActivityRecord], viewer: str, roles: set[str], shared: bool
) -> list[ActivityRecord]:
    """The activities without those of deals `viewer` may not see (a customer's other deals
    may be a colleague's)."""
    if access.sees_all(roles):
        return found
    deals = {int(a["deal_id"]) for a in found if a["deal_id"] is not None}
    if not deals:
        return found
    clause: ColumnElement[bool] = access.visible_deals(viewer, roles, team=shared)
    visible = {str(i) for i in s.scalars(select(Instance.id).where(Instance.id.in_(deals), clause))}
    return [a for a in found if a["deal_id"] is None or a["deal_id"] in visible]
