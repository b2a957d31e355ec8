# ruff: noqa: RUF001 - the Chinese in the expected output
"""`salesflow check FILE|DIR...`: the designer's Check on the command line (the same files,
the same rules and messages, the same verdict), and `salesflow deploy` refusing on the same
errors.  Real files (the lint fixtures, the shipped processes, ../shared/corpora), a real
database file where one is configured, none created where none is.
"""

from __future__ import annotations

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
from tests.conftest import CORPORA, PROCESSES

LINT = Path(__file__).resolve().parents[1] / "engine" / "data" / "lint"
SALESFLOW = str(Path(sys.executable).parent / "salesflow")
MINIMAL = CORPORA / "spiff-examples" / "examples" / "0-1-minimal-example"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """Exit code, stdout (JSON when --json was given), stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in args and out.strip() else out), err


def definition(tmp_path: Path, bpmn: str) -> Path:
    """A folder with one lint fixture and the forms and decisions they share."""
    folder = tmp_path / bpmn.removesuffix(".bpmn")
    folder.mkdir()
    for path in LINT.iterdir():
        if path.suffix in (".json", ".dmn") or path.name == bpmn:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No database anywhere: a URL to a file that does not exist, run from an empty folder."""
    missing = tmp_path / "none.sqlite3"
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", f"sqlite:///{missing}")
    monkeypatch.chdir(tmp_path)
    return missing


def test_the_shipped_processes_are_ready_to_publish_without_a_database(
    no_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", str(PROCESSES))
    assert (code, out, err) == (0, "no problems: ready to publish\n", "")
    assert not no_database.exists() and not Path("var").exists()


def test_every_problem_with_file_line_element_severity_and_the_verdict(
    tmp_path: Path, no_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = definition(tmp_path, "gateways.bpmn")
    code, report, err = run(capsys, "check", "--json", str(folder))
    assert code == 8  # a refused deploy's code
    assert json.loads(err)["message"] == report["message"]
    assert report["verdict"] == "errors" and report["errors"] == 2 and report["warnings"] == 0
    assert report["message"] == "2 errors: this definition cannot be published yet"
    by_id = {p["element_id"]: p for p in report["problems"]}
    gap = by_id["gw_gap"]
    assert gap == {
        "element_id": "gw_gap",
        "element_name": "Amount?",
        "message": gap["message"],
        "line": 12,
        "file": "gateways.bpmn",
        "path": str(folder / "gateways.bpmn"),
        "severity": "error",
    }
    assert gap["message"].startswith("Amount? (gw_gap): the exclusive gateway has no default")
    # Text: "path:line: severity: message", then the verdict.
    code, text, err = run(capsys, "check", str(folder))
    lines = text.splitlines()
    assert f"{folder / 'gateways.bpmn'}:12: error: {gap['message']}" in lines
    assert lines[-1] == report["message"] and err == f"error: {report['message']}\n"


def test_in_chinese(tmp_path: Path, no_database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = definition(tmp_path, "lanes.bpmn")
    code, text, _ = run(capsys, "check", "--lang", "zh", str(folder))
    assert code == 0
    assert (
        f"{folder / 'lanes.bpmn'}:18: 警告: Nobody's task (task_no_lane)：不在任何泳道中："
        "该任务将交给商机负责人（如要交给某个角色的人员，请把它放进以该角色命名的泳道）"
    ) in text.splitlines()
    assert text.splitlines()[-1] == "2 个警告，没有错误：可以发布"


def test_the_same_verdict_as_the_designer_with_the_team_s_roles(
    tmp_path: Path,
    team: Service,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = definition(tmp_path, "lanes.bpmn")
    files = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    designer = team.check_definition(files)
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    code, report, _ = run(capsys, "--json", "check", str(folder))
    assert code == 0
    shown = [{k: p[k] for k in designer[0]} for p in report["problems"]]
    assert shown == designer
    # Nobody in the team holds "Pilot": the designer's warning, from the database.
    assert any(p["element_id"] == "lane_pilots" for p in designer)


def test_without_a_database_the_roles_nobody_holds_are_left_out(
    tmp_path: Path, no_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, _ = run(capsys, "--json", "check", str(definition(tmp_path, "lanes.bpmn")))
    assert code == 0 and report["verdict"] == "warnings"
    assert "lane_pilots" not in {p["element_id"] for p in report["problems"]}


def test_a_deploy_runs_the_same_rules_and_stores_nothing_on_an_error(
    tmp_path: Path,
    team: Service,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The gap in the gateway's conditions is a Check rule SpiffWorkflow does not know: the
    deploy refuses it with the Check's own words."""
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    folder = definition(tmp_path, "gateways.bpmn")
    _, report, _ = run(capsys, "--json", "check", str(folder))
    code, out, err = run(capsys, "--json", "deploy", str(folder))
    assert code == 8 and out == ""
    refusal = json.loads(err)
    assert [p["message"] for p in refusal["problems"]] == [p["message"] for p in report["problems"]]
    assert refusal["message"].endswith(report["problems"][0]["message"] + " (and 1 more error)")
    assert team.definitions() == []


@pytest.mark.skipif(not MINIMAL.is_dir(), reason="shared/corpora is not beside")
def test_a_deploy_prints_its_warnings_and_the_owner_gets_a_task_in_no_lane(
    tmp_path: Path, team: Service, db_url: str
) -> None:
    env = {**os.environ, "SALESFLOW_DATABASE_URL": db_url}
    done = subprocess.run(
        [SALESFLOW, "deploy", str(MINIMAL)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Process_7kik021" in done.stdout
    assert (
        "hello-world.bpmn:26: warning: Show Example Manual Task (Activity_0j3j0ev): has no "
        "lane: the deal's owner will get this task"
    ) in done.stderr
    deal = team.start("Process_7kik021", owner="bob")
    [task] = team.tasks(instance=deal["instance_id"])
    assert task["lane"] is None and task["assignee"] == "bob"
    team.complete(task["task_id"], user="bob")
    assert team.instances(ids=[deal["instance_id"]])[0]["status"] == "completed"


@pytest.mark.skipif(not CORPORA.is_dir(), reason="shared/corpora is not beside")
def test_each_file_of_the_corpora(no_database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = run(capsys, "--json", "check", "--each", str(CORPORA))
    assert code == 8
    bpmn = sorted(str(p) for p in CORPORA.rglob("*.bpmn"))
    assert sorted(d["files"][0] for d in report["definitions"]) == bpmn
    assert report["errors"] == sum(d["errors"] for d in report["definitions"])
    failed = sum(1 for d in report["definitions"] if d["errors"])
    assert report["message"] == (
        f"{failed} of {len(bpmn)} definitions have errors and cannot be published yet"
    )
    hello = next(d for d in report["definitions"] if d["files"][0].endswith("hello-world.bpmn"))
    assert hello["verdict"] == "warnings"
    assert all(p["path"] and Path(p["path"]).name == p["file"] for p in report["problems"])


def test_a_path_that_is_not_there(no_database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "nowhere.bpmn")
    assert code == 8 and err == "error: nowhere.bpmn: no such file or folder\n"
