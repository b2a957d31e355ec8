"""A process killed with SIGKILL mid-work leaves every deal before or after a change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select

from engine.core import runtime
from engine.store.db import Database
from engine.store.models import History, Instance, OpenTask
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA

WORKER = textwrap.dedent(
    """
    import sys
    from engine.store.db import Database
    from engine.usecases.service import Service

    service = Service(Database(sys.argv[1]))
    ids = sys.argv[2].split(",")
    while True:  # complete rounds until killed
        for iid in ids:
            task = service.tasks(instance=iid)[0]
            service.complete(task["task_id"], user="alice", data={"done": False})
    """
)


def test_kill_dash_nine_never_leaves_a_deal_half_changed(
    team: Service, db_url: str, tmp_path: Path
) -> None:
    team.deploy([ENGINE_DATA / "review_loop.bpmn", ENGINE_DATA / "review.schema.json"])
    ids = [team.start("review_loop", owner="alice")["instance_id"] for _ in range(4)]
    log = tmp_path / "worker.log"
    with log.open("wb") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, ",".join(ids)],
            cwd=Path(__file__).resolve().parents[2],
            stderr=stderr,
        )
    try:
        # Let it commit a good number of changes, then kill it without warning.
        for _ in range(600):
            with team.db.read() as s:
                done = s.scalar(select(func.count()).select_from(History))
            if done > 400 or worker.poll() is not None:
                break
            time.sleep(0.05)
        assert worker.poll() is None, log.read_text()
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait()
    assert worker.returncode == -signal.SIGKILL

    fresh = Service(Database(db_url))
    for iid in ids:
        with fresh.db.read() as s:
            inst = s.get(Instance, int(iid))
            assert inst is not None
            rows = list(s.scalars(select(OpenTask).where(OpenTask.instance_id == inst.id)))
            completed = s.scalar(
                select(func.count())
                .select_from(History)
                .where(History.instance_id == inst.id, History.element_id == "task_review")
            )
            vr = fresh.version(s, inst.version_id)
        wf = runtime.load_state(inst.state, vr.spec, vr.subprocess_specs)
        ready = runtime.open_human_tasks(wf)
        # The stored state, the inbox index and the history tell the same story.
        assert [str(t.id) for t in ready] == [r.task_id for r in rows]
        assert inst.data["rounds"] == completed
        # ... and the deal carries on.
        fresh.complete(rows[0].task_id, user="alice", data={"done": True})
        assert {t["element_id"] for t in fresh.tasks(instance=iid)} == {"task_sign_off"}
    fresh.db.dispose()
