"""Customers (accounts): the companies the team sells to, their contacts, and every deal each
had.  The rules pages, API and command line share:

- Who sees which customer follows the deals rule (engine.usecases.access): managers and
  admins see every customer; anyone else the customers they own and the customers of the
  deals they may see (a colleague's, too, where the team shares its deals with its reps).
  A customer someone may not see is "not found", word for word like a missing one.
- Who adds customers: the holders of an owner role (Sales Rep, Sales Manager) and admins.
  The owner is the one adding it unless they name another user who may own deals
  (engine.usecases.deals.check_owner).
- Duplicates: a name that compares equal to a customer's (engine.core.customers.name_key:
  "ACME Ltd." is "Acme") is refused with a ConflictError naming that customer, whom the
  person should pick instead; names that are only similar are refused with a ValidationError
  on `name` that lists them ("Did you mean ...?"), unless `confirm` says it is another
  company.  A deal started without a customer finds its customer by the company's name key
  and creates it (owned by the deal's owner) only when there is none (`link_deal`).
- Who changes a customer and its contacts: its owner or a manager (or an admin).
- A customer's tier follows the grading of its deals (engine.store.changes: the latest
  grading wins); its owner or a manager may set it by hand in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.customers import TIERS, name_key
from engine.core.roles import DEAL_OWNERS, MANAGERS
from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import customers as rows
from engine.store import team_settings, users
from engine.store.activities import KINDS, activities_of, silent_clause
from engine.store.customers import ContactRecord, CustomerItem, CustomerRecord
from engine.store.models import Contact, Customer, Instance
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.deals import check_owner
from engine.usecases.outcomes import WON_STAGES, outcome_of
from engine.usecases.unit import parse_id

__all__ = [
    "ACTIVITY_KINDS",
    "ADDERS",
    "CONTACT_FIELDS",
    "SORT_KEYS",
    "TIERS",
    "CustomerCases",
    "chosen_customer",
    "link_deal",
    "visible_customers",
]

ADDERS = DEAL_OWNERS | MANAGERS  # who may add a customer
# What pages and API take from here (they import no store or core module themselves).
SORT_KEYS = (*rows.SORTS, "deals", "won_value")  # what a customer list sorts by
CONTACT_FIELDS = rows.CONTACT_FIELDS  # a contact's fields besides the name, and their lengths
ACTIVITY_KINDS = KINDS
TIERS = TIERS
MAX_NAME = 300
FIELD_LIMITS = {"industry": 120, "region": 120}
CUSTOMER_FIELDS = ("name", "owner", "tier", "industry", "region")


# --- who sees and changes what --------------------------------------------------------------


def visible_customers(s: Session, username: str | None) -> Any:
    """A WHERE clause on Customer selecting the customers `username` may see (None: the
    console operator, who sees all)."""
    if username is None:
        return Customer.id.is_not(None)
    roles = users.roles_held(s, username)
    return access.visible_customers(username, roles, team=access.team_deals_shared(s))


def _visible(s: Session, customer_id: str | int, viewer: str | None) -> Customer:
    """The customer, or NotFoundError worded alike for a missing one and a hidden one."""
    cid = parse_id(customer_id, "customer")
    row = s.scalars(
        select(Customer).where(Customer.id == cid, visible_customers(s, viewer))
    ).first()
    if row is None:
        raise NotFoundError(f"no customer with id '{cid}'")
    return row


def _deals_seen(s: Session, customer_id: int, viewer: str | None) -> set[str]:
    """The ids (as text) of the customer's deals `viewer` may see (None: all of them)."""
    query = select(Instance.id).where(Instance.customer_id == customer_id)
    if viewer is not None:
        roles = users.roles_held(s, viewer)
        shared = access.team_deals_shared(s)
        query = query.where(access.visible_deals(viewer, roles, team=shared))
    return {str(i) for i in s.scalars(query)}


def _may_change(s: Session, row: Customer, actor: str | None) -> bool:
    return actor is None or row.owner == actor or bool(users.roles_held(s, actor) & MANAGERS)


