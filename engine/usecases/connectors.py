"""HTTP connectors of service tasks (issue 18): who manages what, and the two transactions
around each call the worker makes (engine.jobs.connectors makes the call between them).

Admins keep the list of hosts connectors may call and the named secrets their headers use;
a secret's value is never shown back (pages list the names, which designers may read to
write `{{secret:NAME}}`).  Managers and admins see the recent calls, as they see incidents.

A call goes: `prepare_connector_call` (one short transaction: the waiting task's request
built from the deal's data and the secrets, the call claimed for a while so that a second
worker leaves it alone), the HTTP request outside any transaction, then
`finish_connector_call` (one transaction, the deal locked as every change locks it): the
response mapped into the deal's data and the task completed, or the failure counted and the
call put off as the model's retries say, or, retries spent, the task in error: an incident,
the deal staying where it was until a manager retries, skips or cancels it
(engine.usecases.incidents; a retry makes the task wait for a new call).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.core.connectors import (
    Connector,
    ConnectorError,
    Request,
    build_operator_request,
    build_request,
    map_response,
    operator_connector,
    retry_delay,
)
from engine.core.failures import describe_failure, task_failure
from engine.core.roles import ADMIN, DESIGNERS, MANAGERS
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.store import connectors as store
from engine.store import users
from engine.store.models import AllowedHost, ConnectorCall
from engine.usecases.base import UseCases
from engine.usecases.unit import DealChange, UnitOfWork, retried

__all__ = [
    "CONNECTOR_READERS",
    "CallOutcome",
    "ConnectorCases",
    "PreparedCall",
    "may_manage_connectors",
]

_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)
_IPV6 = re.compile(r"^[0-9a-f:.]{2,45}$")
_OPERATOR_NAME = re.compile(r"^[A-Za-z][\w.-]{0,59}(/[A-Za-z][\w.-]{0,59})?$")
OPERATOR_LINES = ("method", "url", "headers", "fields", "results", "timeout", "retries")
_SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,79}$")
MAX_SECRET = 4000
# How long a claimed call is left alone by other workers: past the longest timeout.
CLAIM = timedelta(seconds=120)


CONNECTOR_READERS = DESIGNERS  # who sees the connectors page: hosts and secret names


def may_manage_connectors(roles: set[str] | frozenset[str]) -> bool:
    """Whether someone holding `roles` may change hosts and secrets (admins)."""
    return ADMIN in roles


def _admin(s: Any, user: str) -> None:
    if ADMIN not in users.roles_of(s, user):
        raise ForbiddenError(f"{user} may not manage connectors: that needs the admin role")


def _designer(s: Any, user: str, what: str) -> None:
    """Designers (and admins) read the connectors' `what` to write connectors."""
    if not users.roles_of(s, user) & DESIGNERS:
        raise ForbiddenError(f"{user} may not see the connectors' {what}")


@dataclass(frozen=True)
class PreparedCall:
    """A claimed call ready to send: the request (with its secrets), the connector for its
    timeout, and the hosts allowed when it was prepared."""

    call_id: int
    request: Request
    connector: Connector
    hosts: dict[str, bool]


@dataclass(frozen=True)
class CallOutcome:
    """How one call went: a response (status, parsed body), or an error; `final` errors (a
    host refused) are not retried."""

    status: int | None = None
    body: Any = None
    mimetype: str | None = None
    error: str | None = None
    millis: int | None = None
    final: bool = False
    address: str | None = None


