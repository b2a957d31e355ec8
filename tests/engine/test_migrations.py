"""The migrations and the models agree, and the schema can go down and up again; the
migrations are frozen: none imports the engine, and 0009's backfill still gives the facts
the engine works out."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, func, insert, inspect, select

from engine.store import heat
from engine.store.db import MIGRATIONS, Database
from engine.store.models import (
    Base,
    History,
    Instance,
    ProcessDeals,
    ReportCount,
    ReportFact,
    ReportPending,
)
from engine.usecases.demo import LOST, NURTURE, WON, drive
from engine.usecases.reports import facts
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA, LEAD, PROCESSES, ROOT
from tests.engine.test_migration import make_v2
from tests.engine.test_reports import Deals

VERSIONS = MIGRATIONS / "versions"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


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


# --- frozen migrations ---------------------------------------------------------------------------


def _imports(path: Path) -> Iterator[str]:
    """Every module a migration imports, at module level or inside functions: relative
    imports resolved, and importlib.import_module / __import__ of a literal name."""
    package = ".".join(path.parent.relative_to(ROOT).parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                yield f"{base}.{node.module}" if node.module else base
            else:
                yield str(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def test_no_migration_imports_the_engine() -> None:
    # A migration must do the same on every database whenever it runs: what it needs of the
    # engine is copied into it (as 0009's backfill is), never imported from today's code.
    migrations = sorted(VERSIONS.glob("*.py"))
    assert len(migrations) >= 10
    allowed = {"alembic", "sqlalchemy"} | sys.stdlib_module_names
    for path in migrations:
        imported = list(_imports(path))
        engine = [m for m in imported if m == "engine" or m.startswith("engine.")]
        assert engine == [], f"{path.name} imports the engine: {engine}"
        others = sorted({m for m in imported if m.split(".")[0] not in allowed})
        assert others == [], f"{path.name} imports more than alembic, sqlalchemy, stdlib"


def _facts_and_counts(db: Database) -> tuple[list[Any], list[Any]]:
    """The facts (without their ids), and the counts per group that are not zero."""
    with db.read() as s:
        kept = s.execute(select(*(c for c in ReportFact.__table__.c if c.name != "id")))
        group = [c for c in ReportCount.__table__.c if c.name not in ("id", "n")]
        total = func.sum(ReportCount.n)
        counts = s.execute(select(*group, total).group_by(*group).having(total != 0))
        return sorted(map(tuple, kept), key=repr), sorted(map(tuple, counts), key=repr)


def test_the_backfill_of_0009_gives_the_facts_the_engine_works_out(
    team: Service, tmp_path: Path
) -> None:
    team.deploy([PROCESSES])
    team.deploy([ENGINE_DATA / "messages.bpmn"])
    team.deploy([ENGINE_DATA / "incident_order.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:

        def start() -> str:
            return str(team.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"])

        won, lost, nurtured, queued = (start() for _ in range(4))
        for n, step in enumerate(WON):
            clock.shift(1.5 * DAY)
            drive(team, won, [step])
            if n < len(LOST):
                drive(team, lost, [LOST[n]])
        drive(team, nurtured, NURTURE)
        drive(team, queued, WON[:3])  # the proposal waits in the product expert's queue
        [proposal] = team.tasks(instance=queued)
        team.claim(proposal["task_id"], user="pete")
        clock.shift(2 * DAY)
        mid = str(team.start("messages", owner="alice", data={"company": "ACME"})["instance_id"])
        [prepare] = team.tasks(instance=mid)
        team.complete(prepare["task_id"], user="alice")
        iid = str(team.start("incident_order", owner="alice")["instance_id"])
        [order] = team.tasks(instance=iid)
        team.complete(order["task_id"], user="alice", data={"price": 100, "discount": 5})
        team.skip(iid, user="mia")
        # Deals on a second version: 0020 gives the facts and counts their version number.
        team.deploy([make_v2(tmp_path / "v2")])
        for _ in range(2):
            clock.shift(DAY)
            drive(team, start(), WON[:2])
    # A deal that went back to a stage: its stays depend on where a period starts.
    deals = Deals(team)
    back = deals.add(days=[], open_task=False)
    rows = [
        Deals._row(back, "completed", element, T0 + done * DAY, "alice", entered=T0 + n * DAY)
        for n, (element, done) in enumerate(
            [
                ("task_initial_contact", 1.5),
                ("task_needs_analysis", 2.5),
                ("task_initial_contact", 3.5),
                ("task_design_proposal", 4.5),
            ],
            start=1,
        )
    ]
    with team.db.write() as s:
        s.execute(insert(History), rows)
        facts.rebuild(s)  # the engine's own computation, every deal's
    engines = _facts_and_counts(team.db)
    kind = [c.name for c in ReportFact.__table__.c if c.name != "id"].index("kind")
    version = [c.name for c in ReportFact.__table__.c if c.name != "id"].index("version")
    assert {row[version] for row in engines[0]} == {1, 2}
    assert {row[kind] for row in engines[0]} >= {
        "stage",
        "restage",
        "irregular",
        "element",
        "response",
        "won",
    }
    # Down to before 0009 (its tables go) and up again: 0009 fills them from the history.
    cfg = team.db.alembic_config()
    try:
        with team.db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008")
        with team.db.engine.connect() as conn:
            assert "report_fact" not in inspect(conn).get_table_names()
    finally:
        team.db.migrate()
    assert _facts_and_counts(team.db) == engines
    with team.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ReportPending)) == 0


def test_each_version_s_deals_are_counted_as_they_start_move_and_by_0021(
    team: Service, tmp_path: Path
) -> None:
    """ProcessDeals (engine.store.heat.deal_counts, version_counts) against the deals there
    are: kept by each start and each move to another version, and filled anew by the
    migrations (0018, then per version 0021) and engine.store.heat.recount."""
    team.deploy([PROCESSES])
    team.deploy([ENGINE_DATA / "messages.bpmn"])
    on_v1 = [
        str(
            team.start("sales_pipeline", owner="alice", data={**LEAD, "company": f"D{n}"})[
                "instance_id"
            ]
        )
        for n in range(20)  # more deals than stripes
    ]
    for _ in range(3):
        team.start("messages", owner="alice", data={"company": "ACME"})
    drive(team, on_v1[0], WON)  # a deal closed on version 1 stays there
    team.deploy([make_v2(tmp_path / "v2")])
    for _ in range(2):
        team.start("sales_pipeline", owner="alice", data=LEAD)
    moved = team.migrate("sales_pipeline", 2, user=None, instance_ids=on_v1[1:6])
    assert moved["migrated"] == 5

    def kept() -> dict[tuple[str, int | None], int]:
        with team.db.read() as s:
            ids = dict(
                s.execute(
                    select(Instance.version_id, Instance.version_number).where(
                        Instance.process_id == "sales_pipeline"
                    )
                ).all()
            )
            counts = {(p, None): heat.deal_counts(s, p, None)[0] for p in ("sales_pipeline",)}
            for vid, number in ids.items():
                counts[("sales_pipeline", number)] = heat.deal_counts(s, "sales_pipeline", vid)[1]
            listed = {
                ids[vid]: (per.get("running", 0), sum(per.values()))
                for vid, per in heat.version_counts(s, "sales_pipeline").items()
            }
        return counts | {("listed", n): v for n, v in listed.items()}

    def there() -> dict[tuple[str, int | None], int]:
        with team.db.read() as s:
            rows = s.execute(
                select(Instance.version_number, Instance.status, func.count())
                .where(Instance.process_id == "sales_pipeline")
                .group_by(Instance.version_number, Instance.status)
            ).all()
        counts: dict[tuple[str, int | None], Any] = {("sales_pipeline", None): 0}
        listed: dict[int, list[int]] = {}
        for number, status, n in rows:
            counts[("sales_pipeline", None)] += n
            counts[("sales_pipeline", number)] = counts.get(("sales_pipeline", number), 0) + n
            running, total = listed.setdefault(number, [0, 0])
            listed[number] = [running + (n if status == "running" else 0), total + n]
        return counts | {("listed", n): tuple(v) for n, v in listed.items()}

    assert kept() == there()
    assert there()[("sales_pipeline", 1)] == 15 and there()[("sales_pipeline", 2)] == 7
    cfg = team.db.alembic_config()
    try:
        with team.db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0017")
    finally:
        team.db.migrate()
    assert kept() == there()
    with team.db.write() as s:
        s.execute(delete(ProcessDeals))
        heat.recount(s)
    assert kept() == there()
