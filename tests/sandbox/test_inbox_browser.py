"""The web inbox in a real browser: phone cards with their conversation both ways, delivery
states updating live, and a reply box that posts KPN's inbound payload to the webhook."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.browser import browser_page
from tests.sandbox.helpers import fetch_token, message, post_send
from tests.sandbox.receiver import Receiver

__all__ = ["browser_page"]  # the fixture, used by name

WAIT_MS = 15_000
HOSTILE = "<img src=x onerror=\"document.title='owned'\">"


@pytest.fixture
async def sandbox(inbound: Receiver) -> AsyncIterator[SandboxHandle]:
    async with running_sandbox(
        inbound_webhook=inbound.url, delivery_delay_ms=300, retry_delays=(0.01,)
    ) as handle:
        yield handle


def screenshot_path(tmp_path: Path) -> Path:
    # SMSBOT_SCREENSHOT_DIR keeps the picture for a person to look at; else the test's tmp dir.
    folder = Path(os.environ.get("SMSBOT_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "sandbox-inbox.png"


async def test_reply_box_posts_the_phones_answer_and_the_thread_shows_both_ways(
    browser_page: Any,
    http: aiohttp.ClientSession,
    sandbox: SandboxHandle,
    inbound: Receiver,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    from playwright.async_api import expect

    page = browser_page
    await page.goto(sandbox.url + "/")
    await expect(page.locator("#status")).to_have_text("live", timeout=WAIT_MS)
    await expect(page.locator("#empty")).to_be_visible()

    # SMS arrive while the page is open: the cards appear and their states change live.
    token = await fetch_token(http, sandbox)
    sandbox.script_delivery("failed", error_code="007")
    unreachable_sms = message("0687654321", "Are you there?", webhook_url=receiver.url)
    alert_sms = message(
        content="[FIRING] DiskFull on db-1. Reply 1a to acknowledge",
        sender="3197012345678",
        webhook_url=receiver.url,
    )
    await post_send(http, sandbox, token, unreachable_sms)
    await post_send(http, sandbox, token, alert_sms)
    await post_send(http, sandbox, token, message(content=HOSTILE, sender="SMSBot"))

    phone = page.locator('[data-phone="+31612345678"]')
    await expect(phone.locator(".item.received")).to_have_count(2, timeout=WAIT_MS)
    await expect(phone.locator('.item.received[data-delivery="delivered"]')).to_have_count(
        1, timeout=WAIT_MS
    )
    await expect(phone.locator(".delivery").first).to_contain_text("Delivered")
    unreachable = page.locator('[data-phone="+31687654321"] .delivery')
    await expect(unreachable).to_have_text(
        "✗ Not delivered: Recipient is temporarily unreachable or out of coverage (007)",
        timeout=WAIT_MS,
    )
    # Content is text, never markup.
    await expect(phone.locator(".bubble").nth(1)).to_have_text(HOSTILE)
    assert await page.locator("main img").count() == 0

    # The phone answers: typed in its card, sent with Enter.
    box = phone.locator("textarea")
    await box.fill("1a")
    await box.press("Enter")
    (payload,) = await inbound.wait_for(1)
    # To the alert's number (the sender of the SMS it answers is a number; the newest, a name).
    assert payload["sender"] == "31612345678"
    assert payload["content"] == "1a"
    assert payload["recipient"] == "3197000000000"
    await expect(phone.locator('.item.sent[data-webhook="posted"]')).to_have_count(
        1, timeout=WAIT_MS
    )
    await expect(phone.locator(".item.sent .bubble")).to_have_text("1a")
    await expect(box).to_have_value("")
    # The thread reads in time order: the two SMS it got, then its reply, on the right.
    kinds = await phone.locator(".thread > li").evaluate_all(
        "items => items.map(item => item.classList.contains('sent') ? 'sent' : 'received')"
    )
    assert kinds == ["received", "received", "sent"]
    assert await page.title() == "smsbot sandbox inbox"

    await page.screenshot(path=str(screenshot_path(tmp_path)), full_page=True)


async def test_reply_box_says_when_there_is_no_inbound_webhook(
    browser_page: Any, http: aiohttp.ClientSession
) -> None:
    from playwright.async_api import expect

    async with running_sandbox() as sandbox:
        token = await fetch_token(http, sandbox)
        await post_send(http, sandbox, token, message())
        page = browser_page
        await page.goto(sandbox.url + "/")
        phone = page.locator('[data-phone="+31612345678"]')
        await phone.locator("textarea").fill("hello?")
        await phone.locator("button", has_text="Send").click()
        await expect(phone.locator(".reply-error")).to_contain_text(
            "--inbound-webhook", timeout=WAIT_MS
        )
        await expect(phone.locator("textarea")).to_have_value("hello?")  # kept, to try again
        assert sandbox.replies() == []
