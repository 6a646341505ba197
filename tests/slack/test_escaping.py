"""Slack's escaping decoded to what the person typed, and user text made inert for mrkdwn."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbot.slack.escaping import decode, escape_mrkdwn, mentioned_ids, unescape


@pytest.mark.parametrize(
    ("escaped", "typed"),
    [
        ("Tom &amp; Jerry &lt;3 &gt; all", "Tom & Jerry <3 > all"),
        ("see <https://example.com|example.com>", "see example.com"),
        ("see <https://x.y/z?a=1&amp;b=2>", "see https://x.y/z?a=1&b=2"),
        ("mail <mailto:a@b.c|a@b.c>", "mail a@b.c"),
        ("mail <mailto:a@b.c>", "mail a@b.c"),
        ("call <tel:0612345678|06 1234 5678>", "call 06 1234 5678"),
        ("hi <@U123|alice>", "hi @alice"),
        ("in <#C123|ops>", "in #ops"),
        ("<!channel> <!here> <!everyone>", "@channel @here @everyone"),
        ("<!subteam^S1|@oncall> wake up", "@oncall wake up"),
        ("<!date^1392734382^{date}|Feb 18, 2014> ok", "Feb 18, 2014 ok"),
        ("typed &amp;lt; literally", "typed &lt; literally"),
    ],
)
def test_decode_gives_back_what_was_typed(escaped: str, typed: str) -> None:
    assert decode(escaped) == typed


def test_unlabelled_mentions_use_known_names_or_the_id() -> None:
    text = "ask <@U1> or <@U2> in <#C9>"
    assert mentioned_ids(text) == {"U1", "U2"}
    assert decode(text, {"U1": "alice", "C9": "ops"}) == "ask @alice or @U2 in #ops"


def test_escape_mrkdwn_makes_broadcasts_and_links_inert() -> None:
    assert escape_mrkdwn("<!channel> & <https://evil|click>") == (
        "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"
    )


@given(st.text())
def test_escape_then_unescape_round_trips(text: str) -> None:
    assert unescape(escape_mrkdwn(text)) == text


@given(st.text())
def test_escaped_text_has_no_slack_tokens(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped and ">" not in escaped
