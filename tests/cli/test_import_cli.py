"""`salesflow import FILE --process ID --user U [--dry-run] [--map COLUMN=FIELD ...]`: leads
from a real CSV file into deals, with the use case's preview, mapping and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import PROCESSES
from tests.engine.test_imports import BAD, HEADER, csv_bytes, leads

from .test_cli import env  # noqa: F401  (a fixture)


def test_dry_run_then_import_with_a_mapping(
    env: dict[str, str],  # noqa: F811
    team: Service,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    team.deploy([PROCESSES])
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_bytes(["Firma", *HEADER[1:]], leads()))
    command = ["import", str(path), "--process", "sales_pipeline", "--user", "alice"]

    assert main([*command, "--dry-run", "--map", "Firma=company"]) == 0
    out = capsys.readouterr().out
    assert "would import 197 of 200 rows into sales_pipeline" in out
    assert "row 37, Annual revenue: Annual revenue (CNY): 'lots' is not a number" in out
    assert team.instances() == []

    assert main(["--json", *command, "--map", "Firma=company", "--owner", "bob"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["started"] == 197 and result["invalid_rows"] == sorted(BAD)
    assert {d["owner"] for d in team.instances()} == {"bob"}

    # Unmapped, no row has a company: nothing to start; a bad --map exits 7 naming it.
    assert main(["--json", *command, "--map", "Firma"]) == 7
    assert json.loads(capsys.readouterr().err)["field"] == "--map"
    assert main(["--json", *command[:1], str(tmp_path / "none.csv"), *command[2:]]) == 7
    assert json.loads(capsys.readouterr().err)["field"] == "FILE"
    assert len(team.instances()) == 197
