# ruff: noqa: RUF001 - full-width Chinese punctuation in the expected Chinese warnings
"""`salesflow render FILE.bpmn` on files from other tools: the main diagram, one by id or
name, all of them, and the warnings (repairs, shapes for nothing) on stderr or in --json.

Real MIWG files through real graphviz; the broken ones are MIWG files with bytes edited.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pypdf import PdfReader

from salesflow.cli import main
from tests.conftest import CORPORA

REFERENCE = CORPORA / "miwg" / "Reference"
SVG = "{http://www.w3.org/2000/svg}"
C40 = REFERENCE / "C.4.0.bpmn"
C40_IDS = {
    "Onboarding employee": "_1484687a-1f56-4a0b-8eac-a76d5806a31e",
    "IT": "_2197e5f3-4fb0-4665-aeb8-338e750d4939",
    "Payroll": "_a90a886a-6aa2-4cce-9593-8729f9f15e12",
    "Facilities": "_8a47c0f3-6b5d-44cc-afca-f79008ba1ebf",
}
pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/corpora is not beside")


@pytest.fixture(autouse=True)
def no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite3'}")


def groups(svg: Path) -> set[str]:
    return {g.get("id") for g in etree.parse(str(svg)).getroot().iter(f"{SVG}g") if g.get("id")}


def drawn_ids(source: Path, diagram: str) -> set[str]:
    """What the diagram `diagram` of `source` draws: its shapes' and edges' element ids."""
    root = etree.parse(str(source)).getroot()
    (found,) = [d for d in root.findall("{*}BPMNDiagram") if d.get("id") == diagram]
    return {
        di.get("bpmnElement") or di.get("id") for di in found.iter("{*}BPMNShape", "{*}BPMNEdge")
    }


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main([*argv, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_the_main_diagram_by_default_and_the_list_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c40.svg"
    result = run_json(capsys, "render", str(C40), "-o", str(out))
    assert result["diagrams"] == [
        {"id": ident, "name": name, "main": n == 0, "drawn": n == 0}
        for n, (name, ident) in enumerate(C40_IDS.items())
    ]
    assert result["warnings"] == [] and result["output"] == str(out)
    assert drawn_ids(C40, C40_IDS["Onboarding employee"]) <= groups(out)
    assert not drawn_ids(C40, C40_IDS["IT"]) & groups(out)


def test_a_diagram_by_name_or_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_name, by_id = tmp_path / "name.svg", tmp_path / "id.svg"
    assert main(["render", str(C40), "-o", str(by_name), "--diagram", "Payroll"]) == 0
    assert main(["render", str(C40), "-o", str(by_id), "--diagram", C40_IDS["Payroll"]]) == 0
    assert by_name.read_bytes() == by_id.read_bytes()
    assert drawn_ids(C40, C40_IDS["Payroll"]) <= groups(by_name)
    assert main(["render", str(C40), "-o", str(tmp_path / "x.svg"), "--diagram", "HR"]) == 8
    error = capsys.readouterr().err
    assert error.startswith("error: C.4.0.bpmn, element 'HR': the file has no such diagram")
    assert '"Payroll"' in error and "Traceback" not in error


def test_every_diagram_one_file_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(
        capsys, "render", str(C40), "-o", str(tmp_path / "c40.svg"), "--diagram", "all"
    )
    files = {d["name"]: Path(d["output"]) for d in result["diagrams"]}
    assert {name: path.name for name, path in files.items()} == {
        "Onboarding employee": "c40-Onboarding-employee.svg",
        "IT": "c40-IT.svg",
        "Payroll": "c40-Payroll.svg",
        "Facilities": "c40-Facilities.svg",
    }
    for name, path in files.items():
        assert drawn_ids(C40, C40_IDS[name]) <= groups(path)
    assert not (tmp_path / "c40.svg").exists()


def test_every_diagram_as_the_pages_of_one_pdf(tmp_path: Path) -> None:
    alone = []
    for ident in C40_IDS.values():
        out = tmp_path / f"{ident}.pdf"
        assert main(["render", str(C40), "-o", str(out), "--diagram", ident]) == 0
        alone.append(len(PdfReader(out).pages))
    together = tmp_path / "all.pdf"
    assert main(["render", str(C40), "-o", str(together), "--diagram", "all"]) == 0
    reader = PdfReader(together)
    assert len(reader.pages) == sum(alone) >= 4
    assert reader.metadata is not None and reader.metadata.title == "C.4.0.bpmn"


def test_a_drill_down_written_first_is_not_what_is_drawn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = etree.parse(str(REFERENCE / "C.5.0.bpmn")).getroot()
    first, second = root.findall("{*}BPMNDiagram")
    root.remove(second)
    first.addprevious(second)
    source = tmp_path / "C.5.0-swapped.bpmn"
    source.write_bytes(etree.tostring(root))
    result = run_json(capsys, "render", str(source), "-o", str(tmp_path / "c50.svg"))
    assert [(d["name"], d["main"], d["drawn"]) for d in result["diagrams"]] == [
        ("Check for connected clients", False, False),
        ("Create New Customer", True, True),
    ]


def test_warnings_go_to_stderr_in_the_reader_s_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = REFERENCE / "C.7.0.bpmn"
    assert main(["render", str(source), "-o", str(tmp_path / "c70.svg")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("wrote ")
    assert captured.err == (
        "warning: C.7.0.bpmn: the edge _985753e3-a4ce-486b-908a-509d382259ed refers to no "
        "element: drawn as a grey line\n"
    )
    assert "_985753e3-a4ce-486b-908a-509d382259ed" in groups(tmp_path / "c70.svg")
    assert main(["--lang", "zh", "render", str(source), "-o", str(tmp_path / "zh.svg")]) == 0
    assert capsys.readouterr().err == (
        "warning: C.7.0.bpmn: 连线 _985753e3-a4ce-486b-908a-509d382259ed 没有引用任何元素："
        "画成灰色线\n"
    )


def test_a_repaired_file_renders_and_says_what_was_repaired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "C.1.0-latin1.bpmn"
    source.write_bytes((REFERENCE / "C.1.0.bpmn").read_text(encoding="utf-8").encode("cp1252"))
    out = tmp_path / "c10.svg"
    result = run_json(capsys, "render", str(source), "-o", str(out))
    assert result["warnings"] == [
        "2 lines are not UTF-8, the file's encoding (lines 476, 496): read as Windows-1252"
    ]
    assert "klären" in out.read_text(encoding="utf-8")
    spaced = tmp_path / "C.7.0-spaced.bpmn"
    spaced.write_bytes(
        (REFERENCE / "C.7.0.bpmn")
        .read_bytes()
        .replace(b"http://www.trisotech.com/2014/triso/bpmn", b"http://www.trisotech.com/ triso")
    )
    assert main(["render", str(spaced), "-o", str(tmp_path / "c70.png")]) == 0
    err = capsys.readouterr().err
    assert err.startswith(
        'warning: C.7.0-spaced.bpmn: the namespace xmlns:trisobpmn="http://www.trisotech.com/ '
        'triso" is not a valid URI: read as "http://www.trisotech.com/%20triso"\n'
    )


def test_a_diagram_of_nothing_is_drawn_with_a_warning_never_blank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "renamed.bpmn"
    source.write_bytes(
        re.sub(
            rb'bpmnElement="([^"]+)"',
            rb'bpmnElement="old\1"',
            (REFERENCE / "A.1.0.bpmn").read_bytes(),
        )
    )
    out = tmp_path / "renamed.svg"
    result = run_json(capsys, "render", str(source), "-o", str(out))
    assert result["warnings"][-1] == (
        "the diagram Trisotech_Visio-_6 refers to no process of the file: its shapes are "
        "drawn as grey boxes"
    )
    root = etree.parse(str(REFERENCE / "A.1.0.bpmn")).getroot()
    shapes = {"old" + s.get("bpmnElement") for s in root.iter("{*}BPMNShape")}
    assert shapes <= groups(out)
    # A file with nothing at all to draw is refused, not drawn blank.
    empty = tmp_path / "empty.bpmn"
    empty.write_text('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')
    assert main(["render", str(empty), "-o", str(tmp_path / "empty.svg")]) == 8
    assert capsys.readouterr().err == (
        "error: empty.bpmn: nothing to draw: the file holds no process\n"
    )
    assert not (tmp_path / "empty.svg").exists()


def test_diagram_is_for_files_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "sales_pipeline", "-o", str(tmp_path / "p.svg"), "--diagram", "x"]) == 7
    assert "--diagram chooses a diagram of a .bpmn file" in capsys.readouterr().err
