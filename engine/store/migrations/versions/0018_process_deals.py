"""How many deals each process has, kept as deals are added (engine.store.heat): the heatmap
and the versions list read it instead of counting a process's deals in an index, which took
PostgreSQL 10 ms at 100,000 deals.  Filled here from the deals there are.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

STRIPES = 16  # engine.store.heat.STRIPES


def upgrade() -> None:
    op.create_table(
        "process_deals",
        sa.Column("process_id", sa.String(200), primary_key=True),
        sa.Column("stripe", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.execute(
        "INSERT INTO process_deals (process_id, stripe, n) "
        f"SELECT process_id, id % {STRIPES}, count(*) FROM instance "
        f"GROUP BY process_id, id % {STRIPES}"
    )


def downgrade() -> None:
    op.drop_table("process_deals")
