"""Database tables (SQLAlchemy 2 typed models).

The schema itself is owned by the Alembic migrations in engine/migrations; a test checks that
these models and the migrated schema agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STATUSES = ("running", "completed", "cancelled", "error")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive, as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# A secret stored sealed (engine.core.sealing): longer than the 300 characters it was
# written for.  TEXT on PostgreSQL (migration 0019); SQLite keeps VARCHAR(300), whose length
# it never enforces, rather than rebuilding tables other rows refer to.
SEALED_SECRET = String(300).with_variant(Text(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    # The UI language the user chose ("en", "zh"); None follows the browser.
    language: Mapped[str | None] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Stored in a session at log-in and checked on every request: log-out, a password change
    # and "log out everywhere" add one, which ends every session issued before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    # `role` is the normalised key ("sales rep"); `label` what the admin typed.
    role: Mapped[str] = mapped_column(String(120), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))

    user: Mapped[User] = relationship(back_populates="roles")


class LoginThrottle(Base):
    """Failed log-ins counted per user name ("user:alice") or client address
    ("addr:192.0.2.1"), shared by every web process; the rule is engine.usecases.users."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class ApiToken(Base):
    """A per-user API token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Definition(Base):
    __tablename__ = "definition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    latest_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DefinitionVersion(Base):
    __tablename__ = "definition_version"
    __table_args__ = (
        UniqueConstraint("definition_id", "version"),
        UniqueConstraint("definition_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    # The source files (BPMN, DMN, forms) by file name, and the parsed spec as the
    # library's own JSON, so an instance load never re-parses XML.
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec: Mapped[str] = mapped_column(Text)
    deployed_by: Mapped[str | None] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    definition: Mapped[Definition] = relationship(lazy="joined")


# The board's index: counts, values and the newest cards per stage, and with the owner and the
# id the deals a rep may see (engine.usecases.access), index only (migration 0015).
BOARD_COLUMNS = ("process_id", "status", "stage", "updated_at", "amount", "owner", "id")
# What the deal list filters and sorts by, after the id: ix_instance_list (migration 0015
# copies this list as it is today).
LIST_COLUMNS = (
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
)


class Instance(Base):
    """One deal: one run of a definition version."""

    __tablename__ = "instance"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'completed', 'cancelled', 'error')", name="ck_instance_status"
        ),
        Index("ix_instance_next_due_at", "next_due_at"),
        # Covers the board (BOARD_COLUMNS).
        Index("ix_instance_board", *BOARD_COLUMNS),
        Index("ix_instance_owner", "owner"),
        Index("ix_instance_stale", "status", "stage", "activity_at"),
        Index("ix_instance_customer", "customer_id"),
        # A process's deals counted per version and status, and its open deals with their
        # lock_version (the heatmap, the versions list), index only (PostgreSQL needs the id
        # in it for that): migration 0015.
        Index("ix_instance_version", "process_id", "status", "version_id", "lock_version", "id"),
        # The deal list in id order with what it filters and sorts by: a page is found here
        # and only its rows are read (engine.usecases.deals `instances`; migration 0015).
        Index("ix_instance_list", *LIST_COLUMNS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))
    # The customer (account) the deal is for; None for a process without one (initiatives).
    # No foreign key constraint (see migration 0014): the use cases keep the link.
    customer_id: Mapped[int | None]
    process_id: Mapped[str] = mapped_column(String(200))
    version_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(80))
    # The deal's value: given at the start, edited by the owner or a manager, and replaced by
    # the process's own figure (its data's amount, else its quote) when that changes.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    # The day the owner expects the deal to close.
    expected_close: Mapped[date | None]
    lead_source: Mapped[str | None] = mapped_column(String(80))
    tier: Mapped[str | None] = mapped_column(String(8))
    # The data's lost_reason (what a lost deal's record shows: engine.usecases.outcomes).
    lost_reason: Mapped[str | None] = mapped_column(String(300))
    stage: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="running")
    # Serialized SpiffWorkflow state without the spec (that lives once per version).
    state: Mapped[str] = mapped_column(Text)
    # What a rep reads: the data merged across the open tasks.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # element id -> last finished state, for elements pruned from the task tree.
    visited: Mapped[dict[str, Any]] = mapped_column(JSON)
    # element id -> state now (visited overlaid with what is open), and the waiting timers:
    # what pages and charts read without loading the workflow.
    position: Mapped[dict[str, Any]] = mapped_column(JSON)
    timers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lock_version: Mapped[int] = mapped_column(default=1)
    next_due_at: Mapped[datetime | None]
    # The last time someone worked on the deal or it changed stage (stale deals).
    activity_at: Mapped[datetime | None]
    # Set while an SLA of one of its open tasks has passed and been escalated.
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]

    version: Mapped[DefinitionVersion] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": lock_version}


class OpenTask(Base):
    """The inbox index: one row per ready human task, never needing the workflow."""

    __tablename__ = "open_task"
    __table_args__ = (
        Index("ix_open_task_instance", "instance_id"),
        Index("ix_open_task_queue", "assignee", "role"),  # own and queued counts
        Index("ix_open_task_role", "role"),
        Index("ix_open_task_due_at", "due_at"),
    )

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(120))
    assignee: Mapped[str | None] = mapped_column(String(80))
    stage: Mapped[str | None] = mapped_column(String(40))
    form: Mapped[str | None] = mapped_column(String(300))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # SLA: the role the task escalates to when due_at passes, and when it did.
    escalate_to: Mapped[str | None] = mapped_column(String(120))
    escalated_at: Mapped[datetime | None]
    # Who the task was assigned to before a delegation moved it (it goes back after).
    delegated_from: Mapped[str | None] = mapped_column(String(80))


class History(Base):
    """Append-only: everything that happened to an instance."""

    __tablename__ = "history"
    __table_args__ = (
        Index("ix_history_instance", "instance_id", "id"),
        Index("ix_history_task", "task_id"),
        Index("ix_history_actor", "actor", "instance_id"),
        # Reports: per element over a period (engine.usecases.reports), index only.
        Index("ix_history_element", "element_id", "at", "entered_at", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    task_id: Mapped[str | None] = mapped_column(String(36))
    # When the element became ready/waiting, for time-in-element figures.
    entered_at: Mapped[datetime | None]
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ReportFact(Base):
    """What the reports read instead of the history (engine.usecases.reports.facts): a stage a deal
    entered, a stay at an element, a person's first action on a task, a win.  Derived from a
    deal's history and open tasks, worked out anew after the deal changed (report_pending).
    Times are seconds since 1970: compared and sorted as numbers."""

    __tablename__ = "report_fact"
    __table_args__ = (
        Index("ix_report_fact_instance", "instance_id", "kind", "task_id"),
        # The values of a few buckets of duration, per key, over a period: index only.
        Index(
            "ix_report_fact_figure",
            "kind",
            "process_id",
            "key",
            "bucket",
            "seconds",
            "at",
            "previous",
            "higher",
            "version",
        ),
        # The facts of a stretch of time (the ends of a period), index only.
        Index(
            "ix_report_fact_period",
            "kind",
            "process_id",
            "at",
            "key",
            "bucket",
            "previous",
            "higher",
            "version",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    process_id: Mapped[str] = mapped_column(String(200))
    # The number of the version the deal runs on (a version's heatmap and reports count its
    # deals' facts alone: migration 0020).
    version: Mapped[int] = mapped_column(Integer, server_default="0")
    # stage (a deal's first entry into it, without a further stage entered before), restage
    # (any other entry), element, response, won; "irregular" marks a deal whose stays in a
    # stage depend on where the period starts (worked out then, not kept in `seconds`).
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))  # the stage, the element id, the person
    at: Mapped[float] = mapped_column(Float)  # when it counts for a period
    seconds: Mapped[float | None] = mapped_column(Float)  # how long it took
    bucket: Mapped[int | None]  # a coarse class of `seconds`, in the same order
    # A stage: its previous entry and the last entry of a stage further on, by the deal.
    previous: Mapped[float | None] = mapped_column(Float)
    higher: Mapped[float | None] = mapped_column(Float)
    # A response: its task; a stage entry only an open task tells of: that task.
    task_id: Mapped[str | None] = mapped_column(String(36))


class ReportCount(Base):
    """The report facts counted per stretch of time (`span`: 30 days from 1970 on), key,
    bucket of duration (halved) and whether a stage entry went further: a report over a long
    period adds up these counts and reads single facts only at its two ends.  Kept in step
    with report_fact (engine.usecases.reports.facts); restage facts are not counted here.  A group
    may have several rows, to be added up: changes append theirs and fold the rows no other
    transaction holds, so concurrent changes never wait for each other here."""

    __tablename__ = "report_count"
    __table_args__ = (
        Index(
            "ix_report_count_group",
            "kind",
            "process_id",
            "span",
            "key",
            "bucket",
            "further",
            "version",
            "n",
        ),
        # The counts of all time, in the order they are summed (a heatmap's median stays,
        # engine.usecases.heat): index only, without sorting (migrations 0015, 0020).
        Index(
            "ix_report_count_total",
            "kind",
            "process_id",
            "key",
            "bucket",
            "further",
            "version",
            "n",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    process_id: Mapped[str] = mapped_column(String(200))
    span: Mapped[int]
    key: Mapped[str] = mapped_column(String(200))
    bucket: Mapped[int]
    further: Mapped[int]
    version: Mapped[int] = mapped_column(Integer, server_default="0")  # the deals' version number
    n: Mapped[int]


class ReportPending(Base):
    """A deal changed since its report facts were last worked out (engine.usecases.reports.facts):
    appended by each change, taken by the reports before they read."""

    __tablename__ = "report_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int]


class ProcessDeals(Base):
    """How many deals a process has on each version, kept as each deal's row is added and
    as deals are moved to another version (engine.store.heat): PostgreSQL counts 100,000
    index entries for a count(*) (10 ms a heatmap page; 25 ms per version and status).
    Striped by the deal's id, so that deals started at the same time do not wait for one
    row; a count is the sum of its stripes."""

    __tablename__ = "process_deals"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stripe: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


# A process's count is kept in this many rows per version (ProcessDeals), one per remainder
# of a deal's id: deals started at the same time add to different rows.
STRIPES = 16
ADD_DEAL = text(
    "INSERT INTO process_deals (process_id, version_id, stripe, n) "
    "VALUES (:process_id, :version_id, :stripe, 1) "
    "ON CONFLICT (process_id, version_id, stripe) DO UPDATE SET n = process_deals.n + 1"
)


@event.listens_for(Instance, "after_insert")
def _count_new_deal(_mapper: Any, connection: Any, deal: Instance) -> None:
    """Every deal's row added through the ORM is counted in ProcessDeals in the same
    transaction (SQLite and PostgreSQL both upsert with ON CONFLICT)."""
    connection.execute(
        ADD_DEAL,
        {"process_id": deal.process_id, "version_id": deal.version_id, "stripe": deal.id % STRIPES},
    )


class Draft(Base):
    """A task form saved half-filled by one user, kept until the task is completed."""

    __tablename__ = "draft"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime]


class Notification(Base):
    """Something a user should know: shown under the bell, e-mailed when SMTP is set up."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user", "username", "read_at"),
        Index("ix_notification_chat", "chatted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None]
    task_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
    # Handed to the team-chat robots (engine.jobs.deliveries), told or not: each once.
    chatted_at: Mapped[datetime | None]


class Delegation(Base):
    """A rep's work handed to another user until `ends_at` (a holiday), then handed back."""

    __tablename__ = "delegation"
    __table_args__ = (
        Index("ix_delegation_from", "from_user"),
        Index("ix_delegation_ends", "ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_user: Mapped[str] = mapped_column(String(80))
    to_user: Mapped[str] = mapped_column(String(80))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class MessageSubscription(Base):
    """An instance waiting for a BPMN message (kept in step with the workflow on each save)."""

    __tablename__ = "message_subscription"
    __table_args__ = (
        Index("ix_message_subscription_name", "name"),
        Index("ix_message_subscription_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    name: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))


class ReceivedMessage(Base):
    """Every message delivered from outside: for idempotence (a message id is delivered
    once) and for messages kept until an instance waits for them."""

    __tablename__ = "received_message"
    __table_args__ = (Index("ix_received_message_pending", "name", "delivered_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    correlation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    instance_id: Mapped[int | None]
    received_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class WorkerHeartbeat(Base):
    """A running `salesflow worker` and its heartbeat (one at a time on SQLite)."""

    __tablename__ = "worker"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]


class Setting(Base):
    """Team settings an admin edits: business hours, holidays, stale days per stage."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(80))


class Initiative(Base):
    """An optimisation initiative: an instance of the initiative process, the sales process it
    improves, its lead, and the moment its changes took effect (the before/after line)."""

    __tablename__ = "initiative"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    name: Mapped[str] = mapped_column(String(300))
    process_id: Mapped[str] = mapped_column(String(200))
    lead: Mapped[str] = mapped_column(String(80))
    effective_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(80))


class InitiativeRow(Base):
    """One row of an initiative's execution table."""

    __tablename__ = "initiative_row"
    __table_args__ = (
        CheckConstraint(
            "status IN ('not started', 'in progress', 'done', 'blocked')",
            name="ck_initiative_row_status",
        ),
        Index("ix_initiative_row_initiative", "initiative_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id"))
    position: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(String(200), default="")
    task: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(80))
    planned_date: Mapped[date | None]
    actual_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default="not started")
    notes: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    # Element ids of the sales process this row changes.
    elements: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Consecutive weekly reviews that found the row blocked; flagged at three.
    blocked_reviews: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(80))
    reminded_at: Mapped[datetime | None]


class InitiativeReview(Base):
    """A weekly review of an initiative: when, by whom, which rows were blocked."""

    __tablename__ = "initiative_review"
    __table_args__ = (Index("ix_initiative_review_initiative", "initiative_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id"))
    at: Mapped[datetime]
    by: Mapped[str | None] = mapped_column(String(80))
    blocked_rows: Mapped[list[int]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")


class DefinitionDraft(Base):
    """A designer's unpublished edit of a definition: the files as saved in the designer,
    kept until published or discarded (one per process and designer)."""

    __tablename__ = "definition_draft"
    __table_args__ = (UniqueConstraint("process_id", "saved_by"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    # The version the edit started from (None for a new process).
    base_version: Mapped[int | None]
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_by: Mapped[str] = mapped_column(String(80))
    saved_at: Mapped[datetime]


class SavedFilter(Base):
    """A filter and sort of a list a user saved under a name (a "saved view"), one of which
    may open by default; the rules are engine.usecases.saved_filters'."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("username", "page", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A user name as the other per-user tables keep it (draft, notification): no foreign key.
    username: Mapped[str] = mapped_column(String(80))
    page: Mapped[str] = mapped_column(String(40))  # the list it filters: "deals"
    name: Mapped[str] = mapped_column(String(80))
    # The list's query parameters, parameter -> value ({"stage": "proposal", "sort": "-amount"}).
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


# --- customers: accounts, their contacts, what was done with them, and the team's targets ----


class Customer(Base):
    """A customer (account): a company the team sells to, with every deal it ever had.  The
    rules are engine.usecases.customers'."""

    __tablename__ = "customer"
    __table_args__ = (
        Index("ix_customer_name_key", "name_key"),
        Index("ix_customer_owner", "owner"),
        # The cadence sweep: customers whose last activity is older than their tier's rhythm.
        Index("ix_customer_cadence", "tier", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # The name as compared (engine.core.customers.name_key): case, spaces, punctuation and
    # company-form suffixes left out, so that "ACME Ltd." and "acme" are one customer.
    name_key: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(80))
    tier: Mapped[str | None] = mapped_column(String(8))  # A, B or C
    industry: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The latest activity logged with the customer or one of its deals.
    last_activity_at: Mapped[datetime | None]
    # The next step's date of the latest activity that set one.
    next_follow_up: Mapped[date | None]
    # When the cadence reminder for the current silence was raised (one per silence).
    reminded_at: Mapped[datetime | None]


class Contact(Base):
    """A person at a customer: their role in the decision chain and how to reach them."""

    __tablename__ = "contact"
    __table_args__ = (Index("ix_contact_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(120))  # in the decision chain
    phone: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(200))
    wechat: Mapped[str | None] = mapped_column(String(120))  # WeCom / WeChat id
    created_at: Mapped[datetime]


class Activity(Base):
    """A call, visit, meeting, e-mail or message with a customer, about one of its deals or
    the customer as a whole."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_customer", "customer_id", "at"),
        Index("ix_activity_instance", "instance_id", "at"),
        Index("ix_activity_by", "by", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    kind: Mapped[str] = mapped_column(String(20))  # call, visit, meeting, email, message
    at: Mapped[datetime]  # when it happened
    by: Mapped[str] = mapped_column(String(80))  # who did it
    notes: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(300))
    next_step: Mapped[str | None] = mapped_column(String(300))
    next_step_at: Mapped[date | None]
    created_at: Mapped[datetime]


class Target(Base):
    """A target for a month: the team's (`username` "") or a rep's, of one metric."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("period", "username", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    # The rep the target is for; "" for the team's (a NULL would not be unique).
    username: Mapped[str] = mapped_column(String(80))
    metric: Mapped[str] = mapped_column(String(20))  # won_value, won_deals, visits, proposals
    value: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    set_by: Mapped[str | None] = mapped_column(String(80))
    set_at: Mapped[datetime]


class ChatRobot(Base):
    """A team-chat group robot (WeCom, Feishu, DingTalk) an admin registered: the team's
    events it is told (`events`; none: only the people who chose it), in its `language`."""

    __tablename__ = "chat_robot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    vendor: Mapped[str] = mapped_column(String(16))  # engine.core.chat.VENDORS
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(SEALED_SECRET)  # never shown back
    language: Mapped[str] = mapped_column(String(8))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # Paused by an admin: nothing is queued for it or sent to it until it is resumed.
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]


class ChatChoice(Base):
    """A user's own notifications also go to this robot's group, for these events."""

    __tablename__ = "chat_choice"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("chat_robot.id"))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class ChatDelivery(Base):
    """One message to a robot, tried until it is taken (engine.jobs.deliveries)."""

    __tablename__ = "chat_delivery"
    __table_args__ = (
        Index("ix_chat_delivery_due", "status", "next_at"),
        Index("ix_chat_delivery_robot", "robot_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("chat_robot.id"))
    notification_id: Mapped[int | None]
    event: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    link: Mapped[str | None] = mapped_column(String(500))  # a path of the app
    recipient: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Webhook(Base):
    """An address an admin registered for deal events, each delivery signed with `secret`."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(SEALED_SECRET)  # never shown back
    active: Mapped[bool] = mapped_column(default=True)
    # Paused by an admin: nothing is queued for it or sent to it until it is resumed.
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one webhook (the transactional outbox): written with the change it
    reports, sent by the worker until the receiver takes it, with the same `delivery_id`
    (the receiver's idempotency key) and the same raw `body` on every try."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_at"),
        Index("ix_webhook_delivery_hook", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"))
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class InboundHook(Base):
    """The shared secret under which another system may post the message `message` signed,
    without a user's token (POST /api/v1/hooks/messages/{name})."""

    __tablename__ = "inbound_hook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message: Mapped[str] = mapped_column(String(120), unique=True)
    secret: Mapped[str] = mapped_column(SEALED_SECRET)  # never shown back
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class AllowedHost(Base):
    """A host connectors may call (engine.core.connectors): nothing else is reachable, and an
    internal address (loopback, private, link-local, metadata) only where `internal` says so."""

    __tablename__ = "allowed_host"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    internal: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]


class ConnectorSecret(Base):
    """A named secret connectors put into headers ({{secret:NAME}}); never shown back."""

    __tablename__ = "connector_secret"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime]


class ConnectorOperator(Base):
    """The HTTP request a spiff-arena operator (slack/PostMessage, ...) runs as here, set by
    an admin: method, URL, header, body and result lines (engine.core.connectors)."""

    __tablename__ = "connector_operator"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime]


class ConnectorCall(Base):
    """A service task's call, from the moment its deal waits for it: what the worker does
    next (`status` pending, `next_at`), then how it went (done, failed, cancelled)."""

    __tablename__ = "connector_call"
    __table_args__ = (
        Index("ix_connector_call_due", "status", "next_at"),
        Index("ix_connector_call_instance", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    element_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12))  # pending, done, failed, cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None]
    method: Mapped[str | None] = mapped_column(String(8))
    host: Mapped[str | None] = mapped_column(String(253))
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    millis: Mapped[int | None]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


def table_of(model: type[Base]) -> Table:
    """A model's table, typed as one: what the write path's Core statements are built on
    (engine.store.changes)."""
    return Base.metadata.tables[model.__tablename__]
