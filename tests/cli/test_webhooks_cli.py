"""`salesflow webhooks list|add|replay|pause|resume`: the webhooks from the command line,
with the pages' and the API's rules (admins only, http(s) only, the secret never printed
back)."""

from __future__ import annotations

import json

import pytest

from engine import clock
from engine.jobs import deliveries
from engine.usecases.service import Service
from tests.conftest import LEAD
from tests.engine.chat_servers import WebhookReceiver

from .test_activities_cli import pipeline, run  # noqa: F401  (a fixture, a helper)
from .test_cli import env  # noqa: F401  (a fixture)


def test_add_list_and_replay(
    env: dict[str, str],  # noqa: F811
    pipeline: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline.add_user("root", ["admin"])
    receiver = WebhookReceiver().start()
    try:
        monkeypatch.setenv("SALESFLOW_WEBHOOK_SECRET", receiver.secret)
        args = ("webhooks", "add", receiver.url, "--events", "deal.started,deal.won")
        # A manager may not (5); a bad address is invalid data naming the field (7).
        assert run(capsys, *args, "--user", "mia")[0] == 5
        code, _, err = run(capsys, "webhooks", "add", "ftp://x", "--events", "deal.won",
                           "--user", "root")  # fmt: skip
        assert code == 7 and json.loads(err)["field"] == "url"
        code, made, err = run(capsys, *args, "--user", "root")
        assert code == 0, err
        assert made["events"] == ["deal.started", "deal.won"]
        assert receiver.secret not in json.dumps(made)
        pipeline.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
        deliveries.deliver_due(pipeline.db, clock.now())
        code, listed, _ = run(capsys, "webhooks", "list", "--user", "root")
        [delivery] = listed[0]["deliveries"]
        assert (delivery["event"], delivery["status"]) == ("deal.started", "delivered")
        code, replayed, _ = run(capsys, "webhooks", "replay", str(delivery["id"]), "--user", "root")
        assert code == 0 and replayed["status"] == "pending" and replayed["replays"] == 1
        assert run(capsys, "webhooks", "replay", "99999", "--user", "root")[0] == 4
        hook = str(made["id"])
        assert run(capsys, "webhooks", "pause", hook, "--user", "mia")[0] == 5
        code, paused, _ = run(capsys, "webhooks", "pause", hook, "--user", "root")
        assert code == 0 and paused["paused"] is True
        code, resumed, _ = run(capsys, "webhooks", "resume", hook, "--user", "root")
        assert code == 0 and resumed["paused"] is False
    finally:
        receiver.stop()
