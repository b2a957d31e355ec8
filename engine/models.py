"""Database tables (SQLAlchemy 2 typed models).

The schema itself is owned by the Alembic migrations in engine/migrations; a test checks that
these models and the migrated schema agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
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


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

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


class Instance(Base):
    """One deal: one run of a definition version."""

    __tablename__ = "instance"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'completed', 'cancelled', 'error')", name="ck_instance_status"
        ),
        Index("ix_instance_next_due_at", "next_due_at"),
        Index("ix_instance_process_status", "process_id", "status"),
        Index("ix_instance_owner", "owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))
    process_id: Mapped[str] = mapped_column(String(200))
    version_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(80))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    lead_source: Mapped[str | None] = mapped_column(String(80))
    tier: Mapped[str | None] = mapped_column(String(8))
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
        Index("ix_open_task_assignee", "assignee"),
        Index("ix_open_task_role", "role"),
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


class History(Base):
    """Append-only: everything that happened to an instance."""

    __tablename__ = "history"
    __table_args__ = (
        Index("ix_history_instance", "instance_id", "id"),
        Index("ix_history_task", "task_id"),
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
