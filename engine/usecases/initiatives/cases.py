"""`InitiativeCases`: the initiative use cases, each a method of `Service` (see the package's
docstring for the rules they keep)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.initiatives import (
    LEAD_ROLE,
    PLAN_FIELDS,
    PROCESS,
    REVIEWS_SHOWN,
    ROW_STATUSES,
    checked_text,
    effective_moment,
    flow_nodes,
    known_fields,
    plans,
)
from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import deployments as versions
from engine.store import team_settings as settings
from engine.store import users
from engine.store.models import (
    DefinitionVersion,
    Initiative,
    InitiativeReview,
    InitiativeRow,
    Instance,
)
from engine.usecases.deals import DealCases, check_starter
from engine.usecases.initiatives import table
from engine.usecases.initiatives.effect import measure_effect
from engine.usecases.initiatives.review import count_blocked, drive
from engine.usecases.initiatives.table import review_record, row_record, summary
from engine.usecases.notices import Notices
from engine.usecases.texts import texts_of

__all__ = ["InitiativeCases"]


class InitiativeCases(DealCases):
    """Optimisation initiatives: their execution tables, weekly reviews and effect.  An
    initiative is a deal of its own process, started as every deal is (DealCases.start)."""

    def initiatives(self) -> list[dict[str, Any]]:
        """Every initiative, newest first, with how many of its rows are in each status and
        how many are flagged."""
        with self.db.read() as s:
            found = s.execute(
                select(Initiative, Instance.status)
                .outerjoin(Instance, Instance.id == Initiative.instance_id)
                .order_by(Initiative.id.desc())
            ).all()
            counts: dict[int, dict[str, int]] = {}
            for iid, status, flagged, n in s.execute(
                select(
                    InitiativeRow.initiative_id,
                    InitiativeRow.status,
                    InitiativeRow.flagged,
                    func.count(),
                ).group_by(InitiativeRow.initiative_id, InitiativeRow.status, InitiativeRow.flagged)
            ):
                mine = counts.setdefault(iid, {**dict.fromkeys(ROW_STATUSES, 0), "flagged": 0})
                mine[status] += n
                if flagged:
                    mine["flagged"] += n
            empty = {**dict.fromkeys(ROW_STATUSES, 0), "flagged": 0}
            return [
                {**summary(ini, status), "counts": counts.get(ini.id, dict(empty))}
                for ini, status in found
            ]

    def initiative(self, initiative_id: int | str, *, with_effect: bool = True) -> dict[str, Any]:
        """One initiative: its rows in table order, its latest reviews and its effect."""
        with self.db.read() as s:
            ini = table.find(s, initiative_id)
            status = None
            if ini.instance_id is not None:
                status = s.scalar(select(Instance.status).where(Instance.id == ini.instance_id))
            rows = table.rows_of(s, ini)
            reviews = s.scalars(
                select(InitiativeReview)
                .where(InitiativeReview.initiative_id == ini.id)
                .order_by(InitiativeReview.id.desc())
                .limit(REVIEWS_SHOWN)
            )
            result = {
                **summary(ini, status),
                "rows": [row_record(r) for r in rows],
                "reviews": [review_record(r) for r in reviews],
            }
            if with_effect:
                result["effect"] = measure_effect(self.space, s, ini, rows)
            return result

    def initiative_elements(
        self, process_id: str, *, lang: str | None = None
    ) -> list[dict[str, str]]:
        """The elements a row may link: the flow nodes of the process's current version,
        named in `lang`."""
        with self.db.read() as s:
            graph, _version = table.process_graph(self.space, s, process_id)
            nodes = {n.id: n for n in graph.nodes}
            row = versions.version_row(s, process_id, None)
            texts = texts_of(self, s, row.id, lang)
            return [
                {"id": eid, "name": texts.name(eid, name) or name, "kind": nodes[eid].kind}
                for eid, name in flow_nodes(graph, process_id).items()
            ]

    def initiative_rights(self, initiative_id: int | str, username: str) -> dict[str, Any]:
        """What `username` may do on an initiative: `plan` (add rows, change any field,
        record reviews) and `rows`, the ids of the rows whose progress they may update."""
        with self.db.read() as s:
            ini = table.find(s, initiative_id)
            planner = plans(users.roles_of(s, username), ini.lead, username)
            query = select(InitiativeRow.id).where(InitiativeRow.initiative_id == ini.id)
            if not planner:
                query = query.where(InitiativeRow.owner == username)
            return {"plan": planner, "rows": sorted(s.scalars(query))}

    def check_may_create_initiative(self, actor: str) -> None:
        """ForbiddenError unless `actor` may start the initiative process (its startRoles,
        as for every process): for a caller that asks before it reads what to create."""
        with self.db.read() as s:
            check_starter(self.version(s, _process_row(s).id), actor, users.roles_of(s, actor))

    def create_initiative(
        self,
        *,
        name: str,
        process_id: str,
        lead: str,
        actor: str,
        effective_at: Any = None,
    ) -> dict[str, Any]:
        """Start the initiative process for `lead` and keep the initiative beside it: checked
        first, then both written in one transaction (DealCases.start's `then`)."""
        with self.db.read() as s:
            # Who starts the initiative process, as for every process (DealCases.start checks
            # it again): its startRoles, the Sales Manager, and admins.
            check_starter(self.version(s, _process_row(s).id), actor, users.roles_of(s, actor))
            name = checked_text(name, "name", required=True)
            process_id = _deployed(s, process_id)
            lead = _lead(s, lead)
            moment = effective_moment(effective_at, settings.sla_calendar(s), clock.now())
        made: list[Initiative] = []

        def keep(s: Session, inst: Instance) -> None:
            ini = Initiative(
                instance_id=inst.id,
                name=name,
                process_id=process_id,
                lead=lead,
                effective_at=moment,
                created_at=clock.now(),
                created_by=actor,
            )
            s.add(ini)
            s.flush()
            made.append(ini)

        started = self.start(PROCESS, deal=name, owner=lead, actor=actor, then=keep)
        return {**summary(made[0], started["status"]), "rows": [], "reviews": []}

    def add_initiative_row(
        self, initiative_id: int | str, fields: Mapping[str, Any], *, actor: str
    ) -> dict[str, Any]:
        """A new row at the end of the execution table (the lead, sales managers, admins)."""
        known_fields(fields)
        with self.db.write() as s:
            ini = table.find(s, initiative_id, lock=True)
            if not plans(users.roles_of(s, actor), ini.lead, actor):
                raise ForbiddenError(
                    "only the initiative's lead, sales managers and admins add rows to its table"
                )
            if "task" not in fields:
                raise ValidationError("must not be empty", field="task")
            if "owner" not in fields:
                raise ValidationError(
                    "exactly one person owns a task: give a user name", field="owner"
                )
            last = s.scalar(
                select(func.max(InitiativeRow.position)).where(
                    InitiativeRow.initiative_id == ini.id
                )
            )
            row = InitiativeRow(
                initiative_id=ini.id,
                position=(last or 0) + 1,
                stage="",
                task="",
                owner="",
                status="not started",
                notes="",
                contact="",
                elements=[],
                blocked_reviews=0,
                flagged=False,
            )
            table.apply(self.space, s, ini, row, fields, actor)
            s.add(row)
            s.flush()
            return row_record(row)

    def update_initiative_row(
        self,
        initiative_id: int | str,
        row_id: int | str,
        changes: Mapping[str, Any],
        *,
        actor: str,
    ) -> dict[str, Any]:
        """Change the fields given (PATCH): any of them for the lead, sales managers and
        admins, the progress fields for the row's owner."""
        known_fields(changes)
        with self.db.write() as s:
            ini = table.find(s, initiative_id)
            row = self._changed_row(s, ini, row_id, changes, actor, users.roles_of(s, actor))
            s.flush()
            return row_record(row)

    def update_initiative_rows(
        self,
        initiative_id: int | str,
        rows: Mapping[Any, Mapping[str, Any]],
        *,
        actor: str,
    ) -> list[dict[str, Any]]:
        """The execution table saved at once: row id -> the fields sent for it.  Only the
        fields whose value differs from the row's are changed (a row sent as it is keeps its
        `updated_at`), each by the rule of `update_initiative_row`.  All rows or none: a bad
        field anywhere changes nothing, and the ValidationError lists every bad field of every
        row (`errors`, fields named "<row id>.<field>").  Returns the rows changed."""
        if not isinstance(rows, Mapping):
            raise ValidationError("must be an object: row id -> its fields", field="rows")
        for changes in rows.values():
            known_fields(changes)
        with self.db.write() as s:
            ini = table.find(s, initiative_id)
            roles = users.roles_of(s, actor)
            changed: list[InitiativeRow] = []
            errors: list[dict[str, str]] = []
            for row_id, sent in rows.items():
                row = self._row(s, ini, row_id)
                _check_may_change(row, ini, sent, actor, roles)  # what is sent, changed or not
                current = row_record(row)
                differs = {k: v for k, v in sent.items() if not _same(k, v, current[k])}
                if not differs:
                    continue
                try:
                    self._changed_row(s, ini, row.id, differs, actor, roles)
                except ValidationError as exc:
                    errors.append({"field": f"{row.id}.{exc.field}", "message": str(exc)})
                    continue
                changed.append(row)
            if errors:
                first = errors[0]
                raise ValidationError(first["message"], field=first["field"], errors=errors)
            s.flush()
            return [row_record(r) for r in changed]

    def _row(self, s: Session, ini: Initiative, row_id: int | str) -> InitiativeRow:
        try:
            rid = int(row_id)
        except (TypeError, ValueError):
            raise NotFoundError(f"no row '{str(row_id)[:40]}' in initiative {ini.id}") from None
        row = s.get(InitiativeRow, rid, with_for_update=not self.db.is_sqlite)
        if row is None or row.initiative_id != ini.id:
            raise NotFoundError(f"no row '{row_id}' in initiative {ini.id}")
        return row

    def _changed_row(
        self,
        s: Session,
        ini: Initiative,
        row_id: int | str,
        changes: Mapping[str, Any],
        actor: str,
        roles: set[str],
    ) -> InitiativeRow:
        """One row changed by `actor` (holding `roles`), by the rule of
        `update_initiative_row`."""
        row = self._row(s, ini, row_id)
        _check_may_change(row, ini, changes, actor, roles)
        table.apply(self.space, s, ini, row, changes, actor)
        return row

    def record_review(
        self, initiative_id: int | str, *, actor: str, notes: str = ""
    ) -> dict[str, Any]:
        """The weekly review: counts the blocked rows, flags those blocked at three
        consecutive reviews and drives the initiative's process (see the package's
        docstring)."""
        notes = checked_text(notes, "notes")
        now = clock.now()
        with self.space.write() as unit:
            s = unit.s
            ini = table.find(s, initiative_id, lock=True)
            roles = users.roles_of(s, actor)
            if not plans(roles, ini.lead, actor):
                raise ForbiddenError(
                    "only the initiative's lead, sales managers and admins record its reviews"
                )
            rows = table.rows_of(s, ini)
            blocked, newly_flagged = count_blocked(rows)
            review = InitiativeReview(
                initiative_id=ini.id, at=now, by=actor, blocked_rows=blocked, notes=notes
            )
            s.add(review)
            s.flush()
            longest = max((r.blocked_reviews for r in rows), default=0)
            done = bool(rows) and all(r.status == "done" for r in rows)
            process = drive(unit, ini, actor, roles, longest, done, notes)
            notices = Notices(s)  # the lead in their language
            for row in newly_flagged:
                notices.tell(
                    ini.lead,
                    "initiative_flagged",
                    "initiative_flagged",
                    instance_id=ini.instance_id,
                    task_id=process.get("re_evaluation_task"),
                    now=now,
                    initiative=ini.name,
                    step=row.task,
                    owner=row.owner,
                    reviews=row.blocked_reviews,
                )
            return {
                **review_record(review),
                "flagged_rows": [r.id for r in rows if r.flagged],
                "process": process,
            }


def _deployed(s: Session, process_id: Any) -> str:
    """The sales process an initiative improves: deployed, as the initiative process is."""
    if not isinstance(process_id, str) or not process_id.strip():
        raise ValidationError("name the sales process the initiative improves", field="process_id")
    process_id = process_id.strip()
    try:
        versions.version_row(s, process_id, None)
    except NotFoundError:
        raise ValidationError(f"no deployed process '{process_id}'", field="process_id") from None
    return process_id


def _process_row(s: Session) -> DefinitionVersion:
    """The latest version of the initiative process; ConflictError when it is not deployed."""
    try:
        return versions.version_row(s, PROCESS, None)
    except NotFoundError:
        raise ConflictError(
            f"the initiative process '{PROCESS}' is not deployed (salesflow deploy processes)"
        ) from None


def _lead(s: Session, lead: Any) -> str:
    """The lead: one active user holding the Sales Manager role, the lane of the initiative
    process's tasks."""
    if not isinstance(lead, str) or not lead.strip():
        raise ValidationError("name the lead: one user", field="lead")
    lead = lead.strip()
    try:
        lead_roles = users.roles_of(s, lead)
    except NotFoundError:
        raise ValidationError(f"no active user '{lead}'", field="lead") from None
    if LEAD_ROLE not in lead_roles:
        raise ValidationError(
            f"{lead} does not hold the Sales Manager role: the initiative's tasks are in "
            "that lane, so its lead must hold it",
            field="lead",
        )
    return lead


def _check_may_change(
    row: InitiativeRow, ini: Initiative, fields: Mapping[str, Any], actor: str, roles: set[str]
) -> None:
    """ForbiddenError unless `actor` may change these fields of the row: any of them for the
    lead, sales managers and admins, the progress fields for the row's owner."""
    if plans(roles, ini.lead, actor):
        return
    if row.owner != actor:
        raise ForbiddenError(
            "only the initiative's lead, sales managers, admins and the row's owner change a row"
        )
    plan = sorted(set(fields) & set(PLAN_FIELDS))
    if plan:
        raise ForbiddenError(
            f"the plan of a row ({', '.join(plan)}) is the lead's; its owner updates the "
            "status, the actual date, the notes and the contact"
        )


def _same(key: str, sent: Any, current: Any) -> bool:
    """Whether a field sent holds the row's value already (a date as text or none, text
    with the spaces the engine strips, the elements in any order)."""
    if key == "elements":
        return isinstance(sent, list | tuple) and sorted(map(str, sent)) == sorted(current)
    if sent is None or sent == "":
        return current in (None, "")
    if isinstance(sent, str):
        return sent.strip() == (current or "")
    return bool(sent == current)