class ConnectorCases(UseCases):
    """Allowed hosts, secrets, and the calls of service tasks."""

    # --- admins -------------------------------------------------------------------------

    def connector_hosts(self, *, user: str) -> list[dict[str, Any]]:
        """The allowed hosts: admins manage them, designers read them to write connectors."""
        with self.db.read() as s:
            _designer(s, user, "allowed hosts")
            return store.host_records(s)

    def allow_host(
        self, host: str, *, user: str, internal: bool = False, note: str = ""
    ) -> dict[str, Any]:
        """Allow connectors to call `host` (a name or an address; `internal`: it may be a
        loopback, private or link-local address)."""
        name = (host or "").strip().lower().rstrip(".")
        if not (_HOST.match(name) or (":" in name and _IPV6.match(name))):
            raise ValidationError(
                "a host name such as api.example.com, or an address", field="host"
            )
        note = (note or "").strip()
        if len(note) > 300:
            raise ValidationError("at most 300 characters", field="note")
        with self.db.write() as s:
            _admin(s, user)
            row = s.query(AllowedHost).filter_by(host=name).one_or_none()
            if row is None:
                row = AllowedHost(host=name, created_by=user, created_at=clock.now())
                s.add(row)
            row.internal, row.note = bool(internal), note or None
            s.flush()
            return {"id": row.id, "host": row.host, "internal": row.internal, "note": row.note}

    def remove_host(self, host_id: int | str, *, user: str) -> None:
        with self.db.write() as s:
            _admin(s, user)
            row = s.get(AllowedHost, _int(host_id))
            if row is None:
                raise NotFoundError(f"no allowed host with id '{host_id}'")
            s.delete(row)

    def connector_secrets(self, *, user: str) -> list[dict[str, Any]]:
        """The secrets' names (never their values): for admins and designers."""
        with self.db.read() as s:
            _designer(s, user, "secrets")
            return store.secret_records(s)

    def set_connector_secret(self, name: str, value: str, *, user: str) -> dict[str, Any]:
        name = (name or "").strip()
        if not _SECRET_NAME.match(name):
            raise ValidationError(
                "a name of letters, digits, _ . - (starting with a letter, at most 80)",
                field="name",
            )
        if not value or len(value) > MAX_SECRET or any(c in value for c in "\r\n\0"):
            raise ValidationError(f"1-{MAX_SECRET} characters on one line", field="value")
        with self.db.write() as s:
            _admin(s, user)
            store.set_secret(s, name, value, user, clock.now())
        return {"name": name}

    def remove_connector_secret(self, name: str, *, user: str) -> None:
        with self.db.write() as s:
            _admin(s, user)
            if not store.remove_secret(s, name):
                raise NotFoundError(f"no secret named '{name[:80]}'")

    def connector_operators(self, *, user: str) -> list[dict[str, Any]]:
        """The spiff-arena operators mapped to HTTP requests (admins and designers)."""
        with self.db.read() as s:
            _designer(s, user, "operators")
            return store.operator_records(s)

    def set_connector_operator(
        self, name: str, lines: Mapping[str, str], *, user: str
    ) -> dict[str, Any]:
        """Map a spiff-arena operator (slack/PostMessage) to an HTTP request: `lines` are the
        page's method, url, headers, fields, results, timeout, retries."""
        name = (name or "").strip()
        if not _OPERATOR_NAME.match(name):
            raise ValidationError("an operator name such as slack/PostMessage", field="operator")
        definition = {k: str(lines.get(k) or "")[:4000] for k in OPERATOR_LINES}
        try:
            operator_connector(**definition)
        except ValueError as exc:
            raise ValidationError(str(exc), field="operator_definition") from None
        with self.db.write() as s:
            _admin(s, user)
            store.set_operator(s, name, definition, user, clock.now())
        return {"name": name, **definition}

    def remove_connector_operator(self, name: str, *, user: str) -> None:
        with self.db.write() as s:
            _admin(s, user)
            if not store.remove_operator(s, name):
                raise NotFoundError(f"no operator named '{name[:80]}'")

    def connector_calls(
        self, *, user: str, limit: int = 50, instance_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The most recent calls, newest first (managers and admins)."""
        with self.db.read() as s:
            if not users.roles_of(s, user) & MANAGERS:
                raise ForbiddenError(f"{user} may not see the connectors' calls")
            return store.recent_calls(s, min(max(limit, 1), 500), instance_id)

    # --- the worker ---------------------------------------------------------------------

    def due_connector_calls(self, *, now: datetime | None = None, limit: int = 20) -> list[int]:
        with self.db.read() as s:
            return store.due_calls(s, now or clock.now(), limit)

    @retried
    def prepare_connector_call(
        self, call_id: int, *, now: datetime | None = None
    ) -> PreparedCall | None:
        """Claim a due call and build its request; None when there is nothing to send (it
        was taken, its task is gone, or building it failed and that was recorded)."""
        now = now or clock.now()
        with self.space.write() as unit:
            call = store.locked_call(unit.s, call_id)
            if call is None or call.status != "pending" or (call.next_at and call.next_at > now):
                return None
            waiting = _still_waiting(unit, call, now)
            if waiting is None:
                return None
            deal, task, connector = waiting
            try:
                request = _request(unit.s, connector, task.data)
                if connector.source == "operator":
                    connector = _mapped(unit.s, connector)
            except ConnectorError as exc:
                # The data cannot make a request: no retry makes it better.
                _incident(deal, task, call, str(exc), now)
                return None
            call.host = request.host[:253]
            call.next_at = now + CLAIM
            hosts = store.allowed_hosts(unit.s)
            deal.keep()
            return PreparedCall(call.id, request, connector, hosts)

    @retried
    def finish_connector_call(
        self, call_id: int, outcome: CallOutcome, *, now: datetime | None = None
    ) -> str:
        """Record a call's outcome: done (task completed), retry (put off), failed (an
        incident), cancelled (the deal moved on meanwhile)."""
        now = now or clock.now()
        with self.space.write() as unit:
            call = unit.s.get(ConnectorCall, call_id)
            if call is None or call.status != "pending":
                return "cancelled"
            waiting = _still_waiting(unit, call, now)
            if waiting is None:
                return "cancelled"
            deal, task, connector = waiting
            call.attempts += 1
            call.last_status, call.millis = outcome.status, outcome.millis
            error = outcome.error
            if connector.source == "operator":
                try:
                    connector = _mapped(unit.s, connector)
                except ConnectorError as exc:
                    _incident(deal, task, call, str(exc), now)
                    return "failed"
            if error is None and not (outcome.status is not None and 200 <= outcome.status < 300):
                error = f"the service answered HTTP {outcome.status}"
            mapped: dict[str, Any] = {}
            if error is None:
                try:
                    mapped = map_response(
                        connector, outcome.status or 0, outcome.body, outcome.mimetype
                    )
                except ConnectorError as exc:
                    error = str(exc)
            if error is None:
                task.data.update(mapped)
                failure = None
                try:
                    task.complete()
                    deal.change.engine_steps()
                except WorkflowException as exc:  # a later step of the engine failed
                    failure = describe_failure(exc, deal.workflow)
                deal.save(actor=None, error=failure, now=now)
                call.last_error = None
                _close(call, "done", now)
                return "done"
            call.last_error = error[:2000]
            delay = None if outcome.final else retry_delay(connector, call.attempts)
            if delay is not None:
                call.next_at = now + timedelta(seconds=delay)
                deal.keep()
                return "retry"
            tries = f" after {call.attempts} attempts" if call.attempts > 1 else ""
            _incident(
                deal,
                task,
                call,
                f"the call to {call.host or 'the service'} failed{tries}: {error}",
                now,
            )
            return "failed"


def _mapped(s: Any, connector: Connector) -> Connector:
    """The admins' request for a spiff-arena operator; ConnectorError when none is set."""
    definition = store.operators(s).get(connector.operator or "")
    if definition is None:
        raise ConnectorError(
            f"the operator '{connector.operator}' is not mapped to an HTTP request: an admin "
            "maps it on the connectors page"
        )
    try:
        mapped = operator_connector(**definition)
    except ValueError as exc:
        raise ConnectorError(f"the mapping of '{connector.operator}' is broken: {exc}") from None
    # The model's own result variable keeps spiff-arena's answer.
    return replace(mapped, result_variable=connector.result_variable)


