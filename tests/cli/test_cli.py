"""The `salesflow` command as a user runs it: real processes, a real database file."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import ENGINE_DATA

SALESFLOW = str(Path(sys.executable).parent / "salesflow")


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    return {**os.environ, "SALESFLOW_DATABASE_URL": db_url}


@pytest.fixture
def defs(tmp_path: Path) -> str:
    """A folder holding the loop processes and their form."""
    folder = tmp_path / "defs"
    folder.mkdir()
    for name in ("review_loop.bpmn", "review.schema.json", "script_loop.bpmn"):
        shutil.copy(ENGINE_DATA / name, folder / name)
    return str(folder)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["--json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def open_review(capsys: pytest.CaptureFixture[str], defs: str) -> tuple[str, dict[str, Any]]:
    """alice's deal on the review loop and its open task."""
    run(capsys, "users", "add", "alice", "--role", "Sales Rep")
    run(capsys, "deploy", defs)
    iid = run(capsys, "start", "review_loop", "--owner", "alice")[1]["instance_id"]
    return iid, run(capsys, "tasks", "--instance", iid)[1][0]


def test_cli_drives_a_deal(
    env: dict[str, str], defs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "init")[1]["created"] is False  # the fixture migrated it already
    assert run(capsys, "users", "add", "alice", "--role", "Sales Rep", "--password", "pw")[0] == 0
    assert run(capsys, "users", "add", "mia", "--role", "Sales Manager")[0] == 0
    code, deployed, _ = run(capsys, "deploy", defs)
    assert code == 0
    assert {"process_id": "review_loop", "version": 1, "changed": True} in deployed
    assert run(capsys, "definitions")[1][0]["process_id"] == "review_loop"

    code, started, _ = run(
        capsys, "start", "review_loop", "--deal", "ACME", "--owner", "alice", "--data", '{"a": 1}'
    )
    assert code == 0
    assert started == {
        "instance_id": started["instance_id"],
        "process_id": "review_loop",
        "version": 1,
        "status": "running",
    }
    iid = started["instance_id"]
    assert isinstance(iid, str)

    tasks = run(capsys, "tasks", "--user", "alice")[1]
    assert [t["element_id"] for t in tasks] == ["task_review"]
    assert set(tasks[0]) >= {
        "task_id",
        "instance_id",
        "element_id",
        "name",
        "lane",
        "assignee",
        "stage",
        "due_at",
    }
    code, done, _ = run(
        capsys, "complete", tasks[0]["task_id"], "--user", "alice", "--data", '{"done": true}'
    )
    assert (code, done) == (
        0,
        {"instance_id": iid, "status": "running", "ready": ["task_sign_off"]},
    )

    shown = run(capsys, "show", iid)[1]
    assert set(shown) >= {
        "instance_id",
        "process_id",
        "version",
        "status",
        "stage",
        "position",
        "data",
        "tasks",
        "history",
    }
    assert shown["position"]["task_sign_off"] == "ready"
    assert shown["data"]["a"] == 1
    assert [i["instance_id"] for i in run(capsys, "instances", "--status", "running")[1]] == [iid]
    assert run(capsys, "instances", "--status", "completed")[1] == []
    assert run(capsys, "tick")[1] == {"fired": 0}


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["show", "999"], 4, "no instance"),
        (["complete", "nope", "--user", "alice"], 4, "no open task"),
        (["start", "review_loop", "--data", "{not json"], 7, "not valid JSON"),
        (["start", "review_loop", "--data", "[1, 2]"], 7, "JSON object"),
        (["start", "review_loop", "--owner", "ghost"], 4, "no user 'ghost'"),
        (["start", "no_such_process"], 4, "no deployed process"),
        (["deploy", "/nonexistent/file.bpmn"], 8, "no such file"),
    ],
)
def test_cli_errors_go_to_stderr_with_a_code(
    env: dict[str, str],
    defs: str,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    needle: str,
) -> None:
    run(capsys, "users", "add", "alice", "--role", "Sales Rep")
    run(capsys, "deploy", defs)
    got, out, err = run(capsys, *args)
    assert got == code
    assert out is None
    assert needle in json.loads(err)["message"]


