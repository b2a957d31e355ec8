"""Rows of the HTTP connectors (engine.core.connectors): the allowed hosts, the named secrets
and the calls waiting service tasks need.  Rows in and out; who may is decided in
engine.usecases.connectors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.core import runtime
from engine.core.connectors import ConnectorError, Reachable
from engine.core.sealing import Sealer, SealingError
from engine.core.version import VersionRuntime
from engine.store.models import (
    AllowedHost,
    ConnectorCall,
    ConnectorOperator,
    ConnectorSecret,
    table_of,
)
from engine.store.records import iso
from engine.store.sealing import sealed, sealer

__all__ = [
    "allowed_hosts",
    "call_record",
    "enqueue_waiting",
    "secret_values",
]

_CALL = insert(table_of(ConnectorCall))


def allowed_hosts(s: Session) -> dict[str, bool]:
    """host -> whether it may be an internal address."""
    return {h: bool(i) for h, i in s.execute(select(AllowedHost.host, AllowedHost.internal))}


def reachable(s: Session) -> Reachable:
    """The allowed hosts and the mapped operators, for the designer's Check."""
    return Reachable(allowed_hosts(s), s.scalars(select(ConnectorOperator.name)))


def secret_values(s: Session) -> Mapping[str, str]:
    """Every secret by name, each opened as a request uses it: for the worker's requests
    only, never for a page."""
    stored = {n: v for n, v in s.execute(select(ConnectorSecret.name, ConnectorSecret.value))}
    return OpenedSecrets(stored, sealer(s))


class OpenedSecrets(Mapping[str, str]):
    """The connectors' secrets as they are stored (sealed), each opened when a request's
    header asks for it: a secret this machine's key cannot open fails the requests that use
    it (a ConnectorError, so an incident naming it), and no other."""

    def __init__(self, stored: dict[str, str], sealing: Sealer) -> None:
        self._stored = stored
        self._sealing = sealing

    def __getitem__(self, name: str) -> str:
        try:
            return self._sealing.open(self._stored[name], f"secret '{name}'")
        except SealingError as exc:
            raise ConnectorError(str(exc)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._stored  # asking whether it is stored opens nothing

    def __iter__(self) -> Iterator[str]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)


def host_records(s: Session) -> list[dict[str, Any]]:
    rows = s.scalars(select(AllowedHost).order_by(AllowedHost.host))
    return [
        {
            "id": h.id,
            "host": h.host,
            "internal": h.internal,
            "note": h.note,
            "created_by": h.created_by,
            "created_at": iso(h.created_at),
        }
        for h in rows
    ]


def secret_records(s: Session) -> list[dict[str, Any]]:
    """The secrets by name, without their values."""
    rows = s.execute(
        select(
            ConnectorSecret.name, ConnectorSecret.updated_by, ConnectorSecret.updated_at
        ).order_by(ConnectorSecret.name)
    )
    return [{"name": n, "updated_by": b, "updated_at": iso(a)} for n, b, a in rows]


def set_secret(s: Session, name: str, value: str, actor: str, now: datetime) -> None:
    """Store a secret sealed (engine.core.sealing), replacing its value if it had one."""
    value = sealed(s, value)
    row = s.scalar(select(ConnectorSecret).where(ConnectorSecret.name == name))
    if row is None:
        s.add(ConnectorSecret(name=name, value=value, updated_by=actor, updated_at=now))
    else:
        row.value, row.updated_by, row.updated_at = value, actor, now


def operators(s: Session) -> dict[str, dict[str, Any]]:
    """Every operator mapping by name: its page lines (engine.core.connectors)."""
    return {
        n: dict(d)
        for n, d in s.execute(select(ConnectorOperator.name, ConnectorOperator.definition))
    }


def operator_records(s: Session) -> list[dict[str, Any]]:
    rows = s.scalars(select(ConnectorOperator).order_by(ConnectorOperator.name))
    return [
        {
            "name": o.name,
            **o.definition,
            "updated_by": o.updated_by,
            "updated_at": iso(o.updated_at),
        }
        for o in rows
    ]


def set_operator(
    s: Session, name: str, definition: dict[str, Any], actor: str, now: datetime
) -> None:
    row = s.scalar(select(ConnectorOperator).where(ConnectorOperator.name == name))
    if row is None:
        s.add(ConnectorOperator(name=name, definition=definition, updated_by=actor, updated_at=now))
    else:
        row.definition, row.updated_by, row.updated_at = definition, actor, now


def remove_operator(s: Session, name: str) -> bool:
    gone = s.execute(delete(ConnectorOperator).where(ConnectorOperator.name == name))
    return bool(getattr(gone, "rowcount", 0))


def remove_secret(s: Session, name: str) -> bool:
    gone = s.execute(delete(ConnectorSecret).where(ConnectorSecret.name == name))
    return bool(getattr(gone, "rowcount", 0))


def enqueue_waiting(
    s: Session, instance_id: int, vr: VersionRuntime, wf: Any, now: datetime
) -> None:
    """A call for every connector task of the deal that waits without one pending (a deal
    just arrived at it, or an incident retried).  Called by the change writer only for
    versions with connectors, so other deals pay nothing."""
    waiting = [
        t
        for t in runtime.all_tasks(wf)
        if t.state == TaskState.STARTED and getattr(t.task_spec, "bpmn_id", None) in vr.connectors
    ]
    if not waiting:
        return
    pending = set(
        s.scalars(
            select(ConnectorCall.task_id).where(
                ConnectorCall.instance_id == instance_id, ConnectorCall.status == "pending"
            )
        )
    )
    rows = [
        {
            "instance_id": instance_id,
            "task_id": str(t.id),
            "element_id": t.task_spec.bpmn_id,
            "element_name": t.task_spec.bpmn_name,
            "status": "pending",
            "attempts": 0,
            "next_at": now,
            "method": vr.connectors[t.task_spec.bpmn_id].method,
            "created_at": now,
        }
        for t in waiting
        if str(t.id) not in pending
    ]
    if rows:
        s.execute(_CALL, rows)


def due_calls(s: Session, now: datetime, limit: int) -> list[int]:
    return list(
        s.scalars(
            select(ConnectorCall.id)
            .where(ConnectorCall.status == "pending", ConnectorCall.next_at <= now)
            .order_by(ConnectorCall.next_at, ConnectorCall.id)
            .limit(limit)
        )
    )


def locked_call(s: Session, call_id: int) -> ConnectorCall | None:
    query = select(ConnectorCall).where(ConnectorCall.id == call_id)
    if s.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return s.scalar(query)


def call_record(c: ConnectorCall) -> dict[str, Any]:
    return {
        "id": c.id,
        "instance_id": str(c.instance_id),
        "element_id": c.element_id,
        "element_name": c.element_name,
        "status": c.status,
        "attempts": c.attempts,
        "next_at": iso(c.next_at),
        "method": c.method,
        "host": c.host,
        "last_status": c.last_status,
        "last_error": c.last_error,
        "millis": c.millis,
        "created_at": iso(c.created_at),
        "finished_at": iso(c.finished_at),
    }


def recent_calls(s: Session, limit: int, instance_id: int | None = None) -> list[dict[str, Any]]:
    query = select(ConnectorCall).order_by(ConnectorCall.id.desc()).limit(limit)
    if instance_id is not None:
        query = query.where(ConnectorCall.instance_id == instance_id)
    return [call_record(c) for c in s.scalars(query)]
