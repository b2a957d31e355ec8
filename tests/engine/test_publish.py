"""Saving definitions (engine/service.py over engine/lint.py): publish, refuse, drafts, files.

A publish runs every check first; one error refuses the whole save and what was deployed
stays exactly as it was, deals included.  `export-definitions` writes the current versions
back as files, and deploying them again changes nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionProblemsError, ForbiddenError, NotFoundError
from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import PROCESSES

DATA = Path(__file__).parent / "data" / "lint"


def clean_files() -> dict[str, str]:
    return {
        name: (DATA / name).read_text(encoding="utf-8")
        for name in ("clean.bpmn", "lint_quote.schema.json", "lint_grade.dmn")
    }


def with_gap(files: dict[str, str]) -> dict[str, str]:
    """The clean process with a gateway whose conditions leave amounts 5000-9999 out."""
    text = files["clean.bpmn"].replace("amount &lt; 10000", "amount &lt; 5000")
    assert text != files["clean.bpmn"]
    return {**files, "clean.bpmn": text}


@pytest.fixture
def studio(team: Service) -> Service:
    team.add_user("dora", ["designer"])
    team.add_user("dan", ["Process Designer", "designer"])
    team.add_user("root", ["admin"])
    return team


def test_publish_stores_a_version_once_and_answers_changed(studio: Service) -> None:
    first = studio.publish(clean_files(), actor="dora")
    assert {k: first[k] for k in ("process_id", "version", "changed")} == {
        "process_id": "lint_clean",
        "version": 1,
        "changed": True,
    }
    assert first["processes"] == [{"process_id": "lint_clean", "version": 1, "changed": True}]
    assert first["warnings"] == []  # the team holds both lanes' roles
    again = studio.publish(clean_files(), actor="root")
    assert (again["version"], again["changed"]) == (1, False)
    changed = clean_files()
    changed["clean.bpmn"] = changed["clean.bpmn"].replace('"P7D"', '"P5D"')
    assert studio.publish(changed, actor="dora")["version"] == 2
    assert studio.definition_files("lint_clean", 1) == clean_files()
    assert studio.definition_files("lint_clean") == changed
    with pytest.raises(NotFoundError):
        studio.definition_files("lint_clean", 3)


def test_only_designers_and_admins_publish(studio: Service) -> None:
    with pytest.raises(ForbiddenError):
        studio.publish(clean_files(), actor="alice")
    with pytest.raises(NotFoundError):
        studio.publish(clean_files(), actor="nobody")
    assert studio.definitions() == []
    # The command line (no actor) may.
    assert studio.publish(clean_files(), actor=None)["changed"] is True


def test_a_refused_publish_keeps_the_previous_version_and_its_deals_running(
    studio: Service,
) -> None:
    studio.publish(clean_files(), actor="dora")
    deal = studio.start("lint_clean", owner="alice")
    with pytest.raises(DefinitionProblemsError) as refused:
        studio.publish(with_gap(clean_files()), actor="dora")
    err = refused.value
    assert err.element_id == "gw_amount" and err.file == "clean.bpmn" and err.line == 43
    assert [p["element_id"] for p in err.problems if p["severity"] == "error"] == ["gw_amount"]
    assert err.to_dict()["problems"] == err.problems
    assert [d["version"] for d in studio.definitions()] == [1]
    # The deal on version 1 goes on as before.
    [task] = studio.tasks(instance=deal["instance_id"])
    done = studio.complete(
        task["task_id"], user="alice", data={"amount": 7000, "annual_revenue": 1000}
    )
    assert done["status"] == "completed"


def test_every_error_is_in_the_refusal(studio: Service) -> None:
    files = with_gap(clean_files())
    files["clean.bpmn"] = files["clean.bpmn"].replace(
        '<bpmn:lane id="lane_manager" name="Sales Manager">', '<bpmn:lane id="lane_manager">'
    )
    del files["lint_grade.dmn"]
    with pytest.raises(DefinitionProblemsError) as refused:
        studio.publish(files, actor="dora")
    errors = {p["element_id"] for p in refused.value.problems if p["severity"] == "error"}
    assert errors == {"gw_amount", "task_grade"}
    assert "(and 1 more error)" in str(refused.value)
    # The task in the lane without a name goes to the deal's owner: a warning beside them.
    [note] = [p for p in refused.value.problems if p["element_id"] == "task_approve"]
    assert note["severity"] == "warning"
    assert "the deal's owner will get this task" in str(note["message"])


def test_check_definition_reports_without_storing(studio: Service) -> None:
    assert studio.check_definition(clean_files()) == []
    studio.add_user("ivy", ["Sales Manager"])
    studio.deactivate_user("mia")
    studio.deactivate_user("ivy")
    [warning] = studio.check_definition(clean_files())
    assert warning["element_id"] == "lane_manager" and warning["severity"] == "warning"
    # A warning does not stop a publish; it comes back with the result.
    result = studio.publish(clean_files(), actor="dora")
    assert result["changed"] is True and result["warnings"] == [warning]


def test_drafts_one_per_process_and_designer(studio: Service) -> None:
    assert studio.definition_draft("lint_clean", "dora") is None
    broken = with_gap(clean_files())
    saved = studio.save_draft_definition("lint_clean", broken, actor="dora", base_version=None)
    assert saved["files"] == broken and saved["saved_by"] == "dora"
    assert saved["base_version"] is None and saved["saved_at"]
    assert [p["element_id"] for p in saved["problems"]] == ["gw_amount"]
    kept = studio.definition_draft("lint_clean", "dora")
    assert kept is not None and kept["files"] == broken and "problems" not in kept
    # Saving again replaces it; another designer keeps their own.
    studio.publish(clean_files(), actor="dan")
    studio.save_draft_definition("lint_clean", clean_files(), actor="dora", base_version=1)
    studio.save_draft_definition("lint_clean", broken, actor="dan", base_version=1)
    mine = studio.definition_draft("lint_clean", "dora")
    assert mine is not None and mine["files"] == clean_files() and mine["base_version"] == 1
    assert studio.definition_draft("lint_clean", "dan")["files"] == broken  # type: ignore[index]
    with pytest.raises(NotFoundError):
        studio.save_draft_definition("lint_clean", broken, actor="dora", base_version=9)
    with pytest.raises(ForbiddenError):
        studio.save_draft_definition("lint_clean", broken, actor="alice", base_version=None)
    # Discarding, and publishing, drop the designer's draft only.
    assert studio.discard_definition_draft("lint_clean", "dan") is True
    assert studio.discard_definition_draft("lint_clean", "dan") is False
    studio.save_draft_definition("lint_clean", broken, actor="dan", base_version=1)
    changed = clean_files()
    changed["clean.bpmn"] = changed["clean.bpmn"].replace('"P7D"', '"P6D"')
    studio.publish(changed, actor="dora")
    assert studio.definition_draft("lint_clean", "dora") is None
    assert studio.definition_draft("lint_clean", "dan") is not None


def test_bytes_are_read_as_utf8_and_other_bytes_refused(studio: Service) -> None:
    files: dict[str, str | bytes] = {k: v.encode("utf-8") for k, v in clean_files().items()}
    assert studio.publish(files, actor="dora")["version"] == 1
    with pytest.raises(DefinitionProblemsError) as refused:
        studio.publish({**files, "lint_quote.schema.json": b"\xff{}"}, actor="dora")
    [utf8] = [p for p in refused.value.problems if p["file"] == "lint_quote.schema.json"]
    assert str(utf8["message"]).startswith("not UTF-8 text")


# --- files round trip ------------------------------------------------------------------


def cli(*args: str) -> tuple[int, Any]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--json", *args])
    return code, json.loads(out.getvalue() or err.getvalue())


def test_export_then_deploy_changes_nothing_and_the_files_are_the_same_bytes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    code, deployed = cli("deploy", str(PROCESSES))
    assert code == 0 and all(d["changed"] for d in deployed)
    out = tmp_path / "exported"
    code, result = cli("export-definitions", str(out))
    assert code == 0
    shipped = sorted(p.name for p in PROCESSES.iterdir() if p.suffix in (".bpmn", ".dmn", ".json"))
    assert result["files"] == shipped and result["exported"] == len(shipped)
    for name in shipped:
        assert (out / name).read_bytes() == (PROCESSES / name).read_bytes(), name
    code, again = cli("deploy", str(out))
    assert code == 0
    assert [(d["process_id"], d["version"], d["changed"]) for d in again] == [
        (d["process_id"], d["version"], False) for d in deployed
    ]


def test_export_refuses_two_processes_with_different_files_of_one_name(
    studio: Service, tmp_path: Path
) -> None:
    studio.publish(clean_files(), actor="dora")
    other = clean_files()
    other["other.bpmn"] = other.pop("clean.bpmn").replace('id="lint_clean"', 'id="lint_other"')
    other["lint_quote.schema.json"] = other["lint_quote.schema.json"].replace("0", "1")
    studio.publish(other, actor="dora")
    with pytest.raises(Exception, match="different files of this name") as err:
        studio.export_definitions()
    assert getattr(err.value, "file", None) == "lint_quote.schema.json"


def test_a_deploy_stores_a_file_whose_drawing_breaks_the_xsd(
    studio: Service, tmp_path: Path
) -> None:
    """A tool's vendor element inside the diagram is a note: the process deploys, as drawn."""
    source = PROCESSES / "sales_pipeline.bpmn"
    text = source.read_text(encoding="utf-8").replace(
        "</bpmndi:BPMNPlane>", '<tool:layer xmlns:tool="urn:tool" /></bpmndi:BPMNPlane>', 1
    )
    assert "tool:layer" in text
    for path in PROCESSES.iterdir():
        if path.is_file():
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "sales_pipeline.bpmn").write_text(text, encoding="utf-8")
    deployed = {d["process_id"]: d for d in studio.deploy([tmp_path])}
    assert deployed["sales_pipeline"]["changed"] is True
    assert studio.definition_files("sales_pipeline")["sales_pipeline.bpmn"] == text
