"""The report facts and their counts carry the number of the version the deal runs on.

Once a process had deals on several versions, the heatmap of one version (the process page's
link) and any report filtered by version read that version's deals' facts one by one and
sorted them in Python: 1.4-2 s at 100,000 deals.  With the version on each fact and each
count, the version's figures come from the counts and the few facts around the middle, as the
whole process's do.  The version is the last column of the indexes the reports read, so that
they still answer from the index alone.

report_fact's versions are copied from the deals; report_count is counted again from the
facts, per version (a group may have several rows, to be added up, so the downgrade only drops
the column).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# engine.usecases.reports.facts as it is at this revision.
_COUNTED = ("stage", "element", "response", "won")
_SPAN = 30 * 86400
_NO_BUCKET = -(2**31 - 1)
_BATCH = 5_000

_FIGURE = ["kind", "process_id", "key", "bucket", "seconds", "at", "previous", "higher"]
_PERIOD = ["kind", "process_id", "at", "key", "bucket", "previous", "higher"]
_GROUP = ["kind", "process_id", "span", "key", "bucket", "further"]
_TOTAL = ["kind", "process_id", "key", "bucket", "further"]


def _indexes(version: list[str], count_version: list[str]) -> None:
    op.create_index("ix_report_fact_figure", "report_fact", [*_FIGURE, *version])
    op.create_index("ix_report_fact_period", "report_fact", [*_PERIOD, *version])
    op.create_index("ix_report_count_group", "report_count", [*_GROUP, *count_version, "n"])
    op.create_index("ix_report_count_total", "report_count", [*_TOTAL, *count_version, "n"])


def _drop_indexes() -> None:
    for name, table in (
        ("ix_report_fact_figure", "report_fact"),
        ("ix_report_fact_period", "report_fact"),
        ("ix_report_count_group", "report_count"),
        ("ix_report_count_total", "report_count"),
    ):
        op.drop_index(name, table_name=table)


def _recount(conn: sa.Connection) -> None:
    """report_count anew from report_fact, per version: the facts grouped in SQL by their fine
    bucket and 30-day span, halved into report_count's buckets here."""
    span = (
        "CAST(at / :span AS INTEGER)"  # `at` is after 1970: truncating is flooring
        if conn.dialect.name == "sqlite"
        else "CAST(floor(at / :span) AS INTEGER)"
    )
    rows = conn.execute(
        sa.text(
            f"SELECT kind, process_id, {span} AS span, key, bucket,"
            " CASE WHEN kind = 'stage' AND higher IS NOT NULL THEN 1 ELSE 0 END AS further,"
            " version, COUNT(*) FROM report_fact WHERE kind IN :kinds"
            " GROUP BY kind, process_id, span, key, bucket, further, version"
        ).bindparams(sa.bindparam("kinds", expanding=True)),
        {"span": _SPAN, "kinds": list(_COUNTED)},
    )
    counts: Counter[tuple[object, ...]] = Counter()
    for kind, process_id, span_no, key, fine, further, version, n in rows:
        coarse = _NO_BUCKET if fine is None else fine // 2
        counts[(kind, process_id, span_no, key, coarse, further, version)] += n
    conn.execute(sa.text("DELETE FROM report_count"))
    table = sa.table("report_count", *(sa.column(c) for c in (*_GROUP, "version", "n")))
    rows_out = [
        dict(zip((*_GROUP, "version"), k, strict=True)) | {"n": n}
        for k, n in sorted(counts.items())
        if n
    ]
    for start in range(0, len(rows_out), _BATCH):
        conn.execute(sa.insert(table), rows_out[start : start + _BATCH])


def upgrade() -> None:
    _drop_indexes()
    for table in ("report_fact", "report_count"):
        op.add_column(table, sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE report_fact SET version ="
            " (SELECT version_number FROM instance WHERE instance.id = report_fact.instance_id)"
        )
    )
    _recount(conn)
    _indexes(["version"], ["version"])


def downgrade() -> None:
    _drop_indexes()
    op.drop_column("report_count", "version")
    op.drop_column("report_fact", "version")
    _indexes([], [])
