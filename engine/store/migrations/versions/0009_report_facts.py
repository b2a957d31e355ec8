"""Report facts: per deal, its stage entries, stays at elements, first actions on tasks and
wins, and their counts per stretch of time: what the reports read instead of grouping the
history (engine.usecases.reports.facts); filled here from the history and the open tasks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("bucket", sa.Integer(), nullable=True),
        sa.Column("previous", sa.Float(), nullable=True),
        sa.Column("higher", sa.Float(), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instance.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_fact", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_fact_instance", ["instance_id", "kind", "task_id"], unique=False
        )
        batch_op.create_index(
            "ix_report_fact_figure",
            ["kind", "process_id", "key", "bucket", "seconds", "at", "previous", "higher"],
            unique=False,
        )
        batch_op.create_index(
            "ix_report_fact_period",
            ["kind", "process_id", "at", "key", "bucket", "previous", "higher"],
            unique=False,
        )
    op.create_table(
        "report_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("further", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_count", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_count_group",
            ["kind", "process_id", "span", "key", "bucket", "further", "n"],
            unique=False,
        )
    op.create_table(
        "report_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The facts of the deals there are.  The engine's own code works them out: they depend
    # on each version's graph (stages, entry elements), read from the stored specs.
    from engine.usecases.reports import facts

    facts.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("report_pending")
    with op.batch_alter_table("report_count", schema=None) as batch_op:
        batch_op.drop_index("ix_report_count_group")

    op.drop_table("report_count")
    with op.batch_alter_table("report_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_report_fact_period")
        batch_op.drop_index("ix_report_fact_figure")
        batch_op.drop_index("ix_report_fact_instance")

    op.drop_table("report_fact")
