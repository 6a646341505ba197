"""The store's two-way parts on both engines, on the injected clock: which SMS a reply answers
(newest from the reply number to that phone, within the window), inbound text kept only on
request, retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from smsbot.sms.request import Outcome
from smsbot.store import Disposition, InboundOutcome, ManualClock, NewInbound, Store
from tests.store.test_store import NUMBER, queued

REPLY_SENDER = "3197012345678"
WINDOW = timedelta(hours=24)


async def sent(store: Store, key: str, *, sender: str = REPLY_SENDER, to: str = NUMBER) -> str:
    record = (await store.admit(replace(queued(key, to=to), sender=sender))).record
    await store.take_due(1)
    await store.finish(record.request_id, Outcome.SENT, document_id="doc")
    return record.request_id


def inbound(message_id: str, text: str = "yes") -> NewInbound:
    return NewInbound(message_id=message_id, sender=NUMBER, recipient="+" + REPLY_SENDER, text=text)


async def test_a_reply_answers_the_newest_sms_from_the_reply_number_within_the_window(
    store: Store, clock: ManualClock
) -> None:
    older = await sent(store, "older")
    clock.advance(timedelta(hours=1))
    newer = await sent(store, "newer")
    await sent(store, "named", sender="SMSBot")  # not from the reply number: cannot be answered
    await sent(store, "elsewhere", to="+31687654321")  # another phone
    assert await store.set_conversation(newer, "C1", "111.222")

    found = await store.conversation_for(NUMBER, sender=REPLY_SENDER, since=clock() - WINDOW)
    assert found is not None and found.request_id == newer
    assert (found.slack_channel, found.slack_ts) == ("C1", "111.222")
    assert older != newer

    clock.advance(WINDOW + timedelta(seconds=1))  # past the window of both
    assert await store.conversation_for(NUMBER, sender=REPLY_SENDER, since=clock() - WINDOW) is None


async def test_an_sms_that_was_never_sent_is_no_conversation(store: Store, clock: ManualClock):
    record = (await store.admit(replace(queued("k"), sender=REPLY_SENDER))).record
    await store.take_due(1)
    await store.finish(record.request_id, Outcome.FAILED, error="KPN refused it")
    assert await store.conversation_for(NUMBER, sender=REPLY_SENDER, since=clock() - WINDOW) is None


async def test_inbound_text_is_kept_only_when_asked_for(database_url: str, clock: ManualClock):
    for store_text, expected in ((False, None), (True, "private words")):
        store = await Store.open(database_url, store_text=store_text, clock=clock)
        try:
            admitted = await store.admit_inbound(
                inbound(f"m-{store_text}", "private words"), limit=20, window=timedelta(minutes=1)
            )
            assert admitted.record.text == expected and admitted.record.text_length == 13
        finally:
            await store.close()


async def test_retention_deletes_old_inbound_records(store: Store, clock: ManualClock) -> None:
    await store.admit_inbound(inbound("old"), limit=20, window=timedelta(minutes=1))
    clock.advance(timedelta(days=2))
    kept = await store.admit_inbound(inbound("new"), limit=20, window=timedelta(minutes=1))
    await store.purge(clock() - timedelta(days=1))
    assert [r.message_id for r in await store.recent_inbound()] == ["new"]
    assert (await store.inbound(kept.record.request_id)) == kept.record
    finished = await store.finish_inbound(
        kept.record.request_id,
        Disposition(InboundOutcome.POSTED, slack_channel="C9", slack_ts="1.2"),
    )
    assert finished is not None and finished.outcome is InboundOutcome.POSTED
