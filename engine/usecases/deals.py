"""Deals: starting one, the lists, one deal with its history, its value and expected close
date, comments, who may see which deal (the rule is engine.usecases.access's), who may start
which process and who may own a deal.  The board is engine.usecases.board's; outcomes and
marking a deal lost engine.usecases.outcomes'.

A deal's value (`amount`) and expected close date are given when it starts (`deal_basics`
checks them for the form, the API and the command line alike) and changed afterwards by its
owner or a manager (`update_deal`).  The process's own figure wins when it changes: the data's
`amount`, else its quote's price less the discount (engine.store.changes.deal_value), so the
estimate made at the start gives way to the quote, and a quote sent back and made again
replaces the value again; an edit in between stands until then.

Who may start a process (`check_starter`): an active user holding one of the roles its
`startRoles` property lists, or the owner roles when it lists none, or an admin
(engine.core.starters); the rule of the process's latest version holds whichever version is
started.  Who may own a deal (`check_owner`): the person starting it, or an active user
holding an owner role (Sales Rep, Sales Manager).  `Service.start` applies both, to the
acting user or, when none is named (the command line without --user), to the owner it
starts the deal for; so the lead form, the initiatives, the API and the command line refuse
alike.  The form offers `startable` processes and `deal_owners`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.clock import iso
from engine.core import runtime
from engine.core.definitions import form_name
from engine.core.forms import check_data
from engine.core.records import Deal, DealSummary, HistoryEntry, StartedDeal
from engine.core.roles import DEAL_OWNERS, TEAM_ROLES, role_key
from engine.core.starters import may_start
from engine.core.version import VersionRuntime
from engine.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.store import changes, users
from engine.store import deployments as versions
from engine.store import team_settings as settings
from engine.store.db import Database
from engine.store.models import (
    Customer,
    History,
    Instance,
    OpenTask,
)
from engine.store.plans import Unindexed
from engine.store.records import SUMMARY_COLUMNS, history_record, instance_summary, task_record
from engine.store.stale import is_stale, stale_among, stale_clause
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.outcomes import check_may_change, deal_summary
from engine.usecases.unit import parse_id, run_step

# Who may own a deal besides the person starting it.
OWNER_ROLES = DEAL_OWNERS
# Role keys as people read them, for messages.
_ROLE_NAMES = {role_key(r): r for r in TEAM_ROLES}


# --- a deal's basics: its value and expected close date ------------------------------------

BASICS = ("amount", "expected_close")
MAX_AMOUNT = changes.MAX_AMOUNT  # a value is below it (Instance.amount is Numeric(16, 2))
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CENT = Decimal("0.01")


def deal_amount(value: Any) -> Decimal | None:
    """A deal's value as given: a number from 0 (or its text, from a form or the command
    line: "240000", "240,000.50"), in cents; None for none.  ValidationError on the field
    `amount` for anything else, and from MAX_AMOUNT on."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    problem = ValidationError("must be a number of 0 or more, such as 240000", field="amount")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise problem
    text = value.strip().replace(",", "").lstrip("¥￥") if isinstance(value, str) else str(value)
    if len(text) > 40:
        raise problem
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise problem from None
    if not number.is_finite() or number < 0 or number >= MAX_AMOUNT:
        raise problem
    number = number.quantize(_CENT)
    if number >= MAX_AMOUNT:
        raise problem
    return number


