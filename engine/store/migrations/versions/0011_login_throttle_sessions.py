"""Log-in throttling and revocable sessions.

`login_throttle` counts failed log-ins per user name and per client address in the database,
so that every web process (several on PostgreSQL) sees the same count.  A user's
`session_generation` is stored in the session at log-in and checked on every request;
log-out, a password change and an admin's "log out everywhere" add one to it, which ends every
session issued before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    # A plain ADD COLUMN (SQLite has one for a column with a default): a batch copy of
    # user_account would break the foreign keys of the rows that point at it.
    op.add_column(
        "user_account",
        sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("user_account", "session_generation")
    op.drop_table("login_throttle")
