"""Deal basics: the expected close date of a deal, and why it was lost.

`expected_close` is the day the owner expects the deal to close (a date, no time).
`lost_reason` is the deal data's `lost_reason` as the change writer keeps it (like
`lead_source` and `tier`), so lists show it without reading the data; filled here from the
data of the deals that have one.  The board's index gains `amount`, so that the value of each
stage is summed from the index alone, as its count is.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BOARD = ["process_id", "status", "stage", "updated_at"]


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable, no default): a batch copy of `instance` would break the
    # foreign keys of the rows that point at it.
    op.add_column("instance", sa.Column("expected_close", sa.Date(), nullable=True))
    op.add_column("instance", sa.Column("lost_reason", sa.String(length=300), nullable=True))
    op.drop_index("ix_instance_board", table_name="instance")
    op.create_index("ix_instance_board", "instance", [*_BOARD, "amount"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        reason = "LEFT(CAST(data AS jsonb) ->> 'lost_reason', 300)"
    else:
        reason = "SUBSTR(CAST(json_extract(data, '$.lost_reason') AS TEXT), 1, 300)"
    op.execute(f"UPDATE instance SET lost_reason = NULLIF({reason}, '') WHERE {reason} IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_instance_board", table_name="instance")
    op.create_index("ix_instance_board", "instance", _BOARD, unique=False)
    op.drop_column("instance", "lost_reason")
    op.drop_column("instance", "expected_close")
