"""Team chat robots, outgoing webhooks and signed incoming messages (issue 18).

- `chat_robot`, `chat_choice`, `chat_delivery`: group robots an admin registers, the robot a
  user chose for their own notifications, and each message to a robot with its retries.
- `webhook`, `webhook_delivery`: addresses for deal events, and the outbox of deliveries
  (written with the change they report; the worker sends them).
- `inbound_hook`: the shared secret of each message another system may post signed.
- `notification.chatted_at`: the notifications already handed to the robots.  Those that
  exist now are marked handed, so that the first robot registered is not flooded with the
  past.  A plain ADD COLUMN (nullable, no foreign key).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    now = sa.DateTime(timezone=True)
    op.create_table(
        "chat_robot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=300), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "chat_choice",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("updated_at", now, nullable=False),
        sa.ForeignKeyConstraint(["robot_id"], ["chat_robot.id"]),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "chat_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", now, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.Column("delivered_at", now, nullable=True),
        sa.ForeignKeyConstraint(["robot_id"], ["chat_robot.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_chat_delivery_due", "chat_delivery", ["status", "next_at"])
    op.create_index("ix_chat_delivery_robot", "chat_delivery", ["robot_id", "id"])
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", now, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("created_at", now, nullable=False),
        sa.Column("delivered_at", now, nullable=True),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhook.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id"),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["status", "next_at"])
    op.create_index("ix_webhook_delivery_hook", "webhook_delivery", ["webhook_id", "id"])
    op.create_table(
        "inbound_hook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=120), nullable=False),
        sa.Column("secret", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", now, nullable=False),
        sa.Column("last_used_at", now, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message"),
    )
    op.add_column("notification", sa.Column("chatted_at", now, nullable=True))
    op.execute("UPDATE notification SET chatted_at = created_at")
    op.create_index("ix_notification_chat", "notification", ["chatted_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_chat", table_name="notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("chatted_at")
    op.drop_table("inbound_hook")
    op.drop_index("ix_webhook_delivery_hook", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
    op.drop_index("ix_chat_delivery_robot", table_name="chat_delivery")
    op.drop_index("ix_chat_delivery_due", table_name="chat_delivery")
    op.drop_table("chat_delivery")
    op.drop_table("chat_choice")
    op.drop_table("chat_robot")