def _request(s: Any, connector: Connector, data: Mapping[str, Any]) -> Request:
    secrets = store.secret_values(s)
    if connector.source != "operator":
        return build_request(connector, data, secrets)
    return build_operator_request(connector, _mapped(s, connector), data, secrets)


def _int(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFoundError(f"no allowed host with id '{str(value)[:20]}'") from None


def _still_waiting(
    unit: UnitOfWork, call: ConnectorCall, now: datetime
) -> tuple[DealChange, Any, Connector] | None:
    """The call's deal (locked), its service task still waiting for the call, and the
    task's connector; None, with the call cancelled, when the deal moved on meanwhile (it
    stopped, the task is gone, or its version has no such connector)."""
    deal = unit.deal(call.instance_id, status=None)
    task = _waiting_task(deal.workflow, call.task_id)
    connector = deal.version.connectors.get(call.element_id)
    if deal.deal.status != "running" or task is None or connector is None:
        _close(call, "cancelled", now)
        deal.keep()
        return None
    return deal, task, connector


def _waiting_task(wf: Any, task_id: str) -> Any:
    try:
        task = wf.get_task_from_id(UUID(task_id))
    except Exception:  # gone from the tree: the library raises its own bare errors
        return None
    return task if task is not None and task.state == TaskState.STARTED else None


def _close(call: ConnectorCall, status: str, now: datetime) -> None:
    call.status, call.finished_at, call.next_at = status, now, None


def _incident(deal: Any, task: Any, call: ConnectorCall, message: str, now: datetime) -> None:
    """The task in error and the deal with it: an incident naming the element; nothing the
    deal did before is undone."""
    call.last_error = message[:2000]
    task.error()
    error = task_failure(task, ConnectorError(message), now)
    deal.save(actor=None, error=error, now=now)
    _close(call, "failed", now)
