# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese sentences
"""The deal page's timeline and GET /api/v1/deals/{id}/timeline speak business: one sentence
per step, decisions folded into the step they decide, a send-back with who and why, in the
reader's language; the engine's raw rows only under "Details"."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.usecases.demo import BIG_DISCOUNT, complete_step, drive
from engine.usecases.service import Service
from tests.webui.conftest import LEAD, login, text
from tests.webui.test_api import conforms, error_of

API = "/api/v1"


def sent_back(service: Service) -> str:
    """Alice's deal whose 8% discount Zhang Wei (mia) sent back: the quote is open again."""
    service.set_user("mia", display_name="张伟 Zhang Wei")
    iid = str(
        service.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    )
    drive(service, iid, BIG_DISCOUNT[:5])
    complete_step(
        service,
        iid,
        "task_approve_discount",
        discount_approved=False,
        approval_comment="price too low",
    )
    return iid


def timeline_of(page: str) -> str:
    start = page.index('<section class="card" id="timeline">')
    return page[start : page.index("</section>", start)]


def test_the_deal_page_tells_the_send_back_in_english(client: FlaskClient, staff: Service) -> None:
    iid = sent_back(staff)
    login(client, "alice")
    part = timeline_of(text(client.get(f"/deals/{iid}")))
    assert "Approve discount: Prepare quote sent back by 张伟 Zhang Wei" in part
    assert "<blockquote>price too low</blockquote>" in part
    assert "Qualify lead done by Alice Rep → tier A or B" in part
    assert "Prepare quote done by Alice Rep → discount &gt; 5%" in part
    assert "Deal started by Alice Rep" in part
    # The engine's words are gone from the sentences; the raw rows wait under "Details".
    sentences = "".join(p.split("</strong>")[0] for p in part.split('<p class="what"><strong>'))
    for engine_words in ("Qualified?", "Approved?", "Idle 3 days", "Completed", "Cancelled"):
        assert engine_words not in sentences
    assert "<summary>Details</summary>" in part and "Approved?" in part
    # The comment form stays at the top of the timeline.
    assert part.index('class="comment"') < part.index('<ol class="timeline">')


def test_the_deal_page_tells_the_send_back_in_chinese(client: FlaskClient, staff: Service) -> None:
    iid = sent_back(staff)
    staff.set_language("alice", "zh")
    login(client, "alice")
    part = timeline_of(text(client.get(f"/deals/{iid}")))
    assert "折扣审批：张伟 Zhang Wei 退回了报价" in part
    assert "<blockquote>price too low</blockquote>" in part
    assert "Alice Rep 完成了线索资格审查 → A 类或 B 类" in part
    assert "Alice Rep 创建了商机" in part and "<summary>详情</summary>" in part


def test_marked_lost_still_says_who_and_why(client: FlaskClient, staff: Service) -> None:
    iid = sent_back(staff)
    reason = staff.lost_reasons("sales_pipeline")[0]
    staff.mark_lost(iid, user="mia", reason=reason["value"])
    login(client, "alice")
    part = timeline_of(text(client.get(f"/deals/{iid}")))
    assert f"Marked lost by 张伟 Zhang Wei: {reason['label']}" in part
    assert "Prepare quote cancelled" not in part  # folded into the loss


def test_the_api_gives_the_timeline_newest_first_in_the_callers_language(
    client: FlaskClient, staff: Service
) -> None:
    iid = sent_back(staff)
    alice = {"Authorization": f"Bearer {staff.create_token('alice')['token']}"}
    answer = client.get(f"{API}/deals/{iid}/timeline", headers=alice)
    assert answer.status_code == 200
    body = answer.get_json()
    conforms(body, "DealTimeline")
    newest = body["timeline"][0]
    assert (newest["kind"], newest["actor"], newest["comment"]) == (
        "sent_back",
        "mia",
        "price too low",
    )
    assert (newest["name"], newest["target"]) == ("Approve discount", "Prepare quote")
    assert body["timeline"][-1]["kind"] == "started"
    chinese = client.get(f"{API}/deals/{iid}/timeline", headers={**alice, "Accept-Language": "zh"})
    assert chinese.get_json()["timeline"][0]["target"] == "报价"
    # Another rep's deal and a deal that does not exist read the same.
    bob = {"Authorization": f"Bearer {staff.create_token('bob')['token']}"}
    hidden = error_of(client.get(f"{API}/deals/{iid}/timeline", headers=bob), 404)
    missing = error_of(client.get(f"{API}/deals/99999/timeline", headers=bob), 404)
    assert hidden["message"] == f"no deal with id '{iid}'"
    assert missing["message"] == "no deal with id '99999'"
    error_of(client.get(f"{API}/deals/not-a-number/timeline", headers=bob), 404)
    error_of(client.get(f"{API}/deals/{iid}/timeline"), 401)
