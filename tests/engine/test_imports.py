# ruff: noqa: RUF001 - full-width Chinese punctuation is meant here
"""Importing leads from CSV and XLSX files (engine.usecases.imports), over real files written
here and a real database: 200 leads with 3 bad rows start 197 deals and name the 3; a GBK CSV
with Chinese headers and labels; an XLSX workbook; a start failing in the middle keeps none."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from engine.errors import ForbiddenError, ValidationError
from engine.usecases.imports import MAX_ROWS, PREVIEW_ROWS, read_table
from engine.usecases.service import Service
from tests.conftest import PROCESSES

HEADER = ["Company", "Contact", "Source", "Annual revenue", "Intent"]
BAD = {37: ("annual_revenue", "lots"), 101: ("company", ""), 150: ("source_channel", "fax")}


def leads(count: int = 200) -> list[list[str]]:
    """`count` leads as a sales team's spreadsheet holds them; the rows of BAD (spreadsheet
    row numbers: the header is row 1) carry one mistake each."""
    channels = ["Trade show", "referral", "Social media", "ads"]
    rows = []
    for n in range(count):
        row = [f"Lead {n:03d} Ltd", f"Contact {n}", channels[n % 4], f"{1_000_000 + n * 50_000:,}"]
        row.append(["High", "medium", "low"][n % 3])
        if (n + 2) in BAD:
            column = {"company": 0, "source_channel": 2, "annual_revenue": 3}[BAD[n + 2][0]]
            row[column] = BAD[n + 2][1]
        rows.append(row)
    return rows


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode(encoding)


@pytest.fixture
def team_with_processes(team: Service) -> Service:
    team.deploy([PROCESSES], actor="mia")
    return team


def test_200_leads_with_3_bad_rows_start_197_and_name_the_3(team_with_processes: Service) -> None:
    service = team_with_processes
    content = csv_bytes(HEADER, leads())
    preview = service.preview_import(content, "sales_pipeline", actor="alice", filename="l.csv")
    assert preview["mapping"] == {
        "Company": "company",
        "Contact": "contact",
        "Source": "source_channel",
        "Annual revenue": "annual_revenue",
        "Intent": "intent",
    }
    assert (preview["rows"], preview["valid"], preview["invalid"]) == (200, 197, 3)
    named = {(e["row"], e["field"]) for e in preview["errors"]}
    assert named == {(row, key) for row, (key, _v) in BAD.items()}
    by_row = {e["row"]: e for e in preview["errors"]}
    assert (
        by_row[37]["column"] == "Annual revenue"
        and "'lots' is not a number" in (by_row[37]["message"])
    )
    assert "Trade show" in by_row[150]["message"]  # the choices, as a person reads them
    first = preview["sample"][0]
    assert first == {
        "row": 2,
        "owner": "alice",
        "data": {
            "company": "Lead 000 Ltd",
            "contact": "Contact 0",
            "source_channel": "trade_show",
            "annual_revenue": 1_000_000,
            "intent": "high",
        },
    }
    assert len(preview["sample"]) == PREVIEW_ROWS
    assert service.instances() == []  # the preview wrote nothing

    result = service.import_leads(content, "sales_pipeline", actor="alice", filename="l.csv")
    assert result["started"] == 197 and result["invalid_rows"] == [37, 101, 150]
    deals = service.instances()
    assert len(deals) == 197 and {d["owner"] for d in deals} == {"alice"}
    assert sorted(d["instance_id"] for d in deals) == sorted(result["instance_ids"])
    names = {d["name"] for d in deals}
    assert "Lead 001 Ltd" in names and "Lead 035 Ltd" not in names  # row 37 is lead 035
    one = service.show(result["instance_ids"][5])
    assert one["data"]["annual_revenue"] == 1_250_000 and one["status"] == "running"


def test_a_gbk_csv_with_chinese_headers_and_labels(team_with_processes: Service) -> None:
    header = ["公司名称", "联系人", "渠道", "年营收（元）", "意向", "负责人", "备注"]
    rows = [
        ["杭州云帆科技有限公司", "王芳 13800001111", "展会", "800万", "高", "bob", "老客户介绍"],
        ["苏州精工机械", "李强", "转介绍", "12,000,000", "中", "", ""],
        ["宁波海通贸易", "陈静", "电话", "6000000", "低", "nobody", ""],
    ]
    content = csv_bytes(header, rows, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # really GBK, as a Chinese Excel writes it
    preview = service_preview = team_with_processes.preview_import(
        content, "sales_pipeline", actor="mia", lang="zh-CN"
    )
    assert service_preview["file"] == {"kind": "csv", "encoding": "gb18030"}
    assert preview["mapping"] == {
        "公司名称": "company",
        "联系人": "contact",
        "渠道": "source_channel",
        "年营收（元）": "annual_revenue",
        "意向": "intent",
        "负责人": "owner",
        "备注": "",
    }
    assert preview["sample"][0] == {
        "row": 2,
        "owner": "bob",
        "data": {
            "company": "杭州云帆科技有限公司",
            "contact": "王芳 13800001111",
            "source_channel": "trade_show",
            "annual_revenue": 8_000_000,
            "intent": "high",
        },
    }
    assert preview["sample"][1]["owner"] == "mia"  # no owner in the row: the importer
    errors = {(e["row"], e["field"]): e["message"] for e in preview["errors"]}
    assert set(errors) == {(4, "source_channel"), (4, "owner")}
    assert (
        "「电话」不在可选项中" in errors[4, "source_channel"]
        and "展会" in errors[4, "source_channel"]
    )
    assert "nobody" in errors[4, "owner"]
    result = team_with_processes.import_leads(content, "sales_pipeline", actor="mia")
    assert result["started"] == 2
    assert {d["owner"] for d in team_with_processes.instances()} == {"bob", "mia"}


def test_an_xlsx_workbook(team_with_processes: Service, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["Company name", "Contact person", "Lead source", "Annual revenue (CNY)", "Intent"]
    )
    sheet.append(["Shenzhen Bright", "Zhou Min", "Content marketing", 9_500_000, "High"])
    sheet.append([None, None, None, None, None])  # an empty row is left out
    sheet.append(["Xiamen Blue", "Xu Lei", "social", 7_200_000.0, "low"])
    sheet.append(["Dalian North", "Gao Yan", "ads", -5, "medium"])
    path = tmp_path / "leads.xlsx"
    book.save(path)
    content = path.read_bytes()
    preview = team_with_processes.preview_import(content, "sales_pipeline", actor="bob")
    assert preview["file"] == {"kind": "xlsx", "encoding": None}
    assert preview["rows"] == 3 and preview["valid"] == 2
    [error] = preview["errors"]
    assert (error["row"], error["column"], error["field"]) == (
        5,
        "Annual revenue (CNY)",
        "annual_revenue",
    )
    result = team_with_processes.import_leads(content, "sales_pipeline", actor="bob")
    assert result["started"] == 2
    [bright] = team_with_processes.instances(search="Shenzhen")
    data = team_with_processes.show(bright["instance_id"])["data"]
    assert data["source_channel"] == "content" and data["annual_revenue"] == 9_500_000


FAILING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_ratio_lead" targetNamespace="http://salesflow.example/test">
  <bpmn:collaboration id="collab_ratio_lead">
    <bpmn:participant id="pool_ratio_lead" name="Ratio lead" processRef="ratio_lead"/>
  </bpmn:collaboration>
  <bpmn:process id="ratio_lead" name="Ratio lead" isExecutable="true">
    <bpmn:laneSet id="lanes_ratio_lead">
      <bpmn:lane id="lane_rep" name="Sales Rep">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>script_ratio</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>task_call</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Lead">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="ratio_lead.schema.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="script_ratio" name="Revenue per head">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>per_head = annual_revenue / staff</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="task_call" name="Call the lead">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end">
      <bpmn:incoming>f3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script_ratio"/>
    <bpmn:sequenceFlow id="f2" sourceRef="script_ratio" targetRef="task_call"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task_call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FAILING_FORM = {
    "type": "object",
    "properties": {
        "company": {"type": "string", "title": "Company", "minLength": 1},
        "annual_revenue": {"type": "number", "title": "Annual revenue", "minimum": 0},
        "staff": {"type": "integer", "title": "Staff", "minimum": 0},
    },
    "required": ["company", "annual_revenue", "staff"],
}


def test_a_start_failing_in_the_middle_keeps_none(team: Service, tmp_path: Path) -> None:
    (tmp_path / "ratio_lead.bpmn").write_text(FAILING, encoding="utf-8")
    (tmp_path / "ratio_lead.schema.json").write_text(json.dumps(FAILING_FORM), encoding="utf-8")
    team.deploy([tmp_path], actor="mia")
    rows = [[f"Firm {n}", str(1_000_000 * (n + 1)), "0" if n == 6 else "20"] for n in range(12)]
    content = csv_bytes(["Company", "Annual revenue", "Staff"], rows)
    # Every row is valid data (0 staff is allowed by the form): only the process's script fails.
    assert team.preview_import(content, "ratio_lead", actor="alice")["valid"] == 12
    with pytest.raises(ValidationError) as failed:
        team.import_leads(content, "ratio_lead", actor="alice")
    assert failed.value.field == "row 8" and "nothing was imported" in str(failed.value)
    assert "Revenue per head" in str(failed.value)
    assert team.instances() == []  # the 6 rows before it were not kept
    rows[6][2] = "3"
    assert team.import_leads(csv_bytes(["Company", "Annual revenue", "Staff"], rows), "ratio_lead",
                             actor="alice")["started"] == 12  # fmt: skip
    assert len(team.instances()) == 12


def test_who_may_import_and_the_mapping_given(team_with_processes: Service) -> None:
    service = team_with_processes
    content = csv_bytes(["Firma", "Wer", "Source", "Annual revenue", "Intent", "Owner"],
                        [["ACME", "Li", "ads", "9000000", "high", "pete"]])  # fmt: skip
    with pytest.raises(ForbiddenError):  # a product expert starts no sales pipeline
        service.preview_import(content, "sales_pipeline", actor="pete")
    with pytest.raises(ForbiddenError):
        service.import_leads(content, "sales_pipeline", actor="pete")
    preview = service.preview_import(content, "sales_pipeline", actor="alice")
    assert preview["mapping"]["Firma"] == "" and preview["mapping"]["Owner"] == "owner"
    fields = {(e["field"]) for e in preview["errors"]}
    assert fields == {"company", "contact", "owner"}  # pete holds no owner role
    mapped = {"Firma": "company", "Wer": "contact", "Owner": ""}
    preview = service.preview_import(content, "sales_pipeline", actor="alice", mapping=mapped)
    assert preview["errors"] == [] and preview["sample"][0]["owner"] == "alice"
    with pytest.raises(ValidationError, match="no column 'No'"):
        service.preview_import(content, "sales_pipeline", actor="alice", mapping={"No": "company"})
    with pytest.raises(ValidationError, match="no field 'budget'"):
        service.preview_import(content, "sales_pipeline", actor="alice", mapping={"Wer": "budget"})
    with pytest.raises(ValidationError, match="both give the field 'company'"):
        service.preview_import(
            content, "sales_pipeline", actor="alice", mapping={"Firma": "company", "Wer": "company"}
        )
    with pytest.raises(ValidationError) as owner:
        service.preview_import(content, "sales_pipeline", actor="alice", owner="pete")
    assert owner.value.field == "owner"
    with pytest.raises(ValidationError) as missing:
        service.preview_import(content, "no_such_process", actor="alice")
    assert missing.value.field == "process_id"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "no rows"),
        (b"Company\nA\x00B\n", "NUL"),
        (b"\xff\xfeC", "not"),
        (b"PK\x03\x04 not really a workbook", "not an XLSX workbook"),
        (bytes(range(128, 256)) * 3, "neither"),
    ],
)
def test_files_that_are_not_tables(content: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        read_table(content)
    assert refused.value.field == "file"


def test_at_most_5000_rows() -> None:
    rows: list[Any] = [[f"Lead {n}"] for n in range(MAX_ROWS)]
    assert len(read_table(csv_bytes(["Company"], rows)).rows) == MAX_ROWS
    with pytest.raises(ValidationError, match="more than 5000 rows"):
        read_table(csv_bytes(["Company"], [*rows, ["one more"]]))


def test_a_bom_and_semicolons() -> None:
    table = read_table("\ufeffCompany;Contact\r\nACME;Li\r\n\r\n;\r\n".encode())
    assert (table.encoding, table.columns, table.rows) == (
        "utf-8-sig",
        ["Company", "Contact"],
        [(2, ["ACME", "Li"])],
    )


def test_a_deals_value_and_expected_close_come_from_their_columns(
    team_with_processes: Service, tmp_path: Path
) -> None:
    header = ["公司名称", "联系人", "渠道", "年营收", "意向", "商机金额", "预计成交日期"]
    rows = [
        ["杭州云帆科技", "王芳", "展会", "800万", "高", "¥240,000", "2027-03-31"],
        ["苏州精工机械", "李强", "转介绍", "500万", "中", "12万", "2027年4月5日"],
        ["宁波海通贸易", "陈静", "展会", "300万", "低", "-5", "2027/13/40"],
        ["无锡新材料", "赵敏", "展会", "100万", "低", "", ""],
    ]
    content = csv_bytes(header, rows)
    service = team_with_processes
    preview = service.preview_import(content, "sales_pipeline", actor="mia", lang="zh")
    assert preview["mapping"]["商机金额"] == "amount"
    assert preview["mapping"]["预计成交日期"] == "expected_close"
    titles = {f["field"]: f["title"] for f in preview["fields"]}
    assert (titles["amount"], titles["expected_close"]) == ("商机金额", "预计成交日期")
    first, second, fourth = preview["sample"]
    assert (first["amount"], first["expected_close"]) == (240_000, "2027-03-31")
    assert (second["amount"], second["expected_close"]) == (120_000, "2027-04-05")
    assert "amount" not in fourth and "amount" not in fourth["data"]  # empty cells: not given
    errors = {(e["row"], e["field"]): e["message"] for e in preview["errors"]}
    assert set(errors) == {(4, "amount"), (4, "expected_close")}
    assert "「-5」不是大于或等于 0 的金额" in errors[4, "amount"]
    assert "「2027/13/40」不是日期" in errors[4, "expected_close"]

    result = service.import_leads(content, "sales_pipeline", actor="mia")
    assert result["started"] == 3 and result["invalid_rows"] == [4]
    by_name = {d["name"]: service.show(d["instance_id"]) for d in service.instances()}
    assert by_name["杭州云帆科技"]["amount"] == 240_000
    assert by_name["苏州精工机械"]["expected_close"] == "2027-04-05"
    assert by_name["无锡新材料"]["amount"] is None

    # An XLSX date cell is a date whatever its format.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Company", "Contact", "Source", "Revenue", "Intent", "Deal value", "Close date"])
    sheet.append(["ACME", "Li", "referral", 5e6, "high", 99_000.5, datetime(2027, 6, 30)])
    path = tmp_path / "leads.xlsx"
    book.save(path)
    sample = service.preview_import(path.read_bytes(), "sales_pipeline", actor="mia")["sample"]
    assert (sample[0]["amount"], sample[0]["expected_close"]) == (99_000.5, "2027-06-30")


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "l.csv", "文件是空的"),
        (b"x", "old.xls", "无法读取 .xls 文件"),
        (b"Company\nA\x00B\n", "l.csv", "文件含有 NUL 字符"),
        (bytes(range(128, 256)) * 3, "l.csv", "既不是 UTF-8 或 GBK 编码的 CSV"),
    ],
)
def test_a_refused_file_is_told_in_the_readers_language(
    team_with_processes: Service, content: bytes, filename: str, message: str
) -> None:
    for lang, expected in (("zh-CN", message), ("en", None)):
        with pytest.raises(ValidationError) as refused:
            team_with_processes.preview_import(
                content, "sales_pipeline", actor="mia", filename=filename, lang=lang
            )
        assert refused.value.field == "file"
        if expected is None:
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in str(refused.value))
        else:
            assert expected in str(refused.value)


def test_a_bad_mapping_is_told_in_the_readers_language(team_with_processes: Service) -> None:
    content = csv_bytes(["Company", "Contact"], [["ACME", "Li"]])
    with pytest.raises(ValidationError, match="文件中没有“Phone”列") as refused:
        team_with_processes.preview_import(
            content, "sales_pipeline", actor="mia", mapping={"Phone": "contact"}, lang="zh"
        )
    assert refused.value.field == "mapping"
