"""`salesflow render` and `export-all`: real charts from real files, deals and graphviz."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import CORPORA, LEAD, PROCESSES

PIPELINE = PROCESSES / "sales_pipeline.bpmn"
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & 客户"


@pytest.fixture
def env(team: Service, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Service:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    team.deploy([PROCESSES])
    return team


def svg_groups(path: Path) -> dict[str, str]:
    """BPMN element id -> class of its <g> in the SVG."""
    root = etree.parse(str(path)).getroot()
    return {g.get("id"): g.get("class", "") for g in root.iter(f"{SVG}g") if g.get("id")}


def test_a_bpmn_file_renders_without_deploying_or_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite3'}")
    for fmt in ("svg", "png", "pdf", "dot"):
        out = tmp_path / f"pipeline.{fmt}"
        assert main(["render", str(PIPELINE), "-o", str(out)]) == 0
        assert out.stat().st_size > 1000
    assert not (tmp_path / "none.sqlite3").exists()
    assert (tmp_path / "pipeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "pipeline.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "pipeline.dot").read_text().lstrip().startswith("digraph")
    groups = svg_groups(tmp_path / "pipeline.svg")
    assert "task_needs_analysis" in groups and "gw_discount_ok" in groups


def test_a_file_is_drawn_in_the_language_of_the_translations_beside_it(tmp_path: Path) -> None:
    # processes/ holds sales_pipeline.zh-Hans.json beside the BPMN file: --lang zh draws the
    # Chinese labels a deploy of the folder would show, without a database.
    chinese, english = tmp_path / "zh.svg", tmp_path / "en.svg"
    assert main(["--lang", "zh", "render", str(PIPELINE), "-o", str(chinese)]) == 0
    assert main(["render", str(PIPELINE), "-o", str(english)]) == 0
    assert "建立商机" in chinese.read_text() and "Prepare deal" not in chinese.read_text()
    assert "Prepare deal" in english.read_text() and "建立商机" not in english.read_text()
    alone = tmp_path / "alone"  # no translations beside it: the designer's words
    alone.mkdir()
    shutil.copy(PIPELINE, alone)
    assert main(["--lang", "zh", "render", str(alone / PIPELINE.name), "-o", str(chinese)]) == 0
    assert "Prepare deal" in chinese.read_text()


def test_a_non_executable_file_from_another_tool_renders(tmp_path: Path) -> None:
    source = CORPORA / "miwg" / "Reference" / "A.1.0.bpmn"
    out = tmp_path / "a.svg"
    assert main(["render", str(source), "-o", str(out), "--layout", "auto"]) == 0
    assert len(svg_groups(out)) > 3


def test_deal_process_and_heatmap_charts(
    env: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iid = env.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    drive(env, iid, WON[:7])
    out = tmp_path / "deal.svg"
    assert main(["render", iid, "-o", str(out)]) == 0
    groups = svg_groups(out)
    assert "state-completed" in groups["task_legal_review"]
    assert "state-ready" in groups["task_confirm_down_payment"]
    assert "state-not-reached" in groups["task_satisfaction_revisit"]
    assert main(["render", "sales_pipeline", "-o", str(tmp_path / "p.svg"), "--heatmap"]) == 0
    assert main(["render", "sales_pipeline", "-o", str(tmp_path / "p.pdf"), "--version", "1"]) == 0
    assert "wrote" in capsys.readouterr().out


def test_a_hostile_deal_name_renders_safely(env: Service, tmp_path: Path) -> None:
    iid = env.start(
        "sales_pipeline", deal=HOSTILE, owner="alice", data={**LEAD, "company": HOSTILE}
    )["instance_id"]
    for fmt in ("svg", "png", "pdf"):
        assert main(["render", iid, "-o", str(tmp_path / f"deal.{fmt}")]) == 0
    svg = (tmp_path / "deal.svg").read_text()
    root = etree.fromstring(svg.encode())  # well-formed
    assert not list(root.iter(f"{SVG}script"))
    assert "客户" in svg and "&lt;script&gt;" in svg
    # make installs poppler-utils: pdftotext reads the PDF's text back.
    assert shutil.which("pdftotext"), "pdftotext is missing: run make test (it installs it)"
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "deal.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "客户" in text


def test_export_all_writes_every_open_deal(env: Service, tmp_path: Path) -> None:
    ids = [env.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"] for _ in range(3)]
    lost = env.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    lose = ("task_negotiate", {"outcome": "lost", "lost_reason": "price too high"})
    drive(env, lost, [*WON[:5], lose])
    assert main(["--json", "export-all", str(tmp_path / "charts"), "--format", "png"]) == 0
    written = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert written == sorted(f"{i}-ACME.png" for i in ids)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["render", "sales_pipeline", "-o", "x.gif"], 7, ".svg"),
        (["render", "999", "-o", "x.svg"], 4, "no instance"),
        (["render", "nope_process", "-o", "x.svg"], 4, "no deployed process"),
        (["render", str(PIPELINE), "-o", "x.svg", "--heatmap"], 7, "deployed process"),
    ],
)
def test_render_errors(
    env: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    needle: str,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(args) == code
    assert needle in capsys.readouterr().err
    assert list(work.iterdir()) == []  # nothing half-written


def test_a_broken_file_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text(PIPELINE.read_text().replace("</bpmn:process>", "</bpmn:proces>"))
    assert main(["render", str(broken), "-o", str(tmp_path / "b.svg")]) == 8
    err = capsys.readouterr().err
    assert "broken.bpmn:" in err
    assert not (tmp_path / "b.svg").exists()
