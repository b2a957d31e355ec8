"""The board's covering index (process, status, stage, last change) replaces the index on
(process, status), which is its prefix.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_process_status")
        batch_op.create_index(
            "ix_instance_board", ["process_id", "status", "stage", "updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_board")
        batch_op.create_index("ix_instance_process_status", ["process_id", "status"], unique=False)