def _check_change(s: Session, row: Customer, actor: str | None) -> None:
    if not _may_change(s, row, actor):
        raise ForbiddenError(
            f"only the owner of {row.name} or a sales manager may change the customer"
        )


def _check_adder(s: Session, actor: str | None) -> None:
    if actor is not None and not users.roles_of(s, actor) & ADDERS:
        raise ForbiddenError(
            f"{actor} may not add customers: a Sales Rep, a Sales Manager or an admin does"
        )


def _cadence(s: Session) -> dict[str, int | None]:
    """Days of silence after which a customer of each tier is due a follow-up, as the team
    set them (engine.core.customers.CADENCE_DAYS unless changed)."""
    return team_settings.cadence_days(s)


# --- checking what is given ---------------------------------------------------------------


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("is required", field=field)
        return None
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    value = value.strip()
    if "\x00" in value:
        raise ValidationError("must not contain a NUL character", field=field)
    if len(value) > limit:
        raise ValidationError(f"is at most {limit} characters", field=field)
    return value


def _tier(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value not in TIERS:
        raise ValidationError(f"must be one of {', '.join(TIERS)}", field="tier")
    return str(value)


def _contact(values: Mapping[str, Any], *, partial: bool = False) -> dict[str, str | None]:
    """A contact's fields as given, checked: name required (unless `partial`), the others
    optional; an e-mail address must look like one."""
    known = {"name", *rows.CONTACT_FIELDS}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValidationError(
            f"not a contact field: give {', '.join(sorted(known))}", field=unknown[0]
        )
    found: dict[str, str | None] = {}
    if "name" in values or not partial:
        found["name"] = _text(values.get("name"), "name", 200, required=True)
    for key, limit in rows.CONTACT_FIELDS.items():
        if key in values:
            found[key] = _text(values[key], key, limit)
    email = found.get("email")
    if email and ("@" not in email or " " in email or email.startswith("@")):
        raise ValidationError(
            "must be an e-mail address, such as li.wei@example.com", field="email"
        )
    return found


def _owner(s: Session, owner: Any, actor: str | None) -> str | None:
    """A customer's owner as given: an active user who may own deals (check_owner), or the
    actor themselves.  ValidationError on `owner` otherwise."""
    name = _text(owner, "owner", 80)
    if name is None:
        return actor
    try:
        check_owner(s, name, actor)
    except NotFoundError:
        raise ValidationError(f"no active user '{name}'", field="owner") from None
    return name


def _refuse_duplicates(s: Session, name: str, *, confirm: bool, skip: int | None = None) -> None:
    same = rows.by_key(s, name_key(name))
    if same is not None and same.id != skip:
        raise ConflictError(
            f"the customer '{same.name}' (id {same.id}) exists already: choose it instead"
        )
    if confirm:
        return
    close = [c for c in rows.similar_to(s, name) if c.id != skip]
    if close:
        names = "; ".join(f"{c.name} (id {c.id})" for c in close)
        raise ValidationError(
            f"similar customers exist: {names}. Choose one of them, or confirm that this "
            "is another company",
            field="name",
        )


# --- deals and their customer (engine.usecases.deals.start) ---------------------------------


def chosen_customer(s: Session, customer_id: Any, viewer: str | None) -> Customer:
    """The customer a new deal is for, named by id: one `viewer` may see; invalid data on
    `customer_id` otherwise (a body's id that points nowhere is no missing resource)."""
    try:
        return _visible(s, customer_id, viewer)
    except NotFoundError as exc:
        raise ValidationError(str(exc), field="customer_id") from None


def link_deal(
    s: Session, inst: Instance, chosen: Customer | None, company: Any, owner: str | None
) -> None:
    """Make the new deal `inst` its customer's: `chosen`, else the customer whose name
    compares equal to the data's `company`, else a new one owned by the deal's owner.  A
    deal without a company has no customer."""
    if chosen is not None:
        inst.customer_id = chosen.id
    elif isinstance(company, str) and company.strip():
        inst.customer_id = rows.id_for_deal(s, company, owner, clock.now())


# --- the use cases ---------------------------------------------------------------------------


class CustomerCases(UseCases):
    """List, show, add and change customers and their contacts."""

    def customers(
        self,
        viewer: str | None,
        *,
        q: str | None = None,
        tier: str | None = None,
        owner: str | None = None,
        due: bool | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> list[CustomerItem]:
        """The customers `viewer` may see (None: all), filtered: name containing `q`, of a
        tier, of an owner, due a follow-up (`due`); by name unless `sort` says otherwise."""
        if sort and sort.removeprefix("-") not in SORT_KEYS:
            keys = ", ".join(sorted(SORT_KEYS))
            raise ValidationError(f"sort by one of {keys}", field="sort")
        if tier is not None:
            _tier(tier)
        now = clock.now()
        with self.db.read() as s:
            cadence = _cadence(s)
            where = [visible_customers(s, viewer)]
            if q:
                where.append(Customer.name.icontains(q.strip(), autoescape=True))
            if tier:
                where.append(Customer.tier == tier)
            if owner:
                where.append(Customer.owner == owner)
            if due is not None:
                clause = silent_clause(cadence, now)
                where.append(clause if due else ~clause)
            return rows.items(
                s,
                where=where,
                won_stages=WON_STAGES,
                cadence=cadence,
                now=now,
                sort=sort,
                limit=limit,
            )

    def customer(self, customer_id: str | int, viewer: str | None) -> CustomerRecord:
        """One customer with its contacts, deals and activities (its own and its deals')."""
        with self.db.read() as s:
            row = _visible(s, customer_id, viewer)
            [item] = rows.items(
                s,
                where=[Customer.id == row.id],
                won_stages=WON_STAGES,
                cadence=_cadence(s),
                now=clock.now(),
            )
            # Its deals and their activities as far as the viewer may see those deals (the
            # deals rule): a rep who owns the customer does not read a colleague's deal.
            shown = _deals_seen(s, row.id, viewer)
            deals = [d for d in rows.deals_of(s, row.id, outcome_of) if d["id"] in shown]
            activities = [
                a
                for a in activities_of(s, customer_id=row.id)
                if a["deal_id"] is None or a["deal_id"] in shown
            ]
            return {
                **item,
                "contacts": rows.contacts_of(s, row.id),
                "deal_ids": [d["id"] for d in deals],
                "deal_list": deals,
                "activities": activities,
            }

    def may_add_customers(self, username: str) -> bool:
        """Whether `username` may add customers (ADDERS)."""
        with self.db.read() as s:
            return bool(users.roles_held(s, username) & ADDERS)

    def may_change_customer(self, customer_id: str | int, username: str) -> bool:
        """Whether `username` may change the customer and its contacts (its owner, a
        manager); False for one they may not see."""
        with self.db.read() as s:
            try:
                row = _visible(s, customer_id, username)
            except NotFoundError:
                return False
            return _may_change(s, row, username)

    def similar_customers(self, name: str, viewer: str | None) -> list[dict[str, Any]]:
        """The customers whose names are close to `name`, closest first, each with `visible`
        (the viewer may open it) and `same` (its name compares equal: a new deal of that
        name would be its): the duplicate warning of a form before it is sent."""
        key = name_key(name)
        with self.db.read() as s:
            close = rows.similar_to(s, name)
            seen = set(
                s.scalars(
                    select(Customer.id).where(
                        Customer.id.in_([c.id for c in close]), visible_customers(s, viewer)
                    )
                )
            )
            return [
                {"id": c.id, "name": c.name, "visible": c.id in seen, "same": c.name_key == key}
                for c in close
            ]

    def create_customer(
        self,
        name: Any,
        *,
        actor: str | None,
        owner: Any = None,
        tier: Any = None,
        industry: Any = None,
        region: Any = None,
        confirm: bool = False,
    ) -> CustomerItem:
        """Add a customer (see the module's text for who may, and for duplicates)."""
        text = _text(name, "name", MAX_NAME, required=True)
        assert text is not None
        wanted = {
            "tier": _tier(tier),
            "industry": _text(industry, "industry", FIELD_LIMITS["industry"]),
            "region": _text(region, "region", FIELD_LIMITS["region"]),
        }
        with self.db.write() as s:
            _check_adder(s, actor)
            who = _owner(s, owner, actor)
            _refuse_duplicates(s, text, confirm=confirm)
            row = rows.add(s, name=text, owner=who, now=clock.now(), **wanted)
            cid = row.id
        return self._item(cid)

    def update_customer(
        self, customer_id: str | int, changes: Mapping[str, Any], actor: str | None
    ) -> CustomerItem:
        """Change a customer's name, owner, tier, industry or region (the keys given; an
        empty value clears all but the name), by its owner or a manager.  A new name must
        not be another customer's (ConflictError); similar names are not asked about again."""
        unknown = sorted(set(changes) - set(CUSTOMER_FIELDS))
        if unknown:
            raise ValidationError(
                f"not a customer field: give {', '.join(CUSTOMER_FIELDS)}", field=unknown[0]
            )
        with self.db.write() as s:
            row = _visible(s, customer_id, actor)
            _check_change(s, row, actor)
            if "name" in changes:
                text = _text(changes["name"], "name", MAX_NAME, required=True)
                assert text is not None
                _refuse_duplicates(s, text, confirm=True, skip=row.id)
                row.name, row.name_key = text, name_key(text)[:MAX_NAME]
            if "owner" in changes:
                if _text(changes["owner"], "owner", 80) is None:
                    raise ValidationError("is required", field="owner")
                row.owner = _owner(s, changes["owner"], actor)
            if "tier" in changes:
                row.tier = _tier(changes["tier"])
            for key, limit in FIELD_LIMITS.items():
                if key in changes:
                    setattr(row, key, _text(changes[key], key, limit))
            row.updated_at = clock.now()
            cid = row.id
        return self._item(cid)

    def add_contact(
        self, customer_id: str | int, values: Mapping[str, Any], actor: str | None
    ) -> ContactRecord:
        """Add a person to a customer, by its owner or a manager."""
        found = _contact(values)
        with self.db.write() as s:
            row = _visible(s, customer_id, actor)
            _check_change(s, row, actor)
            contact = Contact(customer_id=row.id, created_at=clock.now(), **found)
            s.add(contact)
            s.flush()
            return rows.contact_record(contact)

    def update_contact(
        self,
        customer_id: str | int,
        contact_id: str | int,
        values: Mapping[str, Any],
        actor: str | None,
    ) -> ContactRecord:
        """Change a contact's fields (the keys given), by the customer's owner or a manager."""
        found = _contact(values, partial=True)
        with self.db.write() as s:
            contact = self._contact_row(s, customer_id, contact_id, actor)
            for key, value in found.items():
                setattr(contact, key, value)
            s.flush()
            return rows.contact_record(contact)

    def delete_contact(
        self, customer_id: str | int, contact_id: str | int, actor: str | None
    ) -> None:
        """Remove a contact, by the customer's owner or a manager."""
        with self.db.write() as s:
            s.delete(self._contact_row(s, customer_id, contact_id, actor))

    # --- helpers ------------------------------------------------------------------------

    def _contact_row(
        self, s: Session, customer_id: str | int, contact_id: str | int, actor: str | None
    ) -> Contact:
        row = _visible(s, customer_id, actor)
        ident = parse_id(contact_id, "contact")
        contact = s.get(Contact, ident)
        if contact is None or contact.customer_id != row.id:
            raise NotFoundError(f"no contact with id '{ident}'")
        _check_change(s, row, actor)
        return contact

    def _item(self, customer_id: int) -> CustomerItem:
        with self.db.read() as s:
            [item] = rows.items(
                s,
                where=[Customer.id == customer_id],
                won_stages=WON_STAGES,
                cadence=_cadence(s),
                now=clock.now(),
            )
            return item
