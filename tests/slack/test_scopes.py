"""The scopes smsbot needs, the manifest and the README agree."""

from __future__ import annotations

from pathlib import Path

from smsbot.slack import scopes
from tests.fakes.slack_api import manifest_scopes

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_manifest_asks_for_exactly_the_scopes_smsbot_needs() -> None:
    assert manifest_scopes() == set(scopes.BOT_SCOPES)


def test_the_readme_gives_every_scope_with_its_reason() -> None:
    readme = README.read_text(encoding="utf-8")
    for scope in scopes.BOT_SCOPES:
        assert f"| `{scope}` |" in readme, scope


def test_missing_scopes_come_in_order() -> None:
    assert scopes.missing("commands, chat:write,groups:read") == [
        "chat:write.public",
        "users:read",
        "users.profile:read",
        "usergroups:read",
        "channels:read",
    ]
    assert scopes.missing(",".join(scopes.BOT_SCOPES)) == []
