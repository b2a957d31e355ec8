"""Customers and their contacts as rows and as the records pages, API and CLI show.

Who may see, create or change which customer is engine.usecases.customers' rule; these
functions keep and read the rows as told.  They take an open session.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.core.customers import TIERS, name_key, similar
from engine.store.models import Contact, Customer, Instance, table_of
from engine.store.records import iso

__all__ = [
    "CONTACT_FIELDS",
    "SORTS",
    "ContactRecord",
    "CustomerDeal",
    "CustomerItem",
    "CustomerRecord",
    "add",
    "by_key",
    "contact_record",
    "contacts_of",
    "deals_of",
    "follow_tier",
    "hand_over",
    "id_for_deal",
    "items",
    "similar_to",
]

# A contact's fields besides its name, with the longest text each column holds.
CONTACT_FIELDS = {"role": 120, "phone": 60, "email": 200, "wechat": 120}


class CustomerItem(TypedDict):
    """A customer as the list shows it.  `deals`: how many deals it has had; `won_value`:
    the value of its won deals; `cadence_due`: silent longer than its tier's cadence."""

    id: int
    name: str
    tier: str | None
    owner: str | None
    industry: str | None
    region: str | None
    deals: int
    won_value: float
    last_activity_at: str | None
    next_follow_up: str | None
    cadence_due: bool


class ContactRecord(TypedDict):
    """A person at a customer: their role in the decision chain and how to reach them."""

    id: int
    customer_id: int
    name: str
    role: str | None
    phone: str | None
    email: str | None
    wechat: str | None


class CustomerDeal(TypedDict):
    """One deal of a customer, as its page lists it."""

    id: str
    name: str
    stage: str | None
    status: str
    outcome: str | None
    amount: float | None
    owner: str | None
    created_at: str | None


class CustomerRecord(CustomerItem):
    """One customer with everything about it.  `deals` stays the count, as in the list (the
    API's items and the record agree on its type); the deals themselves are `deal_list`."""

    contacts: list[ContactRecord]
    deal_ids: list[str]
    deal_list: list[CustomerDeal]
    activities: list[Any]  # engine.store.activities.ActivityRecord


# What a customer list is sorted by (pages, API, CLI alike).
SORTS: dict[str, Any] = {
    "name": Customer.name,
    "tier": Customer.tier,
    "owner": Customer.owner,
    "industry": Customer.industry,
    "region": Customer.region,
    "last_activity": Customer.last_activity_at,
    "next_follow_up": Customer.next_follow_up,
}
_STAT_SORTS = ("deals", "won_value")


def is_due(row: Customer, cadence: Mapping[str, int | None], now: datetime) -> bool:
    """Silent longer than its tier's cadence: since its last activity, or for a customer
    never contacted since it was added (the twin of engine.store.activities.silent_clause,
    which the lists filter with)."""
    days = cadence.get(row.tier or "")
    return bool(days) and (row.last_activity_at or row.created_at) < now - timedelta(days=days or 0)


def _deal_stats(won_stages: Collection[str]) -> Any:
    won = Instance.stage.in_(sorted(won_stages))
    return (
        select(
            Instance.customer_id.label("customer_id"),
            func.count().label("deals"),
            func.coalesce(func.sum(case((won, Instance.amount), else_=0)), 0).label("won"),
        )
        .where(Instance.customer_id.is_not(None))
        .group_by(Instance.customer_id)
        .subquery()
    )


def _item(
    row: Customer, deals: int | None, won: Any, cadence: Mapping[str, int | None], now: datetime
) -> CustomerItem:
    return {
        "id": row.id,
        "name": row.name,
        "tier": row.tier,
        "owner": row.owner,
        "industry": row.industry,
        "region": row.region,
        "deals": int(deals or 0),
        "won_value": float(Decimal(won or 0)),
        "last_activity_at": iso(row.last_activity_at),
        "next_follow_up": row.next_follow_up.isoformat() if row.next_follow_up else None,
        "cadence_due": is_due(row, cadence, now),
    }


def items(
    s: Session,
    *,
    where: Iterable[Any],
    won_stages: Collection[str],
    cadence: Mapping[str, int | None],
    now: datetime,
    sort: str | None = None,
    limit: int | None = None,
) -> list[CustomerItem]:
    """The customers matching every clause of `where`, as list items, ordered by `sort` (a
    key of SORTS or "deals"/"won_value", "-" before it for descending; by name without)."""
    stats = _deal_stats(won_stages)
    query = select(Customer, stats.c.deals, stats.c.won).outerjoin(
        stats, stats.c.customer_id == Customer.id
    )
    for clause in where:
        query = query.where(clause)
    key = (sort or "name").removeprefix("-")
    column = {"deals": stats.c.deals, "won_value": stats.c.won}.get(key, SORTS.get(key))
    if column is None:
        column = Customer.name
    if (sort or "").startswith("-"):
        query = query.order_by(column.is_(None), column.desc(), Customer.id.desc())
    else:
        query = query.order_by(column.is_(None), column.asc(), Customer.id)
    if limit is not None:
        query = query.limit(limit)
    return [_item(row, deals, won, cadence, now) for row, deals, won in s.execute(query)]


