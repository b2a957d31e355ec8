"""The placeholder page `make run` serves (the web app itself arrives with issue 4)."""

from __future__ import annotations

from webui import create_app


def test_index_page_and_health() -> None:
    client = create_app({"TESTING": True}).test_client()
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "salesflow" in text and "销售流程" in text
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/no-such-page").status_code == 404
