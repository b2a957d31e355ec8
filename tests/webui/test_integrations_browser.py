"""The integrations page in a real Chromium: an admin sees the robots, the webhooks with their
deliveries (one taken on its third try), the chat log, and replays a delivery, in English and
in Chinese; the screenshots go to var/artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from engine import clock
from engine.jobs import deliveries
from engine.store.notifications import notify
from engine.usecases.service import Service
from tests.engine.chat_servers import WebhookReceiver, WeComRobot
from tests.webui.conftest import LEAD, PASSWORD
from tests.webui.test_browser import ARTIFACTS, launched, pytestmark, served

__all__ = ["pytestmark"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def busy(staff: Service) -> Iterator[Service]:
    """A robot and a webhook that have been used: a delivery taken on its third try, a chat
    message sent and one refused."""
    receiver = WebhookReceiver(fail_first=2).start()
    wecom = WeComRobot().start()
    try:
        staff.add_robot(
            user="root", name="销售一组 Sales team", vendor="wecom", url=wecom.url,
            events=["escalated", "incident"],
        )  # fmt: skip
        staff.add_robot(
            user="root", name="Managers", vendor="dingtalk", url=wecom.base + "/robot/send?x=1",
            secret="SECwrong-secret-000", events=["incident"],
        )  # fmt: skip
        staff.add_webhook(
            user="root", url=receiver.url, events=["deal.started", "deal.won"],
            secret=receiver.secret,
        )  # fmt: skip
        staff.set_inbound_secret("payment_received", "payments-shared-secret-42", user="root")
        staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
        with staff.db.write() as s:
            notify(s, "alice", "incident", "Deal 'ACME Tools' stopped: Grade lead failed.")
        now = clock.now()
        for wait in (0, 30, 90):
            deliveries.send_pending(staff.db, now + timedelta(seconds=wait))
        assert len(receiver.accepted) == 1 and len(wecom.accepted) == 1
        yield staff
    finally:
        receiver.stop()
        wecom.stop()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_admin_reads_the_log_and_replays(
    browser: Browser, busy: Service, db_url: str, locale: str
) -> None:
    with served(db_url, "integrations") as url:
        context = browser.new_context(
            base_url=url, locale=locale, viewport={"width": 1280, "height": 900}
        )
        try:
            page = context.new_page()
            page.goto("/login")
            page.locator("#username").fill("root")
            page.locator("#password").fill(PASSWORD)
            page.locator("section.login form button[type=submit]").click()
            page.wait_for_url("**/tasks")
            if locale.startswith("zh"):
                page.click("form.language button[lang^=zh]")
            page.goto("/integrations")
            title = "集成" if locale.startswith("zh") else "Integrations"
            expect(page.locator("h1")).to_have_text(title)
            expect(page.locator("nav a[aria-current=page]")).to_have_text(title)
            delivered = page.locator("table.deliveries tbody tr").first
            expect(delivered.locator("td").nth(3)).to_have_text("3")  # taken on the third try
            assert "wecom-key" not in page.content()  # the robot's key is never shown
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"integrations-{locale}.png"
            page.screenshot(path=str(shot), full_page=True)
            delivered.locator("button").click()
            expect(page.locator(".flash, [role=status], .messages").first).to_be_visible()
            [hook] = busy.webhooks(user="root")
            assert hook["deliveries"][0]["replays"] == 1
            assert hook["deliveries"][0]["status"] == "pending"
        finally:
            context.close()


def test_a_rep_chooses_her_chat_in_chinese(browser: Browser, staff: Service, db_url: str) -> None:
    robot = staff.add_robot(
        user="root",
        name="华东销售群",
        vendor="dingtalk",
        url="https://oapi.dingtalk.com/robot/send?access_token=t",
    )
    with served(db_url, "my-chat") as url:
        context = browser.new_context(base_url=url, locale="zh-CN")
        try:
            page = context.new_page()
            page.goto("/login")
            page.locator("#username").fill("alice")
            page.locator("#password").fill(PASSWORD)
            page.locator("section.login form button[type=submit]").click()
            page.wait_for_url("**/tasks")
            page.click("form.language button[lang^=zh]")
            page.goto("/notifications")
            page.locator('a[href$="/integrations/mine"]').click()
            expect(page.locator("h1")).to_have_text("我的群聊")
            page.get_by_label("华东销售群").check()
            page.get_by_label("每日概览").check()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "my-chat-zh-CN.png"), full_page=True)
            page.locator("main form button[type=submit]").click()
            expect(page.locator(".flash")).to_have_text("你的群聊通知设置已保存。")
            chosen = staff.my_chat(user="alice")
            assert chosen["robot_id"] == robot["id"]
            assert chosen["events"] == ["assigned", "escalated", "incident", "digest"]
        finally:
            context.close()
