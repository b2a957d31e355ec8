"""Messages from outside: a BPMN message (`contract_signed`, `payment_received`) delivered to
the deal waiting for it.

How the engine catches one (SpiffWorkflow's event manager, one message to one element) is
engine.core.messages's; correlation properties declared in the BPMN still apply, and the
library refuses a message whose key differs from the one the deal already holds.

The rules:
- A message names its deal by `instance_id`, by `correlate` (deal fields: `name`, `owner`,
  `process_id`; any other key is a field of the deal's data), or both.  Values compare
  loosely: the text "8000000" matches the number 8000000 (the command line sends text).
- Only deals waiting for the message are candidates (the `message_subscription` rows, kept in
  step by `sync_subscriptions` on every save).  None: NotFoundError, unless the definition
  keeps early messages: the catch element has the property `keepMessagesFor` (an ISO 8601
  duration such as `P2D`); then the message is stored and handed to the first deal that
  starts waiting for it and matches, on that deal's next save (`deliver_kept`), until it
  expires.  Several: AmbiguousMessageError (409) with their ids; never a random one.
- A `message_id` is delivered once: sent again, the answer is the first delivery's, marked
  `duplicate`.
- Delivery runs like completing a task: the deal is locked, the engine runs on to its next
  wait, and everything is written in one transaction (changes.save_change).
- Who may send: a sender who sees every deal (engine.usecases.access) or holds the `integration`
  role may send to any deal and have messages kept; anyone else only reaches deals they may
  see, and has a message kept only when it names a deal they see by its id.  No sender (the
  command line) may do everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock
from engine.core.messages import (
    DEAL_FIELDS,
    KEEP_PROPERTY,
    AmbiguousMessageError,
    Catalog,
    Message,
    catalog,
    catch_message,
    correlation_pairs,
    deal_columns,
    fields_text,
    history_note,
    matches,
    message_event,
    note_task,
    nothing_waits,
    waiting_for,
)
from engine.core.roles import role_key
from engine.errors import ConflictError, NotFoundError
from engine.store import users
from engine.store.models import (
    Definition,
    DefinitionVersion,
    Instance,
    MessageSubscription,
    ReceivedMessage,
)
from engine.store.records import iso
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.unit import MAX_ID, UnitOfWork, retried

__all__ = [
    "DEAL_FIELDS",
    "KEEP_PROPERTY",
    "AmbiguousMessageError",
    "Message",
    "MessageCases",
    "correlation_pairs",
]

log = logging.getLogger(__name__)

INTEGRATION = role_key("integration")


# --- what a definition and an instance wait for ------------------------------------------


# --- correlation -------------------------------------------------------------------------


# --- what is sent ------------------------------------------------------------------------


# --- delivering --------------------------------------------------------------------------


def _record(row: ReceivedMessage, *, duplicate: bool, now: datetime) -> dict[str, Any]:
    if row.delivered_at is not None:
        status = "delivered"
    elif row.expires_at is not None and row.expires_at <= now:
        status = "expired"
    else:
        status = "kept"
    return {
        "name": row.name,
        "message_id": row.message_id,
        "status": status,
        "duplicate": duplicate,
        "instance_id": str(row.instance_id) if row.instance_id is not None else None,
        "received_at": iso(row.received_at),
        "delivered_at": iso(row.delivered_at),
        "expires_at": iso(row.expires_at),
    }


@dataclass
class _Sender:
    username: str | None
    roles: set[str]

    @property
    def sends_anything(self) -> bool:
        return self.username is None or access.sees_all(self.roles) or INTEGRATION in self.roles

    def sees(self, s: Session, instance_id: int | None) -> bool:
        if instance_id is None:
            return False
        if self.username is None or self.sends_anything:
            return True
        return access.may_see(s, self.username, self.roles, instance_id)


def _first_delivery(s: Session, msg: Message, who: _Sender, now: datetime) -> dict[str, Any] | None:
    """The answer to a message id seen before, or None."""
    if msg.message_id is None:
        return None
    row = s.scalars(
        select(ReceivedMessage).where(ReceivedMessage.message_id == msg.message_id)
    ).first()
    if row is None:
        return None
    if row.name != msg.name:
        raise ConflictError(
            f"message id '{msg.message_id}' was already used for message '{row.name}'"
        )
    target = row.instance_id
    if target is None and row.correlation:
        target = row.correlation.get("instance_id")
    if not who.sends_anything and not who.sees(s, target):
        raise ConflictError(f"message id '{msg.message_id}' was already used")
    return _record(row, duplicate=True, now=now)


def _waiting_deals(s: Session, msg: Message, who: _Sender) -> list[int]:
    """The running deals waiting for the message that match it and the sender may reach."""
    waiting = select(MessageSubscription.instance_id).where(MessageSubscription.name == msg.name)
    query = select(Instance.id, Instance.name, Instance.owner, Instance.process_id).where(
        Instance.id.in_(waiting), Instance.status == "running"
    )
    if msg.instance_id is not None:
        query = query.where(Instance.id == msg.instance_id)
    if not who.sends_anything and who.username is not None:
        query = query.where(access.visible_deals(who.username, who.roles))
    needs_data = any(key not in DEAL_FIELDS for key in msg.correlate)
    if needs_data:
        query = query.add_columns(Instance.data)
    found = []
    for row in s.execute(query.order_by(Instance.id)):
        data = row.data if needs_data else {}
        if matches(deal_columns(row), data or {}, msg.correlate):
            found.append(row.id)
    return found


def _keep(unit: UnitOfWork, msg: Message, who: _Sender, now: datetime) -> dict[str, Any]:
    """Nothing waits: keep the message if its definition says so, else NotFoundError."""
    s = unit.s
    inst = s.get(Instance, msg.instance_id) if msg.instance_id is not None else None
    if msg.instance_id is not None and (inst is None or not who.sees(s, msg.instance_id)):
        raise NotFoundError(f"no deal with id '{msg.instance_id}'")
    if inst is not None:
        catalogs = [catalog(unit.version(inst.version_id))]
    else:
        catalogs = _latest_catalogs(unit)
    if not any(msg.name in c.names for c in catalogs):
        if inst is not None:
            raise NotFoundError(f"deal {inst.id} never waits for a message named '{msg.name}'")
        raise NotFoundError(f"no deployed process receives a message named '{msg.name}'")
    keep = max((c.keep[msg.name] for c in catalogs if msg.name in c.keep), default=None)
    refused = nothing_waits(msg)
    if keep is None:
        raise refused
    if inst is not None and inst.status != "running":
        raise NotFoundError(f"deal {inst.id} is {inst.status}: it waits for no message")
    if inst is None and not who.sends_anything:
        raise refused  # kept messages for any deal: only for senders who reach every deal
    if inst is not None and not matches(deal_columns(inst), inst.data, msg.correlate):
        raise refused
    row = _store(s, msg, None, now, delivered=False, expires_at=now + keep)
    return _record(row, duplicate=False, now=now)


def _latest_catalogs(unit: UnitOfWork) -> list[Catalog]:
    latest = unit.s.scalars(
        select(DefinitionVersion.id)
        .join(Definition, Definition.id == DefinitionVersion.definition_id)
        .where(DefinitionVersion.version == Definition.latest_version)
    )
    return [catalog(unit.version(version_id)) for version_id in latest]


def _store(
    s: Session,
    msg: Message,
    instance_id: int | None,
    now: datetime,
    *,
    delivered: bool,
    expires_at: datetime | None = None,
) -> ReceivedMessage:
    row = ReceivedMessage(
        message_id=msg.message_id,
        name=msg.name,
        correlation={"instance_id": msg.instance_id, "fields": msg.correlate},
        data=msg.data,
        instance_id=instance_id,
        received_at=now,
        delivered_at=now if delivered else None,
        expires_at=expires_at,
    )
    s.add(row)
    try:
        s.flush()
    except IntegrityError as exc:  # the unique message id, sent twice at the same moment
        raise ConflictError(
            f"message id '{msg.message_id}' is being delivered by another request"
        ) from exc
    return row


class MessageCases(UseCases):
    """Messages from outside delivered to the deals waiting for them."""

    def deliver_message(
        self,
        name: str,
        *,
        instance_id: str | int | None = None,
        correlate: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        message_id: str | None = None,
        sender: str | None = None,
    ) -> dict[str, Any]:
        """Deliver a BPMN message from outside to the deal waiting for it, or keep it when
        the definition says so; `sender` None is the command line (rules: usecases.messages)."""
        message = Message.of(
            name, instance_id=instance_id, correlate=correlate, data=data, message_id=message_id
        )
        return self.deliver(message, sender=sender)

    @retried
    def deliver(self, msg: Message, *, sender: str | None = None) -> dict[str, Any]:
        """Deliver (or keep) one message; see the module's rules.  One transaction."""
        if msg.instance_id is not None and not 1 <= msg.instance_id <= MAX_ID:
            raise NotFoundError(f"no deal with id '{msg.instance_id}'")  # no row can have it
        now = clock.now()
        with self.space.write() as unit:
            s = unit.s
            who = _Sender(sender, users.roles_of(s, sender) if sender is not None else set())
            first = _first_delivery(s, msg, who, now)
            if first is not None:
                return first
            found = _waiting_deals(s, msg, who)
            if len(found) > 1:
                raise AmbiguousMessageError(
                    f"{len(found)} deals wait for message '{msg.name}' "
                    f"with {fields_text(msg)}: {', '.join(map(str, found))}; "
                    "send instance_id (or more fields) to choose one",
                    found,
                )
            if not found:
                return _keep(unit, msg, who, now)
            inst = unit.lock(found[0])
            again = _first_delivery(s, msg, who, now)  # the same id sent twice at the same time
            if again is not None:
                return again
            if not matches(deal_columns(inst), inst.data, msg.correlate):
                raise NotFoundError(f"deal {inst.id} changed meanwhile and no longer matches")
            deal = unit.open(inst)
            wf = deal.workflow
            waiting = [w for w in waiting_for(wf) if w.name == msg.name]
            if not waiting:
                raise NotFoundError(f"deal {inst.id} is no longer waiting for message '{msg.name}'")
            events = [(w, message_event(w, msg.data)) for w in waiting]
            caught = [(w, e) for w, e in events if w.task.task_spec.catches(w.task, e)]
            if not caught:
                raise NotFoundError(
                    f"deal {inst.id} waits for message '{msg.name}' with other correlation keys "
                    f"than this one carries ({events[0][1].correlations})"
                )
            target, event = caught[0]
            change = deal.change

            def run() -> None:
                catch_message(target, event, msg.data)
                change.engine_steps()

            deal.run(run)
            note = history_note(msg.name, msg.message_id, sender, msg.data)
            deal.save(actor=sender, now=now, submitted=(note_task(target), note))
            row = _store(s, msg, inst.id, now, delivered=True)
            return _record(row, duplicate=False, now=now)