def by_key(s: Session, key: str) -> Customer | None:
    """The customer whose name compares equal (engine.core.customers.name_key); the oldest
    when there are several (two could be made by hand before the check existed)."""
    query = select(Customer).where(Customer.name_key == key[:300]).order_by(Customer.id)
    return s.scalars(query.limit(1)).first()


_CUSTOMERS = table_of(Customer)
_ID_BY_KEY = (
    select(_CUSTOMERS.c.id)
    .where(_CUSTOMERS.c.name_key == bindparam("key"))
    .order_by(_CUSTOMERS.c.id)
    .limit(1)
)
_NEW = insert(_CUSTOMERS).returning(_CUSTOMERS.c.id)


def id_for_deal(s: Session, company: str, owner: str | None, now: datetime) -> int:
    """The id of the customer a new deal of `company` belongs to (`by_key`), made for it
    (as `add` makes one, owned by `owner`) when there is none.  Run at every start: two
    Core statements instead of loading and flushing a Customer object."""
    name = company.strip()
    key = name_key(name)[:300]
    found = s.execute(_ID_BY_KEY, {"key": key}).scalar()
    if found is not None:
        return int(found)
    row = {"name": name[:300], "name_key": key, "owner": owner}
    made = s.execute(_NEW, {**row, "created_at": now, "updated_at": now}).scalar_one()
    return int(made)


def similar_to(s: Session, name: str, *, limit: int = 5) -> list[Customer]:
    """The customers whose names are close to `name` (engine.core.customers.similar),
    closest first; the one with the very same key among them."""
    keys = s.execute(select(Customer.id, Customer.name_key)).all()
    ids = similar(name_key(name), [(i, k) for i, k in keys], limit=limit)
    found = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def add(
    s: Session,
    *,
    name: str,
    owner: str | None,
    now: datetime,
    tier: str | None = None,
    industry: str | None = None,
    region: str | None = None,
) -> Customer:
    row = Customer(
        name=name[:300],
        name_key=name_key(name)[:300],
        owner=owner,
        tier=tier if tier in TIERS else None,
        industry=industry,
        region=region,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    s.flush()
    return row


# Run by the change that grades a deal (built once, on the table: engine.store.changes).
_FOLLOW_TIER = (
    update(_CUSTOMERS)
    .where(
        _CUSTOMERS.c.id == bindparam("customer_id"),
        or_(_CUSTOMERS.c.tier.is_(None), _CUSTOMERS.c.tier != bindparam("new_tier")),
    )
    .values(tier=bindparam("new_tier"), updated_at=bindparam("now"))
)


def follow_tier(s: Session, customer_id: int, tier: str | None, now: datetime) -> None:
    """A deal of the customer was graded `tier`: the customer's tier follows (the latest
    grading wins).  A grade that is no tier (A, B, C) changes nothing."""
    if tier not in TIERS:
        return
    s.execute(_FOLLOW_TIER, {"customer_id": customer_id, "new_tier": tier, "now": now})


def hand_over(s: Session, from_user: str, to_user: str, now: datetime) -> int:
    """Every customer `from_user` owns becomes `to_user`'s; how many."""
    moved = s.execute(
        update(Customer)
        .where(Customer.owner == from_user)
        .values(owner=to_user, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(moved, "rowcount", 0) or 0)


def count_owned(s: Session, owner: str) -> int:
    return int(s.scalar(select(func.count()).where(Customer.owner == owner)) or 0)


def contact_record(row: Contact) -> ContactRecord:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "name": row.name,
        "role": row.role,
        "phone": row.phone,
        "email": row.email,
        "wechat": row.wechat,
    }


def contacts_of(s: Session, customer_id: int) -> list[ContactRecord]:
    rows = s.scalars(select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.id))
    return [contact_record(r) for r in rows]


def deals_of(
    s: Session, customer_id: int, outcome_of: Callable[[str | None], str | None]
) -> list[CustomerDeal]:
    """The customer's deals, newest first; `outcome_of(stage)` is the use cases' rule."""
    rows = s.execute(
        select(
            Instance.id,
            Instance.name,
            Instance.stage,
            Instance.status,
            Instance.amount,
            Instance.owner,
            Instance.created_at,
        )
        .where(Instance.customer_id == customer_id)
        .order_by(Instance.created_at.desc(), Instance.id.desc())
    )
    return [
        {
            "id": str(r.id),
            "name": r.name,
            "stage": r.stage,
            "status": r.status,
            "outcome": outcome_of(r.stage),
            "amount": float(r.amount) if r.amount is not None else None,
            "owner": r.owner,
            "created_at": iso(r.created_at),
        }
        for r in rows
    ]
