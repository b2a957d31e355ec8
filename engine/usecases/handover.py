"""People covering for people: reassign one task, hand over everything a rep has, and
delegate a rep's work for a holiday.

The rules (engine.usecases.service calls these inside its transaction; `actor` None is the console
operator, who may do everything):
- A Sales Manager or an admin may do all of it for anyone.  A rep may reassign a task they
  hold, and delegate their own work.
- A task goes only to a user holding its lane's role; where a whole set of tasks moves and
  the new person lacks a task's role, that task waits in the role's queue instead (the rule
  of engine.store.changes for new tasks).
- A hand-over gives the new owner the deals (`Instance.owner`, so tasks that become ready
  later follow it), the open tasks and the rep's running delegations; one `handover` history
  row per deal.  One deal handed over alone goes only to someone who may own deals (an
  owner role, engine.usecases.deals), as on its page; a rep's whole work to anyone active.
- A delegation runs from `starts_at` to `ends_at`: meanwhile the rep's open tasks and new
  assignments go to the delegate, each remembering whom it came from (`delegated_from`);
  when it ends they go back.  `end_expired_delegations` is the worker's minute job.
- Every change tells the people concerned (engine.store.notifications).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.core.roles import MANAGERS
from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import users
from engine.store.delegations import route, running_at
from engine.store.models import Delegation, History, Instance, OpenTask, User
from engine.store.notifications import notify
from engine.store.records import iso, task_record
from engine.usecases.base import UseCases
from engine.usecases.deals import OWNER_ROLES
from engine.usecases.tasks import lock_open_task
from engine.usecases.unit import parse_id

if TYPE_CHECKING:
    from engine.store.db import Database

__all__ = [
    "MANAGERS",
    "Moment",
    "as_time",
    "cancel_delegation",
    "delegate",
    "delegation_record",
    "delegations",
    "end_expired_delegations",
    "hand_over",
    "handover_preview",
    "parse_day",
    "reassign",
    "route",
]

SYSTEM = "salesflow"  # who acted, in texts, when the console operator did


# --- reading -------------------------------------------------------------------------------


Moment = datetime | str  # a time, or a date or time as text (from a form or the console)


def parse_day(text: str, *, end: bool = False) -> datetime:
    """A date or an ISO time as UTC.  A bare date ("2026-03-10") is its first moment, or with
    `end` the first moment of the next day: "until the 10th" includes the 10th."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            "not a date (2026-03-10) or a time (2026-03-10T18:00)",
            field="until" if end else "starts",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def as_time(value: Moment, *, end: bool = False) -> datetime:
    """A datetime as it is (naive ones are UTC), text through `parse_day`."""
    if isinstance(value, str):
        return parse_day(value, end=end)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def delegation_record(d: Delegation) -> dict[str, Any]:
    return {
        "id": d.id,
        "from_user": d.from_user,
        "to_user": d.to_user,
        "starts_at": iso(d.starts_at),
        "ends_at": iso(d.ends_at),
        "created_by": d.created_by,
        "created_at": iso(d.created_at),
        "ended_at": iso(d.ended_at),
    }


def delegations(s: Session, username: str | None = None) -> list[dict[str, Any]]:
    """The delegations that have not ended, from or to `username` (everyone's without)."""
    query = select(Delegation).where(Delegation.ended_at.is_(None)).order_by(Delegation.starts_at)
    if username is not None:
        query = query.where(or_(Delegation.from_user == username, Delegation.to_user == username))
    return [delegation_record(d) for d in s.scalars(query)]


# --- checks --------------------------------------------------------------------------------


def _is_manager(s: Session, actor: str | None) -> bool:
    return actor is None or bool(users.roles_of(s, actor) & MANAGERS)


def _active_roles(s: Session, username: str, field: str) -> set[str]:
    """The roles of an active user named in a request, or invalid data naming the field."""
    try:
        return users.roles_of(s, username)
    except NotFoundError:
        raise ValidationError(f"no active user '{username}'", field=field) from None


def _name(s: Session, username: str | None) -> str:
    if username is None:
        return SYSTEM
    found = s.scalar(select(User.display_name).where(User.username == username))
    return found or username


