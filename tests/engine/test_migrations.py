"""The migrations and the models agree, and the schema can go down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.store.db import Database
from engine.store.models import Base


def test_models_match_the_migrated_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    assert db.migrate() is True
    assert db.migrate() is False
    cfg = db.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with db.engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]
    db.migrate()
    with db.engine.connect() as conn:
        assert {"instance", "open_task", "history", "api_token"} <= set(
            inspect(conn).get_table_names()
        )
    db.dispose()
