"""Indexes for the pages at 100,000 deals (issue 16).

A row of `instance` carries the deal's serialized workflow and its JSON (a few KiB): a page
that reads thousands of them is slow whatever it does with them, most of all on SQLite, where
the row is one B-tree cell.  These indexes answer the pages' questions by themselves:

- `ix_instance_version` (process, status, version, lock_version, id): a process's deals
  counted per version and status (the versions list of the process page) and its open deals
  with their lock_version (the heatmap, engine.store.heat).
- `ix_instance_list` (id, then what the deal list filters and sorts by): a page of the list
  is found in it, in id order, and only that page's rows are read (engine.usecases.deals).
- `ix_instance_board` gains the owner and the id, so that the deals a rep may see on the board
  are told apart in the index (engine.usecases.access).
- `ix_report_count_total` (kind, process, key, bucket, further, n): the report counts of all
  time summed in index order (a heatmap's median stays, engine.usecases.heat).

PostgreSQL answers from an index alone only what the index holds: the id is named in each
(SQLite keeps it in every index anyway).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BOARD = ["process_id", "status", "stage", "updated_at", "amount"]
# The list's columns as engine.store.models.LIST_COLUMNS has them today.
_LIST = [
    "id",
    "process_id",
    "status",
    "owner",
    "stage",
    "tier",
    "lead_source",
    "name",
    "amount",
    "expected_close",
    "created_at",
    "updated_at",
    "activity_at",
]


def upgrade() -> None:
    # Plain CREATE/DROP INDEX: a batch copy of `instance` would break the foreign keys of the
    # rows that point at it.
    op.create_index(
        "ix_instance_version",
        "instance",
        ["process_id", "status", "version_id", "lock_version", "id"],
    )
    op.create_index("ix_instance_list", "instance", _LIST)
    op.drop_index("ix_instance_board", table_name="instance")
    op.create_index("ix_instance_board", "instance", [*_BOARD, "owner", "id"])
    op.create_index(
        "ix_report_count_total",
        "report_count",
        ["kind", "process_id", "key", "bucket", "further", "n"],
    )


def downgrade() -> None:
    op.drop_index("ix_report_count_total", table_name="report_count")
    op.drop_index("ix_instance_board", table_name="instance")
    op.create_index("ix_instance_board", "instance", _BOARD)
    op.drop_index("ix_instance_list", table_name="instance")
    op.drop_index("ix_instance_version", table_name="instance")
