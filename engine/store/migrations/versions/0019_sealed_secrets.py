"""Secrets sealed at rest: room for the sealed values on PostgreSQL.

The signing secrets of the chat robots, the webhooks and the signed incoming messages were
VARCHAR(300), the longest secret an admin may give; sealed (engine.core.sealing) such a
secret is about 500 characters, so on PostgreSQL they become TEXT.  SQLite never enforces a
VARCHAR's length, and changing a column's type there means rebuilding the table, which the
robots' deliveries and choices refer to (with foreign keys on, dropping it fails): its
columns stay as they are.  The connectors' secrets and the robots' addresses were TEXT
already.

Why the values are not sealed here: a migration imports nothing of the engine and nothing
beyond alembic, SQLAlchemy and the standard library (tests/engine/test_migrations.py), so
that it does the same whenever it runs; sealing needs the `cryptography` package and the
engine's rule for finding this machine's key (engine.store.sealing).  Instead reading is
tolerant (a value without the `sealed:v1:` prefix opens as itself), every write seals, and
`salesflow init`, which runs this migration, seals the plain values left right after it
(engine.usecases.service.Service.setup_database, engine.store.sealing.seal_plain).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

SECRETS = (("chat_robot", True), ("webhook", False), ("inbound_hook", False))


def upgrade() -> None:
    _secrets_become(sa.Text(), sa.String(300))


def downgrade() -> None:
    """Back to VARCHAR(300).  PostgreSQL refuses it, changing nothing, while a secret is
    longer than that: the salesflow of before cannot open a sealed one anyway, so remove
    those robots, webhooks and signed-message secrets first and add them again after."""
    _secrets_become(sa.String(300), sa.Text())


def _secrets_become(new: sa.types.TypeEngine[str], old: sa.types.TypeEngine[str]) -> None:
    """The secret columns' type changed, on PostgreSQL (SQLite: see above)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, nullable in SECRETS:
        op.alter_column(table, "secret", type_=new, existing_type=old, existing_nullable=nullable)