def _deal_names(s: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(s.execute(select(Instance.id, Instance.name).where(Instance.id.in_(wanted))).all())


def _lock(s: Session) -> bool:
    return s.get_bind().dialect.name != "sqlite"  # SQLite's write transaction locks it all


def _history(s: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        s.execute(insert(History), rows)


def _moved_note(tasks: int, queued: int) -> str:
    text = f"{tasks} open task{'s' if tasks != 1 else ''}"
    return text + (f" ({queued} of them to their role's queue)" if queued else "")


# --- one task ------------------------------------------------------------------------------


def reassign(
    s: Session, row: OpenTask, to_user: str, *, actor: str | None, now: datetime
) -> dict[str, Any]:
    """Give one open task (`row`, locked by the caller) to `to_user`."""
    if not _is_manager(s, actor) and row.assignee != actor:
        raise ForbiddenError(
            f"task '{row.name}' is not assigned to {actor}; only its holder or a sales "
            "manager may reassign it"
        )
    held = _active_roles(s, to_user, "to")
    if row.role is not None and row.role not in held:
        raise ValidationError(
            f"{to_user} does not hold the role '{row.lane}' of task '{row.name}'", field="to"
        )
    if row.assignee == to_user:
        return task_record(row)
    before = row.assignee
    assignee, delegated_from = route(s, to_user, row.role, now, {})
    row.assignee, row.delegated_from = assignee, delegated_from
    s.add(
        History(
            instance_id=row.instance_id,
            at=now,
            actor=actor,
            kind="reassigned",
            element_id=row.element_id,
            element_name=row.name,
            task_id=row.task_id,
            data={"from": before, "to": to_user},
        )
    )
    deal = _deal_names(s, [row.instance_id]).get(row.instance_id, "")
    who = _name(s, actor)
    told = {actor}
    for person, text in (
        (to_user, f"{who} gave you the task '{row.name}' of deal '{deal}'."),
        (assignee, f"The task '{row.name}' of deal '{deal}' came to you: {to_user} is away."),
        (before, f"{who} reassigned your task '{row.name}' of deal '{deal}' to {to_user}."),
    ):
        if person is not None and person not in told:
            told.add(person)
            notify(
                s,
                person,
                "reassigned",
                text,
                instance_id=row.instance_id,
                task_id=row.task_id,
                now=now,
            )
    s.flush()
    return task_record(row)


# --- everything a rep has ------------------------------------------------------------------


def _handover_scope(
    s: Session, from_user: str, instance_id: int | None, *, lock: bool
) -> tuple[list[int], list[OpenTask]]:
    """The deals `from_user` owns and the open tasks that are theirs (held, or held for them
    by a delegate or their role's queue while they are away)."""
    deals = select(Instance.id).where(Instance.owner == from_user)
    delegates = select(Delegation.to_user).where(
        Delegation.from_user == from_user, Delegation.ended_at.is_(None)
    )
    theirs = or_(
        OpenTask.assignee == from_user,
        (OpenTask.delegated_from == from_user)
        & (OpenTask.assignee.is_(None) | OpenTask.assignee.in_(delegates)),
    )
    tasks = select(OpenTask).where(theirs).order_by(OpenTask.instance_id, OpenTask.created_at)
    if instance_id is not None:
        deals = deals.where(Instance.id == instance_id)
        tasks = tasks.where(OpenTask.instance_id == instance_id)
    if lock and _lock(s):
        tasks = tasks.with_for_update()
    return list(s.scalars(deals.order_by(Instance.id))), list(s.scalars(tasks))


def _check_handover(s: Session, from_user: str, to_user: str, actor: str | None) -> set[str]:
    """The roles of `to_user`, after checking the request."""
    if not _is_manager(s, actor):
        raise ForbiddenError("only a sales manager or an administrator hands over a rep's work")
    if s.scalar(select(User.id).where(User.username == from_user)) is None:
        raise ValidationError(f"no user '{from_user}'", field="from")
    if from_user == to_user:
        raise ValidationError("hand over to someone else", field="to")
    return _active_roles(s, to_user, "to")


def _check_owner(to_user: str, held: set[str], instance_id: int | None, deals: list[int]) -> None:
    """One deal handed over gets an owner as a new deal would (engine.usecases.deals: an
    owner role).  A rep's whole work may go to anyone active, as it always could."""
    if instance_id is not None and deals and not held & OWNER_ROLES:
        raise ValidationError(
            f"{to_user} may not own a deal: owners hold the role Sales Rep or Sales Manager",
            field="to",
        )


def handover_preview(
    s: Session,
    from_user: str,
    to_user: str,
    *,
    actor: str | None,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """What `hand_over` would move, without moving it."""
    held = _check_handover(s, from_user, to_user, actor)
    deals, tasks = _handover_scope(s, from_user, instance_id, lock=False)
    _check_owner(to_user, held, instance_id, deals)
    queued = sum(1 for t in tasks if t.role is not None and t.role not in held)
    return {
        "from": from_user,
        "to": to_user,
        "deals": len(deals),
        "tasks": len(tasks),
        "queued": queued,
    }


def hand_over(
    s: Session,
    from_user: str,
    to_user: str,
    *,
    actor: str | None,
    now: datetime,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """Give `to_user` everything `from_user` has (or one deal of it): the deals they own,
    their open tasks, and (for everything) their running delegations, in one transaction."""
    held = _check_handover(s, from_user, to_user, actor)
    if instance_id is not None and s.get(Instance, instance_id) is None:
        raise NotFoundError(f"no instance with id '{instance_id}'")
    deals, tasks = _handover_scope(s, from_user, instance_id, lock=True)
    _check_owner(to_user, held, instance_id, deals)
    if deals:
        # One UPDATE, not the ORM: the deals' lock_version stays, so nobody's open form
        # turns stale because its deal changed hands.
        s.execute(update(Instance).where(Instance.id.in_(deals)).values(owner=to_user))
    per_deal: dict[int, int] = defaultdict(int)
    queued = 0
    for row in tasks:
        per_deal[row.instance_id] += 1
        if row.delegated_from == from_user:
            row.delegated_from = None  # what was covered for them is the new person's now
        if row.role is None or row.role in held:
            row.assignee = to_user
        else:
            row.assignee = None
            queued += 1
    if instance_id is None:
        mine = or_(Delegation.from_user == from_user, Delegation.to_user == from_user)
        for d in s.scalars(select(Delegation).where(Delegation.ended_at.is_(None), mine)):
            if d.from_user == from_user:
                d.ended_at = now  # their tasks are the new person's now
            elif d.to_user == from_user:
                d.to_user = to_user  # the new person covers for whom they covered
        # Tasks a colleague took from the queue while the rep was away stay theirs.
        s.execute(
            update(OpenTask).where(OpenTask.delegated_from == from_user).values(delegated_from=None)
        )
    touched = sorted(set(deals) | set(per_deal))
    owned = set(deals)
    _history(
        s,
        [
            {
                "instance_id": iid,
                "at": now,
                "actor": actor,
                "kind": "handover",
                "data": {
                    "from": from_user,
                    "to": to_user,
                    "owner": iid in owned,
                    "tasks": per_deal.get(iid, 0),
                },
            }
            for iid in touched
        ],
    )
    who, giver, taker = _name(s, actor), _name(s, from_user), _name(s, to_user)
    what = (
        f"{len(deals)} deal{'s' if len(deals) != 1 else ''} and {_moved_note(len(tasks), queued)}"
    )
    only = touched[0] if len(touched) == 1 else None
    notify(
        s,
        to_user,
        "handover",
        f"{who} handed over to you the work of {giver}: {what}.",
        instance_id=only,
        now=now,
    )
    if actor != from_user and _is_active(s, from_user):
        notify(
            s,
            from_user,
            "handover",
            f"{who} handed over your work to {taker}: {what}.",
            instance_id=only,
            now=now,
        )
    s.flush()
    return {
        "from": from_user,
        "to": to_user,
        "deals": len(deals),
        "tasks": len(tasks),
        "queued": queued,
    }


def _is_active(s: Session, username: str) -> bool:
    return s.scalar(select(User.active).where(User.username == username)) is True


# --- holidays ------------------------------------------------------------------------------


def delegate(
    s: Session,
    from_user: str,
    to_user: str,
    *,
    ends_at: datetime,
    starts_at: datetime | None = None,
    actor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """While `from_user` is away (from `starts_at`, default now, until `ends_at`) their open
    tasks and new assignments go to `to_user`."""
    if actor != from_user and not _is_manager(s, actor):
        raise ForbiddenError(f"{actor} may delegate only their own work")
    _active_roles(s, from_user, "from")
    _active_roles(s, to_user, "to")
    if from_user == to_user:
        raise ValidationError("choose someone else to cover for you", field="to")
    starts_at = max(starts_at or now, now)
    if ends_at <= starts_at:
        raise ValidationError("the end must be after the start (and in the future)", field="until")
    overlapping = (
        Delegation.ended_at.is_(None)
        & (Delegation.starts_at < ends_at)
        & (Delegation.ends_at.is_(None) | (Delegation.ends_at > starts_at))
    )
    clash = s.scalars(
        select(Delegation).where(
            overlapping,
            or_(
                Delegation.from_user.in_([from_user, to_user]),
                Delegation.to_user == from_user,
            ),
        )
    ).first()
    if clash is not None:
        until = _when(clash.ends_at)
        if clash.from_user == from_user:
            raise ConflictError(
                f"{from_user} is already away until {until} (delegated to "
                f"{clash.to_user}); cancel that first"
            )
        if clash.from_user == to_user:
            raise ValidationError(f"{to_user} is away then (until {until})", field="to")
        raise ValidationError(
            f"{from_user} covers for {clash.from_user} until {until}", field="from"
        )
    row = Delegation(
        from_user=from_user,
        to_user=to_user,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
        created_at=now,
    )
    s.add(row)
    s.flush()
    moved = _start(s, row, now) if starts_at <= now else 0
    away, cover = _name(s, from_user), _name(s, to_user)
    period = f"from {_when(starts_at)} until {_when(ends_at)}"
    notify(
        s,
        to_user,
        "delegated",
        f"You cover for {away} {period}: their tasks and new "
        f"assignments come to you ({moved} open now).",
        now=now,
    )
    if actor != from_user:
        notify(
            s,
            from_user,
            "delegated",
            f"{_name(s, actor)} handed your work to {cover} {period}.",
            now=now,
        )
    return {**delegation_record(row), "moved": moved}


def cancel_delegation(
    s: Session, delegation_id: int, *, actor: str | None, now: datetime
) -> dict[str, Any]:
    """End a delegation now (the rep is back early, or plans changed); the tasks go back."""
    row = s.get(Delegation, delegation_id, with_for_update=_lock(s))
    if row is None:
        raise NotFoundError(f"no delegation {delegation_id}")
    if actor != row.from_user and not _is_manager(s, actor):
        raise ForbiddenError(f"{actor} may cancel only their own delegations")
    if row.ended_at is not None:
        return {**delegation_record(row), "moved": 0}
    moved = _end(s, row, now, actor=actor)
    return {**delegation_record(row), "moved": moved}


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "further notice"


def _start(s: Session, d: Delegation, now: datetime) -> int:
    """Move what the rep holds now to the delegate (or to the queue of a role the delegate
    lacks); each task remembers whom it came from."""
    query = select(OpenTask).where(
        OpenTask.assignee == d.from_user, OpenTask.delegated_from.is_(None)
    )
    rows = list(s.scalars(query.with_for_update() if _lock(s) else query))
    held = users.roles_held(s, d.to_user)
    per_deal: dict[int, int] = defaultdict(int)
    for row in rows:
        row.assignee = d.to_user if row.role is None or row.role in held else None
        row.delegated_from = d.from_user
        per_deal[row.instance_id] += 1
    until = iso(d.ends_at)
    _history(
        s,
        [
            {
                "instance_id": iid,
                "at": now,
                "actor": d.created_by,
                "kind": "delegated",
                "data": {"from": d.from_user, "to": d.to_user, "until": until, "tasks": n},
            }
            for iid, n in sorted(per_deal.items())
        ],
    )
    return len(rows)


def _end(s: Session, d: Delegation, now: datetime, *, actor: str | None) -> int:
    """Give the rep back what was moved for them and is still with the delegate or queued;
    a task someone else took meanwhile stays with them."""
    query = select(OpenTask).where(OpenTask.delegated_from == d.from_user)
    rows = list(s.scalars(query.with_for_update() if _lock(s) else query))
    held = users.roles_held(s, d.from_user)
    per_deal: dict[int, int] = defaultdict(int)
    for row in rows:
        row.delegated_from = None
        if row.assignee in (d.to_user, None) and (row.role is None or row.role in held):
            row.assignee = d.from_user
            per_deal[row.instance_id] += 1
    d.ended_at = now
    _history(
        s,
        [
            {
                "instance_id": iid,
                "at": now,
                "actor": actor,
                "kind": "delegation_ended",
                "data": {"from": d.to_user, "to": d.from_user, "tasks": n},
            }
            for iid, n in sorted(per_deal.items())
        ],
    )
    back = sum(per_deal.values())
    rep, cover = _name(s, d.from_user), _name(s, d.to_user)
    notify(
        s,
        d.from_user,
        "delegation_ended",
        f"Welcome back: your delegation to {cover} "
        f"ended and {_moved_note(back, 0)} came back to you.",
        now=now,
    )
    notify(
        s,
        d.to_user,
        "delegation_ended",
        f"You no longer cover for {rep}; {_moved_note(back, 0)} went back to them.",
        now=now,
    )
    s.flush()
    return back


def end_expired_delegations(db: Database, now: datetime) -> dict[str, int]:
    """The worker's minute job: end the delegations whose end has passed (the tasks go
    back), and move to the delegate what a rep who is away still holds (a delegation that
    began since the last run, or a task the rep took meanwhile).  Two indexed queries when
    nothing is due; safe to run twice or from several workers at once."""
    with db.read() as s:
        ending = list(
            s.scalars(
                select(Delegation.id).where(
                    Delegation.ended_at.is_(None), Delegation.ends_at <= now
                )
            )
        )
        starting = list(
            s.scalars(
                select(Delegation.id)
                .join(OpenTask, OpenTask.assignee == Delegation.from_user)
                .where(running_at(now), OpenTask.delegated_from.is_(None))
                .distinct()
            )
        )
    done = {"ended": 0, "started": 0}
    for key, ids in (("ended", ending), ("started", starting)):
        for delegation_id in ids:
            with db.write() as s:
                query = select(Delegation).where(Delegation.id == delegation_id)
                if _lock(s):
                    query = query.with_for_update(skip_locked=True)
                d = s.scalars(query).first()
                if d is None or d.ended_at is not None:
                    continue  # done meanwhile by another worker
                if key == "ended" and d.ends_at is not None and d.ends_at <= now:
                    _end(s, d, now, actor=None)
                    done["ended"] += 1
                elif key == "started" and d.starts_at <= now:
                    done["started"] += 1 if _start(s, d, now) else 0
    return done


class HandoverCases(UseCases):
    """People covering for people: one task reassigned, a rep's work handed over, delegations."""

    def reassign(self, task_id: str, to_user: str, *, actor: str | None) -> dict[str, Any]:
        """Give one open task to another user holding its lane's role."""
        with self.db.write() as s:
            row = lock_open_task(s, task_id, sqlite=self.db.is_sqlite)
            return reassign(s, row, to_user, actor=actor, now=clock.now())

    def handover_preview(
        self, from_user: str, to_user: str, *, actor: str | None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """How many deals and tasks `hand_over` would move (nothing is changed)."""
        iid = parse_id(instance_id) if instance_id is not None else None
        with self.db.read() as s:
            return handover_preview(s, from_user, to_user, actor=actor, instance_id=iid)

    def hand_over(
        self, from_user: str, to_user: str, *, actor: str | None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """Everything `from_user` has (or one deal of it) to `to_user`, in one transaction."""
        iid = parse_id(instance_id) if instance_id is not None else None
        with self.db.write() as s:
            return hand_over(s, from_user, to_user, actor=actor, now=clock.now(), instance_id=iid)

    def delegate(
        self,
        from_user: str,
        to_user: str,
        *,
        until: Moment,
        starts: Moment | None = None,
        actor: str | None,
    ) -> dict[str, Any]:
        """`from_user`'s work goes to `to_user` until `until` (a date: to its end)."""
        ends_at = as_time(until, end=True)
        starts_at = as_time(starts) if starts not in (None, "") else None
        with self.db.write() as s:
            return delegate(
                s,
                from_user,
                to_user,
                ends_at=ends_at,
                starts_at=starts_at,
                actor=actor,
                now=clock.now(),
            )

    def cancel_delegation(self, delegation_id: int, *, actor: str | None) -> dict[str, Any]:
        with self.db.write() as s:
            return cancel_delegation(s, delegation_id, actor=actor, now=clock.now())

    def delegations(self, user: str | None = None) -> list[dict[str, Any]]:
        """Delegations not ended yet, from or to `user` (everyone's without)."""
        with self.db.read() as s:
            return delegations(s, user)
