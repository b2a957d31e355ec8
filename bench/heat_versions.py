"""A version's heatmap while the process's deals run on several versions (issue 16): the
process page links each version's heatmap, and a designer who published a second version
looks at the first's.  Server time of /processes/sales_pipeline/heatmap?version=N over the
100,000 deals of bench/web_100k.py, a third of them moved to a second version.

    .venv/bin/python bench/heat_versions.py [--only sqlite|pg] [--runs 3] [--views 10]
        [--sqlite-source URL] [--sqlite-work URL] [--pg-source URL] [--pg-work URL]

A source is the database bench/web_100k.py filled (var/bench_100k.sqlite3, the PostgreSQL
database bench_100k; any schema revision this code can migrate); it is copied to its work
database once (a file copy; CREATE DATABASE ... TEMPLATE), and there migrated (the time is
printed), a second version of the sales pipeline is published and every third deal moved onto
it, and the report facts and deal counts are worked out anew.  The pages are then timed as
bench/web_100k.py times them: a fresh app per run, Flask's test client, after logging in.
Run it from another checkout (that checkout's bench/) to time older code on a work database
of its own.
Prints figures; never part of the test run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# As in bench/web.py: this folder at the end of the import path (bench/engine.py would shadow
# the engine package), the project's root at its front.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

from _bulk import MANAGER  # noqa: E402
from sqlalchemy import create_engine, func, make_url, select, text, update  # noqa: E402
from web import logged_in, machine, p, repeated, timed_get  # noqa: E402

from engine.store import heat  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.deployments import version_row  # noqa: E402
from engine.store.models import Instance  # noqa: E402
from engine.usecases.reports import facts  # noqa: E402
from engine.usecases.service import Service  # noqa: E402
from webui import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
PROCESS = "sales_pipeline"
TARGET_MS = 50.0


def versions(db: Database) -> dict[int, int]:
    """Version number -> how many deals run on it."""
    with db.read() as s:
        rows = s.execute(
            select(Instance.version_number, func.count())
            .where(Instance.process_id == PROCESS)
            .group_by(Instance.version_number)
        ).all()
    return {int(v): int(n) for v, n in rows}


def second_version(db: Database) -> None:
    """Publish the pipeline again with one task renamed (a new version), move every third
    deal onto it, and work out every deal's report facts anew."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "processes"
        shutil.copytree(ROOT / "processes", folder)
        bpmn = folder / f"{PROCESS}.bpmn"
        text = bpmn.read_text(encoding="utf-8")
        renamed = text.replace('name="Needs analysis"', 'name="Needs analysis (v2)"', 1)
        if renamed == text:
            raise SystemExit(f"{bpmn.name} has no task named 'Needs analysis' any more")
        bpmn.write_text(renamed, encoding="utf-8")
        Service(db).deploy([folder])
    with db.write() as s:
        latest = version_row(s, PROCESS, None)
        vid, number = latest.id, latest.version
        s.execute(
            update(Instance)
            .where(Instance.process_id == PROCESS, Instance.id % 3 == 0)
            .values(version_id=vid, version_number=number)
        )
        heat.recount(s)  # the deals per version, as a move keeps them
        t0 = time.perf_counter()
        facts.rebuild(s)
        print(f"facts worked out anew in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def copied(source: str, work: str) -> bool:
    """Copy the database at `source` to `work` unless `work` exists; whether it copied.
    PostgreSQL: CREATE DATABASE ... TEMPLATE (nobody may be connected to the source)."""
    if source.startswith("sqlite"):
        src, dst = Path(make_url(source).database or ""), Path(make_url(work).database or "")
        if dst.exists():
            return False
        if not src.exists():
            raise SystemExit(f"{src} does not exist: fill it with bench/web_100k.py --only sqlite")
        shutil.copyfile(src, dst)
        return True
    name, template = make_url(work).database, make_url(source).database
    server = create_engine(make_url(work).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            there = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if there:
                return False
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            return True
    finally:
        server.dispose()


def prepare(source: str, work: str) -> None:
    copied(source, work)
    db = Database(work)
    try:
        t0 = time.perf_counter()
        db.migrate()
        print(f"migrated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        if len(versions(db)) < 2:
            second_version(db)
            if not db.is_sqlite:  # as autovacuum would after the rewrite: index-only scans
                with db.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                        text("VACUUM ANALYZE")
                    )
        print(f"deals per version: {versions(db)}", file=sys.stderr)
    finally:
        db.dispose()


def one_run(url: str, numbers: list[int], views: int) -> dict[str, list[float]]:
    app = create_app({"SALESFLOW_DATABASE_URL": url, "SECRET_KEY": "bench"})
    try:
        boss = logged_in(app.test_client(), MANAGER)
        heatmap = f"/processes/{PROCESS}/heatmap"
        timed_get(boss, heatmap)  # templates compiled, positions read once
        pages = {"heatmap (all versions)": heatmap} | {
            f"heatmap ?version={n}": f"{heatmap}?version={n}" for n in numbers
        }
        return {name: [timed_get(boss, url) for _ in range(views)] for name, url in pages.items()}
    finally:
        app.extensions["salesflow"].db.dispose()


def measure(label: str, url: str, runs: int, views: int) -> None:
    db = Database(url)
    try:
        split = versions(db)
    finally:
        db.dispose()
    results, loads = repeated(label, runs, lambda: one_run(url, sorted(split), views))
    print(f"\na version's heatmap, {label}, deals per version {split}; median of {runs} runs")
    print(f"machine: {machine()}; load average (1 min) {loads}")
    print(f"{'page':26} {'p50 ms':>8} {'p95 ms':>8}  target p50 <= {TARGET_MS:.0f} ms")
    for name in results[0]:
        p50 = statistics.median(p(r[name], 0.50) for r in results)
        p95 = statistics.median(p(r[name], 0.95) for r in results)
        print(f"{name:26} {p50:8.1f} {p95:8.1f}  {'ok' if p50 <= TARGET_MS else 'MISSED'}")


def main() -> None:
    var = ROOT / "var"
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite-source", default=f"sqlite:///{var / 'bench_100k.sqlite3'}")
    parser.add_argument("--sqlite-work", default=f"sqlite:///{var / 'bench_100k_versions.sqlite3'}")
    parser.add_argument("--pg-source", default=f"{PG}/bench_100k")
    parser.add_argument("--pg-work", default=f"{PG}/bench_100k_versions")
    parser.add_argument("--only", choices=("sqlite", "pg"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--views", type=int, default=10, help="views of each page per run")
    args = parser.parse_args()
    for label, source, work in (
        ("SQLite file", args.sqlite_source, args.sqlite_work),
        ("PostgreSQL", args.pg_source, args.pg_work),
    ):
        if args.only in (None, "sqlite" if label.startswith("SQLite") else "pg"):
            prepare(source, work)
            measure(label, work, args.runs, args.views)


if __name__ == "__main__":
    main()
