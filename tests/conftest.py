"""Shared fixtures: a real database for every test.

SQLite by default (a file per test, copied from one migrated template); PostgreSQL when
SALESFLOW_TEST_DATABASE_URL is set (CI's second leg) — then every test runs against it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.db import Database
from engine.models import Base
from engine.service import Service

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
ENGINE_DATA = ROOT / "tests" / "engine" / "data"
CORPORA = ROOT.parent / "shared" / "corpora"
PG_URL = os.environ.get("SALESFLOW_TEST_DATABASE_URL")
# A lead the sales pipeline's start form accepts (an A-grade lead once qualified).
LEAD = {
    "company": "ACME",
    "contact": "Li Wei",
    "source_channel": "referral",
    "annual_revenue": 8_000_000,
    "intent": "high",
}


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_schema() -> str | None:
    if not PG_URL:
        return None
    db = Database(PG_URL)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.migrate()
    db.dispose()
    return PG_URL


@pytest.fixture
def db_url(tmp_path: Path, _sqlite_template: Path, _pg_schema: str | None) -> str:
    if _pg_schema:
        db = Database(_pg_schema)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.dispose()
        return _pg_schema
    path = tmp_path / "salesflow.sqlite3"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def service(db: Database) -> Service:
    return Service(db)


@pytest.fixture
def team(service: Service) -> Service:
    """The sales team of the tests, one user per lane."""
    service.add_user("alice", ["Sales Rep"])
    service.add_user("bob", ["sales_rep"])
    service.add_user("mia", ["Sales Manager"])
    service.add_user("pete", ["Product Expert"])
    service.add_user("lena", ["Legal"])
    service.add_user("fay", ["Finance"])
    service.add_user("sam", ["After-Sales"])
    service.add_user("mark", ["Marketing"])
    return service
