"""A chat robot or a webhook can be paused (engine.store.integrations): nothing is queued for
it and nothing is sent to it until it is resumed, and it keeps its settings and its log.  The
demo's point at this machine and are paused, so that a fresh `make run` sends nothing.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TABLES = ("chat_robot", "webhook")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(
            table, sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("paused")
