"""Customers: accounts with their contacts, the activities logged with them, and the team's
monthly targets; every deal points at its customer.

The deals started before this change are linked by company name: the deals whose data names
a `company` with the same name key (engine.core.customers.name_key, copied below as it is
today so that this migration stays what it was) become one customer, owned by the owner of
its latest deal, with that deal's tier.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_WORD_SUFFIXES = ("co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "llc",
                  "gmbh", "plc", "group", "company")  # fmt: skip
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")


def _name_key(name: str) -> str:
    words = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", name).casefold()).split()
    plain = "".join(words)
    while len(words) > 1 and words[-1] in _WORD_SUFFIXES:
        words.pop()
    if words:
        for suffix in _CJK_SUFFIXES:
            if words[-1].endswith(suffix) and len(words[-1]) > len(suffix):
                words[-1] = words[-1][: -len(suffix)]
                break
    return "".join(words) or plain


def upgrade() -> None:
    now = sa.DateTime(timezone=True)
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=True),
        sa.Column("tier", sa.String(length=8), nullable=True),
        sa.Column("industry", sa.String(length=120), nullable=True),
        sa.Column("region", sa.String(length=120), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.Column("updated_at", now, nullable=False),
        sa.Column("last_activity_at", now, nullable=True),
        sa.Column("next_follow_up", sa.Date(), nullable=True),
        sa.Column("reminded_at", now, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_name_key", "customer", ["name_key"])
    op.create_index("ix_customer_owner", "customer", ["owner"])
    op.create_index("ix_customer_cadence", "customer", ["tier", "last_activity_at"])
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=120), nullable=True),
        sa.Column("phone", sa.String(length=60), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("wechat", sa.String(length=120), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_customer", "contact", ["customer_id"])
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", now, nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.Column("next_step", sa.String(length=300), nullable=True),
        sa.Column("next_step_at", sa.Date(), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_activity_customer", "activity", ["customer_id", "at"])
    op.create_index("ix_activity_instance", "activity", ["instance_id", "at"])
    op.create_index("ix_activity_by", "activity", ["by", "at"])
    op.create_table(
        "target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("set_by", sa.String(length=80), nullable=True),
        sa.Column("set_at", now, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "username", "metric"),
    )
    # A plain ADD COLUMN (nullable, no default): a batch copy of `instance` would break the
    # foreign keys of the rows that point at it.
    # No foreign key constraint: SQLite adds none to a table that exists (and a batch copy of
    # `instance` breaks the keys that point at it), so both databases leave the link to the
    # application, which never deletes a customer.
    op.add_column("instance", sa.Column("customer_id", sa.Integer(), nullable=True))
    op.create_index("ix_instance_customer", "instance", ["customer_id"])
    _link_deals()


def _link_deals() -> None:
    """One customer per company name key of the deals so far (see the module's text)."""
    bind = op.get_bind()
    deals = bind.execute(
        sa.text("SELECT id, data, owner, tier, created_at FROM instance ORDER BY created_at, id")
    ).all()
    groups: dict[str, list[tuple[int, str, Any, Any, Any]]] = {}
    for ident, data, owner, tier, created in deals:
        values = json.loads(data) if isinstance(data, str) else (data or {})
        company = values.get("company") if isinstance(values, dict) else None
        if not isinstance(company, str) or not company.strip():
            continue
        key = _name_key(company)[:300]
        groups.setdefault(key, []).append((ident, company.strip()[:300], owner, tier, created))
    customer = sa.table(
        "customer",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("name_key", sa.String()),
        sa.column("owner", sa.String()),
        sa.column("tier", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    sqlite = bind.dialect.name == "sqlite"

    def moment(value: Any) -> datetime:
        """A time as the column keeps it: naive UTC on SQLite (models.UTCDateTime)."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            value = datetime.now(UTC)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None) if sqlite else value

    now = moment(None)
    for key, found in groups.items():
        first, last = found[0], found[-1]
        made = bind.execute(
            customer.insert()
            .values(
                name=last[1],
                name_key=key,
                owner=last[2],
                tier=last[3],
                created_at=moment(first[4]),
                updated_at=now,
            )
            .returning(customer.c.id)
        ).scalar_one()
        ids = [deal[0] for deal in found]
        bind.execute(
            sa.text("UPDATE instance SET customer_id = :customer WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"customer": made, "ids": ids},
        )


def downgrade() -> None:
    op.drop_index("ix_instance_customer", table_name="instance")
    op.drop_column("instance", "customer_id")
    op.drop_table("target")
    op.drop_index("ix_activity_by", table_name="activity")
    op.drop_index("ix_activity_instance", table_name="activity")
    op.drop_index("ix_activity_customer", table_name="activity")
    op.drop_table("activity")
    op.drop_index("ix_contact_customer", table_name="contact")
    op.drop_table("contact")
    op.drop_index("ix_customer_cadence", table_name="customer")
    op.drop_index("ix_customer_owner", table_name="customer")
    op.drop_index("ix_customer_name_key", table_name="customer")
    op.drop_table("customer")