def close_date(value: Any) -> date | None:
    """An expected close date as given: YYYY-MM-DD (or a date); None for none.
    ValidationError on the field `expected_close` for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(
        "must be a date written YYYY-MM-DD, such as 2026-06-30", field="expected_close"
    )


def deal_basics(values: Mapping[str, Any]) -> dict[str, Any]:
    """A deal's value and expected close date as given (`BASICS`; a key left out is left
    as it is, None clears it), checked: column -> value.  ValidationError naming the first
    bad field, with every bad one in `errors`."""
    parsed: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for key, value in values.items():
        try:
            if key == "amount":
                parsed[key] = deal_amount(value)
            elif key == "expected_close":
                parsed[key] = close_date(value)
            else:
                raise ValidationError(f"not a deal field: give {' or '.join(BASICS)}", field=key)
        except ValidationError as exc:
            errors.append({"field": key, "message": str(exc)})
    if errors:
        raise ValidationError(errors[0]["message"], field=errors[0]["field"], errors=errors)
    return parsed


def basic_as_json(value: Any) -> Any:
    """A basic as the history keeps it (JSON)."""
    if isinstance(value, Decimal):
        return float(value)
    return value.isoformat() if isinstance(value, date) else value


def may_own(user: Mapping[str, Any]) -> bool:
    """Whether a user's record (`Service.users()`) may own deals: active, with an owner role."""
    return bool(user["active"]) and bool({role_key(r) for r in user["roles"]} & OWNER_ROLES)


def check_owner(s: Session, owner: str, actor: str | None) -> set[str]:
    """The roles of `owner`, who may own a deal `actor` starts: `actor` themselves, or an
    active user holding an owner role.  NotFoundError for an unknown or inactive owner,
    ValidationError (on the field `owner`) for one without an owner role."""
    roles = users.roles_of(s, owner)
    if owner != actor and not roles & OWNER_ROLES:
        raise ValidationError(
            f"{owner} may not own a deal: owners hold the role Sales Rep or Sales Manager",
            field="owner",
        )
    return roles


def check_starter(vr: VersionRuntime, starter: str, roles: set[str]) -> None:
    """ForbiddenError unless `starter`, holding `roles`, may start the process of `vr`: one
    of its start roles, or admin (engine.core.starters)."""
    if not may_start(roles, vr.start_roles):
        allowed = ", ".join(sorted(_ROLE_NAMES.get(r, r) for r in vr.start_roles))
        raise ForbiddenError(
            f"{starter} may not start the process '{vr.process_id}': it is started by "
            f"{allowed} (and admins)"
        )