def test_cli_refuses_form_data_naming_the_field(
    env: dict[str, str], defs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    iid, task = open_review(capsys, defs)
    code, _, err = run(
        capsys, "complete", task["task_id"], "--user", "alice", "--data", '{"done": "maybe"}'
    )
    assert code == 7
    assert json.loads(err)["field"] == "done"
    assert run(capsys, "tasks", "--instance", iid)[1] == [task]


def test_installed_command_human_output(env: dict[str, str], defs: str) -> None:
    """The console script itself, as the README's tour runs it."""

    def sf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SALESFLOW, *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert sf("users", "add", "alice", "--role", "Sales Rep").returncode == 0
    deployed = sf("deploy", defs)
    assert deployed.returncode == 0 and "review_loop" in deployed.stdout
    started = sf("--json", "start", "review_loop", "--owner", "alice")
    iid = json.loads(started.stdout)["instance_id"]
    shown = sf("show", iid)
    assert shown.returncode == 0
    assert "Review" in shown.stdout and "-> alice" in shown.stdout
    missing = sf("show", "424242")
    assert missing.returncode == 4
    assert missing.stdout == "" and "error: no instance" in missing.stderr


def test_uninitialised_database_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert main(["definitions"]) == 1
    assert "salesflow init" in capsys.readouterr().err


def test_every_failing_field_is_reported(
    env: dict[str, str], defs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, task = open_review(capsys, defs)
    code = main(["complete", task["task_id"], "--user", "alice", "--data", '{"note": 5}'])
    err = capsys.readouterr().err.splitlines()
    assert code == 7
    assert err == [
        "error: done: 'done' is a required property",
        "error: note: 5 is not of type 'string'",
    ]


def test_tokens_from_the_command_line(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "users", "add", "alice", "--role", "Sales Rep")
    code, issued, _ = run(capsys, "tokens", "create", "alice", "--name", "lead form")
    assert code == 0 and issued["token"].startswith("sf_")
    assert main(["tokens", "create", "alice"]) == 0
    plain = capsys.readouterr().out.strip()
    assert plain.startswith("sf_") and "\n" not in plain
    listed = run(capsys, "tokens", "list", "alice")[1]
    assert [t["name"] for t in listed] == ["lead form", ""]
    assert run(capsys, "tokens", "revoke", str(issued["id"]))[0] == 0
    assert run(capsys, "tokens", "list", "alice")[1][0]["revoked"] is True
    assert run(capsys, "tokens", "create", "ghost")[0] == 4


def test_users_set_deactivate_and_activate(
    env: dict[str, str],
    defs: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    service: Service,
) -> None:
    iid, task = open_review(capsys, defs)
    run(capsys, "users", "add", "root", "--role", "admin")
    code, record, _ = run(
        capsys,
        "users",
        "set",
        "alice",
        "--roles",
        "Sales Rep,Key Accounts",
        "--display-name",
        "Alice Wang",
        "--email",
        "alice@example.com",
    )
    assert code == 0
    assert record == {
        "username": "alice",
        "display_name": "Alice Wang",
        "roles": ["Key Accounts", "Sales Rep"],
        "active": True,
        "email": "alice@example.com",
        "language": None,
    }
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert run(capsys, "users", "set", "alice", "--password-stdin")[0] == 0
    assert service.authenticate("alice", "a-long-password") is not None
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, _, err = run(capsys, "users", "set", "alice", "--password-stdin")
    assert code == 7 and json.loads(err)["field"] == "--password-stdin"
    code, _, err = run(capsys, "users", "set", "alice", "--email", "nope")
    assert code == 7 and json.loads(err)["field"] == "email"
    assert run(capsys, "users", "set", "ghost", "--roles", "Legal")[0] == 4

    token = run(capsys, "tokens", "create", "alice")[1]["token"]
    code, done, _ = run(capsys, "users", "deactivate", "alice")
    assert code == 0
    assert done["active"] is False and done["tokens_revoked"] == 1
    assert [(t["task_id"], t["instance_id"]) for t in done["open_tasks"]] == [
        (task["task_id"], iid)
    ]
    listed = {u["username"]: u["active"] for u in run(capsys, "users", "list")[1]}
    assert listed == {"alice": False, "root": True}
    assert run(capsys, "tasks", "--instance", iid)[1][0]["assignee"] == "alice"
    assert run(capsys, "tokens", "list", "alice")[1][0]["revoked"] is True
    assert token not in str(run(capsys, "tokens", "list", "alice")[1])
    assert run(capsys, "tasks", "--user", "alice")[0] == 4  # no active user 'alice'

    code, again, _ = run(capsys, "users", "activate", "alice")
    assert code == 0 and again["active"] is True
    assert run(capsys, "users", "deactivate", "ghost")[0] == 4

    # Human output names the open tasks that stay.
    assert main(["users", "deactivate", "alice"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("alice is deactivated (0 API tokens revoked)")
    assert task["task_id"] in out and "Review" in out


def test_the_command_line_gives_a_deal_only_to_someone_who_may_own_deals(
    env: dict[str, str], defs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The owner rule of the lead form (engine.usecases.deals), kept by `start` and by a
    one-deal `handover` too."""
    run(capsys, "users", "add", "alice", "--role", "Sales Rep")
    run(capsys, "users", "add", "pete", "--role", "Product Expert")
    run(capsys, "deploy", defs)
    code, _, err = run(capsys, "start", "review_loop", "--owner", "pete")
    assert code == 7
    assert json.loads(err)["field"] == "owner"
    assert "pete may not own a deal" in json.loads(err)["message"]
    assert run(capsys, "instances")[1] == []

    iid = run(capsys, "start", "review_loop", "--owner", "alice")[1]["instance_id"]
    code, _, err = run(capsys, "handover", "alice", "pete", "--deal", iid)
    assert code == 7 and json.loads(err)["field"] == "to"
    assert run(capsys, "show", iid)[1]["owner"] == "alice"
    # A rep's whole work may go to anyone active, as before.
    assert run(capsys, "handover", "alice", "pete")[1]["deals"] == 1
