"""Time, people and messages: drafts, language and e-mail per user, notifications,
delegations, BPMN message subscriptions and received messages, workers, settings; SLA,
escalation and activity columns on deals and open tasks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_user", sa.String(length=80), nullable=False),
        sa.Column("to_user", sa.String(length=80), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.create_index("ix_delegation_ends", ["ends_at"], unique=False)
        batch_op.create_index("ix_delegation_from", ["from_user"], unique=False)

    op.create_table(
        "draft",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "username"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_user", ["username", "read_at"], unique=False)

    op.create_table(
        "received_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("correlation", sa.JSON(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("received_message", schema=None) as batch_op:
        batch_op.create_index("ix_received_message_pending", ["name", "delivered_at"], unique=False)

    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "worker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "message_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instance.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.create_index("ix_message_subscription_instance", ["instance_id"], unique=False)
        batch_op.create_index("ix_message_subscription_name", ["name"], unique=False)

    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_instance_stale", ["status", "stage", "activity_at"], unique=False)
    # Deals that exist already were last worked on when they last changed.
    op.execute("UPDATE instance SET activity_at = updated_at")

    with op.batch_alter_table("open_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalate_to", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("delegated_from", sa.String(length=80), nullable=True))
        batch_op.create_index("ix_open_task_due_at", ["due_at"], unique=False)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("language")

    with op.batch_alter_table("open_task", schema=None) as batch_op:
        batch_op.drop_index("ix_open_task_due_at")
        batch_op.drop_column("delegated_from")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalate_to")

    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_stale")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("activity_at")

    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_message_subscription_name")
        batch_op.drop_index("ix_message_subscription_instance")

    op.drop_table("message_subscription")
    op.drop_table("worker")
    op.drop_table("setting")
    with op.batch_alter_table("received_message", schema=None) as batch_op:
        batch_op.drop_index("ix_received_message_pending")

    op.drop_table("received_message")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user")

    op.drop_table("notification")
    op.drop_table("draft")
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.drop_index("ix_delegation_from")
        batch_op.drop_index("ix_delegation_ends")

    op.drop_table("delegation")
