"""The bot token's scopes: each one smsbot needs, and why (manifest.yml asks for exactly these).

`smsbot check` compares them with what the token has: Slack lists a token's scopes in the
`x-oauth-scopes` header of every Web API answer, `auth.test`'s included.
"""

from __future__ import annotations

from collections.abc import Mapping

BOT_SCOPES: Mapping[str, str] = {
    "commands": "the /sms command and the Send SMS and Send as SMS shortcuts",
    "chat:write": "confirmations in channels and threads, answers only the sender sees "
    "(chat.postEphemeral), and direct messages",
    "chat:write.public": "confirmations in public channels the bot was not invited to",
    "users:read": "users.info: a person's name, profile phone and Slack language; bots.info: "
    "smsbot's own app id, for the workflow step's permissions",
    "users.profile:read": "users.profile.get and team.profile.get: the phone in a custom "
    "profile field (SMSBOT_SLACK__PHONE_FIELD)",
    "usergroups:read": "usergroups.users.list: allowlist entries that name a user group",
    "channels:read": "conversations.info: the alert mirror channel's #name in storm summaries",
    "groups:read": "conversations.info when the alert mirror channel is private",
}


def granted(header: str | None) -> frozenset[str]:
    """The scopes in an `x-oauth-scopes` header ("chat:write,commands")."""
    return frozenset(s.strip() for s in (header or "").split(",") if s.strip())


def missing(header: str | None) -> list[str]:
    """The scopes smsbot needs that a token with this header lacks, in BOT_SCOPES' order."""
    have = granted(header)
    return [scope for scope in BOT_SCOPES if scope not in have]
