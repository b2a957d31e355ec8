"""Importing leads through the API (POST /api/v1/imports/preview, /imports) and the pages
(/imports: upload, preview with the columns' select boxes, confirm, result), over a real
database and the real app: 200 leads with 3 bad rows import 197 with the 3 named."""

from __future__ import annotations

import io
import json
import re

from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.engine.test_imports import BAD, HEADER, csv_bytes, leads

from .conftest import csrf_token, login, text

API = "/api/v1"


def _token(service: Service, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.create_token(user)['token']}"}


def _upload(content: bytes, name: str = "leads.csv", **fields: str) -> dict[str, object]:
    return {"file": (io.BytesIO(content), name), "process_id": "sales_pipeline", **fields}


def test_the_api_previews_then_imports_197_of_200(client: FlaskClient, staff: Service) -> None:
    headers = _token(staff, "alice")
    content = csv_bytes(HEADER, leads())
    answer = client.post(f"{API}/imports/preview", data=_upload(content), headers=headers)
    assert answer.status_code == 200, answer.get_json()
    preview = answer.get_json()
    assert (preview["valid"], preview["invalid_rows"]) == (197, sorted(BAD))
    assert staff.instances() == []
    answer = client.post(f"{API}/imports", data=_upload(content), headers=headers)
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    assert result["started"] == 197 and len(staff.instances(owner="alice")) == 197
    assert {(e["row"], e["field"]) for e in result["errors"]} == {
        (row, key) for row, (key, _v) in BAD.items()
    }


def test_the_api_in_chinese_with_a_mapping_and_its_refusals(
    client: FlaskClient, staff: Service
) -> None:
    headers = {**_token(staff, "alice"), "Accept-Language": "zh-CN"}
    content = csv_bytes(["Firma", *HEADER[1:]], [["ACME", "Li", "展会", "1,000", "很高"]])
    mapping = json.dumps({"Firma": "company"})
    answer = client.post(
        f"{API}/imports/preview", data=_upload(content, mapping=mapping), headers=headers
    )
    [error] = answer.get_json()["errors"]
    assert (error["row"], error["column"], error["field"]) == (2, "Intent", "intent")
    assert "「很高」不在可选项中" in error["message"]
    refused = client.post(
        f"{API}/imports/preview", data=_upload(content, mapping="{nope"), headers=headers
    )
    assert refused.status_code == 422 and refused.get_json()["field"] == "mapping"
    refused = client.post(f"{API}/imports", data=_upload(b"\x00\x01", "x.xlsx"), headers=headers)
    assert refused.status_code == 422 and refused.get_json()["field"] == "file"
    refused = client.post(
        f"{API}/imports", data=_upload(content), headers=_token(staff, "pete")
    )  # a product expert starts no sales pipeline
    assert refused.status_code == 403
    assert staff.instances() == []


def test_the_pages_upload_preview_and_import(client: FlaskClient, staff: Service) -> None:
    login(client, "alice")
    assert 'href="/imports"' in text(client.get("/deals"))
    token = csrf_token(client, "/imports")
    content = csv_bytes(["Firma", *HEADER[1:]], leads())
    page = client.post(
        "/imports/preview",
        data={
            "csrf_token": token,
            "process": "sales_pipeline",
            "owner": "alice",
            "file": (io.BytesIO(content), "leads.csv"),
        },
    )
    html = text(page)
    assert page.status_code == 200
    assert "200 rows: 0 ready to import, 200 with errors (skipped)." in html  # no company
    # The preview page carries the file on; the user maps "Firma" to the company field.
    carried = re.search(r'name="file_data" value="([^"]+)"', html)
    assert carried is not None
    form = {"csrf_token": token, "process": "sales_pipeline", "owner": "alice",
            "file_data": carried.group(1), "file_name": "leads.csv",
            "column": ["Firma", *HEADER[1:]],
            "map_0": "company", "map_1": "contact", "map_2": "source_channel",
            "map_3": "annual_revenue", "map_4": "intent"}  # fmt: skip
    html = text(client.post("/imports/preview", data=form))
    assert "200 rows: 197 ready to import, 3 with errors (skipped)." in html
    assert "Import 197 deals" in html and staff.instances() == []
    done = client.post("/imports/run", data=form)
    html = text(done)
    assert done.status_code == 200 and "197 deals imported, 3 rows skipped." in html
    for row in BAD:
        assert f'<td class="num">{row}</td>' in html
    assert len(staff.instances()) == 197
    # Without the CSRF token nothing is imported.
    refused = client.post("/imports/run", data={**form, "csrf_token": "x"})
    assert refused.status_code == 400 and len(staff.instances()) == 197


def test_the_pages_in_chinese_refuse_a_file_that_is_not_a_table(
    client: FlaskClient, staff: Service
) -> None:
    staff.set_language("bob", "zh")
    login(client, "bob")
    page = text(client.get("/imports"))
    assert "导入线索" in page and "Import leads" not in page
    token = csrf_token(client, "/imports")
    refused = client.post(
        "/imports/preview",
        data={
            "csrf_token": token,
            "process": "sales_pipeline",
            "file": (io.BytesIO(b"\x80\x81\x82" * 50), "x.csv"),
        },
    )
    assert refused.status_code == 422 and 'id="import-problem"' in text(refused)


def test_the_api_documents_the_imports_on_its_docs_page(client: FlaskClient) -> None:
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    html = text(page)
    assert "/imports/preview" in html and "<code>multipart/form-data</code>" in html
