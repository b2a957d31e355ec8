"""HTTP connectors for service tasks, allowed hosts and stored secrets (issue 18).

- `allowed_host`: the hosts connectors may call, and whether each may be an internal address.
- `connector_secret`: named secrets for connector headers (never shown back).
- `connector_operator`: the HTTP request a spiff-arena operator (slack/PostMessage) runs as.
- `connector_call`: each call a waiting service task needs, the worker's queue and its log.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    now = sa.DateTime(timezone=True)
    op.create_table(
        "allowed_host",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("host"),
    )
    op.create_table(
        "connector_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=True),
        sa.Column("updated_at", now, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "connector_operator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=True),
        sa.Column("updated_at", now, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "connector_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=False),
        sa.Column("element_name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", now, nullable=True),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("host", sa.String(length=253), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("millis", sa.Integer(), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.Column("finished_at", now, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_connector_call_due", "connector_call", ["status", "next_at"])
    op.create_index("ix_connector_call_instance", "connector_call", ["instance_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_connector_call_instance", table_name="connector_call")
    op.drop_index("ix_connector_call_due", table_name="connector_call")
    op.drop_table("connector_call")
    op.drop_table("connector_operator")
    op.drop_table("connector_secret")
    op.drop_table("allowed_host")
