"""Open tasks by holder and role, so counting a queue reads the index alone.

The navigation counts a user's queued tasks (no holder, one of the user's roles) on every
page.  With an index on role alone that read every open task of the role and then its row
to check the holder: ~10,000 rows for a rep's 10,000 deals whose tasks are all held.  One
index on (assignee, role) answers both counts (own: assignee; queued: no assignee and role)
and replaces the index on assignee alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("open_task", schema=None) as batch_op:
        batch_op.create_index("ix_open_task_queue", ["assignee", "role"], unique=False)
        batch_op.drop_index("ix_open_task_assignee")


def downgrade() -> None:
    with op.batch_alter_table("open_task", schema=None) as batch_op:
        batch_op.create_index("ix_open_task_assignee", ["assignee"], unique=False)
        batch_op.drop_index("ix_open_task_queue")