def deal_sla(db: Database, instance_id: int, now: datetime | None = None) -> dict[str, Any]:
    """A deal's time flags for its page: escalated since when, stale or not, last activity,
    and per open task its escalation role and when it was escalated (escalation itself is
    engine.jobs.escalation's)."""
    now = now or clock.now()
    with db.read() as s:
        row = s.execute(
            select(
                Instance.escalated_at,
                Instance.activity_at,
                Instance.created_at,
                Instance.status,
                Instance.stage,
            ).where(Instance.id == instance_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no instance with id '{instance_id}'")
        stale = is_stale(
            settings.stale_days(s),
            now,
            status=row.status,
            stage=row.stage,
            activity_at=row.activity_at,
            created_at=row.created_at,
        )
        tasks = s.execute(
            select(OpenTask.task_id, OpenTask.escalate_to, OpenTask.escalated_at).where(
                OpenTask.instance_id == instance_id
            )
        )
        return {
            "escalated_at": iso(row.escalated_at),
            "activity_at": iso(row.activity_at),
            "stale": stale,
            "tasks": {
                tid: {"escalate_to": role, "escalated_at": iso(at)} for tid, role, at in tasks
            },
        }


def _latest_id(s: Session, process_id: str) -> int:
    return versions.version_id(s, process_id, None)


# What a deal list can be sorted by (pages, API, CLI alike).
SORTS: dict[str, Any] = {
    "deal": Instance.name,
    "stage": Instance.stage,
    "owner": Instance.owner,
    "amount": Instance.amount,
    "expected_close": Instance.expected_close,
    "tier": Instance.tier,
    "source": Instance.lead_source,
    "status": Instance.status,
    "created": Instance.created_at,
    "updated": Instance.updated_at,
}
# The query parameters of the deal list (page and API: `instances` takes them as process,
# status, owner, stage, tier, lead_source, search, stale, sort); what a saved view of the
# list may keep (engine.usecases.saved_filters).
LIST_FILTERS = ("stage", "owner", "status", "tier", "source", "process", "stale", "q")
LIST_PARAMETERS = (*LIST_FILTERS, "sort")


def _as_is(column: Any) -> Any:
    return column


def sort_order(sort: str | None) -> list[Any]:
    """The ORDER BY of a deal list sorted by `sort` ("amount", "-amount", ...): empty values
    last either way, then the deal id; ValidationError naming `sort` for an unknown key."""
    if not sort:
        return [Instance.id]
    key = sort.removeprefix("-")
    column = SORTS.get(key)
    if column is None:
        raise ValidationError(f"sort by one of {', '.join(sorted(SORTS))}", field="sort")
    if sort.startswith("-"):
        return [column.is_(None), column.desc(), Instance.id.desc()]
    return [column.is_(None), column.asc(), Instance.id]


class DealCases(UseCases):
    """Start, list, show and comment on deals."""

    def start(
        self,
        process_id: str,
        *,
        deal: str | None = None,
        owner: str | None = None,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
        version: int | None = None,
        amount: Any = None,
        expected_close: Any = None,
        then: Callable[[Session, Instance], None] | None = None,
        customer_id: int | str | None = None,
    ) -> StartedDeal:
        """Start a deal on the latest (or the given) version of a process, with its value
        (`amount`, a number from 0) and expected close date (YYYY-MM-DD) when given; when no
        value is given, the start data's (changes.deal_value).  The deal is the customer's
        named by `customer_id` (one the starter may see; its name is the data's `company`
        when the data names none), else the customer of the data's `company`, found by name
        or created (engine.usecases.customers.link_deal).  `then(s, inst)` writes what a
        caller keeps beside the new instance, in the same transaction."""
        # Imported here: the customers' rules build on this module's (check_owner).
        from engine.usecases import customers

        data = dict(data or {})
        basics = deal_basics({"amount": amount, "expected_close": expected_close})
        with self.space.write() as unit:
            s = unit.s
            vr = unit.version(versions.version_id(s, process_id, version))
            if owner is not None:
                unit.roles[owner] = check_owner(s, owner, actor)
            starter = actor if actor is not None else owner
            if starter is not None:
                # The process's rule today, whichever version is started.
                latest = vr if version is None else unit.version(_latest_id(s, process_id))
                roles = unit.roles[owner] if starter == owner else users.roles_of(s, starter)
                check_starter(latest, starter, roles)
            chosen = None
            if customer_id is not None:
                chosen = customers.chosen_customer(s, customer_id, starter)
                if not data.get("company"):
                    data["company"] = chosen.name
            start_form = form_name(vr.spec.start.outputs[0]) if vr.spec.start.outputs else None
            if start_form in vr.validators:
                check_data(vr.validators[start_form], data)
            wf = runtime.new_workflow(vr.spec, vr.subprocess_specs, data)
            now = clock.now()
            change = runtime.Change(wf)
            run_step(change.engine_steps)
            inst = Instance(
                version_id=vr.version_id,
                process_id=vr.process_id,
                version_number=vr.version,
                name=(deal or data.get("company") or vr.name)[:300],
                owner=owner,
                visited={},
                created_at=now,
                **basics,
            )
            # Before the save, so that the grading at the start reaches the customer too.
            customers.link_deal(s, inst, chosen, data.get("company"), owner or actor)
            started = {
                "at": now,
                "actor": actor or owner,
                "kind": "started",
                "data": runtime.json_safe(data),
            }
            unit.new_deal(vr, wf, change, inst).save(
                actor=actor or owner, now=now, new=True, first=started
            )
            if deal is None and not data.get("company"):
                inst.name = f"{vr.name} #{inst.id}"[:300]
                s.flush()
            if then is not None:
                then(s, inst)
            return {
                "instance_id": str(inst.id),
                "process_id": inst.process_id,
                "version": inst.version_number,
                "status": inst.status,
            }

    def instances(
        self,
        *,
        process: str | None = None,
        status: str | None = None,
        owner: str | None = None,
        stage: str | None = None,
        tier: str | None = None,
        lead_source: str | None = None,
        search: str | None = None,
        visible_to: str | None = None,
        ids: Iterable[str | int] | None = None,
        stale: bool = False,
        limit: int | None = None,
        offset: int = 0,
        sort: str | None = None,
    ) -> list[DealSummary]:
        """Deals, filtered; with `visible_to` only those that user may see (engine.usecases.access);
        with `stale` only the stale ones (engine.store.stale); ordered by `sort` (a key of
        SORTS, "-" before it for descending; oldest first without one)."""
        order = sort_order(sort)
        # A page of the list is found in the index that holds what deals are filtered and
        # sorted by (ix_instance_list, in id order) and only its rows are read: on SQLite a
        # deal's row carries its workflow, and skipping 50,000 of them to page 1,000 took
        # most of a second (engine.store.plans).
        paged = limit is not None
        column = Unindexed if paged else _as_is
        with self.db.read() as s:
            where: list[Any] = []
            for field, value in (
                (Instance.process_id, process),
                (Instance.status, status),
                (Instance.owner, owner),
                (Instance.stage, stage),
                (Instance.tier, tier),
                (Instance.lead_source, lead_source),
            ):
                if value is not None:
                    where.append(column(field) == value)
            if search:
                where.append(Instance.name.icontains(search, autoescape=True))
            if ids is not None:
                where.append(Instance.id.in_(sorted({parse_id(i) for i in ids})))
            if visible_to is not None:
                roles = users.roles_of(s, visible_to)
                team = access.team_deals_shared(s)
                where.append(access.visible_deals(visible_to, roles, team=team, scan=paged))
            if stale:
                where.append(stale_clause(settings.stale_days(s), clock.now()))
            query = select(*SUMMARY_COLUMNS).order_by(*order)  # rows: no ORM objects needed
            if paged:
                page = select(Instance.id).where(*where).order_by(*order)
                where = [Instance.id.in_(page.limit(limit).offset(offset))]
            return [deal_summary(instance_summary(i)) for i in s.execute(query.where(*where))]

    def show(self, instance_id: str | int) -> Deal:
        """Everything about one deal, read from its rows (no workflow is loaded)."""
        iid = parse_id(instance_id)
        with self.db.read() as s:
            inst = s.get(Instance, iid, options=[defer(Instance.state)])
            if inst is None:
                raise NotFoundError(f"no instance with id '{instance_id}'")
            tasks = s.scalars(
                select(OpenTask).where(OpenTask.instance_id == iid).order_by(OpenTask.created_at)
            )
            history = s.scalars(
                select(History).where(History.instance_id == iid).order_by(History.id)
            )
            customer = (
                s.scalar(select(Customer.name).where(Customer.id == inst.customer_id))
                if inst.customer_id is not None
                else None
            )
            return {
                **deal_summary(instance_summary(inst)),
                "customer_id": inst.customer_id if customer is not None else None,
                "customer": customer,
                "position": dict(inst.position),
                "data": inst.data,
                "tasks": [task_record(t) for t in tasks],
                "timers": list(inst.timers),
                "error": inst.error,
                "history": [history_record(h) for h in history],
            }

    def update_deal(
        self, instance_id: str | int, *, user: str, values: Mapping[str, Any]
    ) -> DealSummary:
        """Set a deal's value and expected close date (`deal_basics`: the keys given, None
        clears one), by its owner or a manager (engine.usecases.outcomes.may_change), in
        any status: a won deal's value may be corrected.  The history keeps what changed
        and what it was; a change of nothing writes nothing."""
        iid = parse_id(instance_id)
        wanted = deal_basics(values)
        with self.space.write() as unit:
            s = unit.s
            inst = unit.lock(iid, status=None)
            check_may_change(s, inst, user)
            before = {k: getattr(inst, k) for k, v in wanted.items() if getattr(inst, k) != v}
            if before:
                now = clock.now()
                for key in before:
                    setattr(inst, key, wanted[key])
                inst.updated_at = now
                if inst.status == "running":
                    inst.activity_at = now  # someone worked on it (engine.store.stale)
                try:
                    s.flush()
                except StaleDataError as exc:
                    raise ConflictError(
                        f"deal {iid} was changed by someone else at the same time; nothing "
                        "was saved"
                    ) from exc
                data = {k: basic_as_json(wanted[k]) for k in before}
                data["before"] = {k: basic_as_json(v) for k, v in before.items()}
                s.add(History(instance_id=iid, at=now, actor=user, kind="updated", data=data))
            return deal_summary(instance_summary(inst))

    def start_form(self, process_id: str, version: int | None = None) -> dict[str, Any] | None:
        """The schema of a process's start form (latest version unless given), if any."""
        with self.db.read() as s:
            row = versions.version_row(s, process_id, version)
            return self.version(s, row.id).start_form()

    def comment(self, instance_id: str | int, *, user: str, text: str) -> HistoryEntry:
        """Add a comment to a deal's timeline."""
        iid = parse_id(instance_id)
        text = text.strip()
        if not text or len(text) > 5000:
            raise ValidationError("a comment is 1-5000 characters", field="text")
        with self.db.write() as s:
            roles = users.roles_of(s, user)
            if s.get(Instance, iid) is None:
                raise NotFoundError(f"no instance with id '{instance_id}'")
            if not access.may_see(s, user, roles, iid):
                # A colleague's deal the team shares is read only (engine.usecases.access).
                raise ForbiddenError(
                    f"{user} may read deal {iid} but not comment on it: it is a colleague's"
                )
            row = History(
                instance_id=iid, at=clock.now(), actor=user, kind="comment", data={"text": text}
            )
            s.add(row)
            s.flush()
            changes.note_activity(s, iid, row.at)
            return history_record(row)

    def may_see(self, username: str, instance_id: str | int) -> bool:
        """The visibility rule of engine.usecases.access for one deal."""
        iid = parse_id(instance_id)
        with self.db.read() as s:
            roles = users.roles_of(s, username)
            return access.may_see(s, username, roles, iid, team=access.team_deals_shared(s))

    def may_start(self, username: str, process_id: str) -> bool:
        """Whether `username` may start `process_id` (`check_starter`); False for a process
        not deployed and for a user who is not active."""
        return process_id in {p["process_id"] for p in self.startable(username)}

    def startable(self, username: str) -> list[dict[str, str]]:
        """The deployed processes `username` may start (`check_starter`), by id, each with
        its name; none for a user who is not active."""
        with self.db.read() as s:
            try:
                roles = users.roles_of(s, username)
            except NotFoundError:
                return []
            return [
                {"process_id": pid, "name": name}
                for pid, name, vid in versions.latest_versions(s)
                if may_start(roles, self.version(s, vid).start_roles)
            ]

    def deal_owners(self, actor: str) -> list[dict[str, Any]]:
        """Who `actor` may give a new deal to (`check_owner`), as user records: the active
        holders of an owner role, and `actor` first when not one of them."""
        with self.db.read() as s:
            everyone = users.list_users(s)
        found = [u for u in everyone if may_own(u)]
        if all(u["username"] != actor for u in found):
            found[:0] = [u for u in everyone if u["username"] == actor]
        return found

    def deal_sla(self, instance_id: str | int) -> dict[str, Any]:
        """A deal's time flags for its page (`deal_sla`)."""
        return deal_sla(self.db, parse_id(instance_id))

    def stale_among(self, deals: Iterable[Mapping[str, Any]]) -> set[str]:
        """Which of the deal records already read (a page of the list, the board's cards) are
        stale now, ids as strings (engine.store.stale)."""
        return stale_among(self.db, deals)
