"""A fake Slack Web API: a real aiohttp server on loopback, recording every call.

Point an `AsyncWebClient` (or the whole app, through `SMSBOT_SLACK__API_URL`) at `fake.api_url`
and it answers the way Slack does: `ok`/`error` bodies, realistic payloads for the methods the
bot uses, `not_in_channel` / `channel_not_found` / `invalid_auth` where Slack gives them, views
with ids and hashes (`hash_conflict` when a stale hash is sent). The test sets up the workspace
(users with profile phones, user groups, channels and whether the bot is a member) and reads
back what the bot did from `calls`, `messages` and `response_posts`.

It also serves `POST /response/<id>`, standing in for the `response_url` Slack hands out with
slash commands and interactions.

Slack's rules that the bot must live with, as Slack applies them:
- blocks and views over Slack's limits get `invalid_blocks` (slack_sdk's own validators, see
  `tests.fakes.block_kit`); a `response_url` answers HTTP 400 `invalid_blocks`;
- every method needs its scope (`missing_scope` with `needed` and `provided`); the token's
  scopes are `scopes` (by default exactly the manifest's) and every answer carries them in
  the `x-oauth-scopes` header, as Slack's do;
- `chat.postMessage` to a public channel the bot is not in works with `chat:write.public`,
  else `not_in_channel`; a private channel it is not in is `channel_not_found`;
- `chat.postEphemeral` to someone who is not in the channel is `user_not_in_channel`;
- a `response_url` takes 5 posts within 30 minutes of its issue (`used_url`, `expired_url`);
- a workflow step's token (`function_token(execution_id)`) is good until the step is completed
  or 15 minutes have passed (`invalid_auth` after); completing a step twice is
  `execution_not_in_running_state`;
- `rate_limit(method, retry_after)` answers HTTP 429 with `Retry-After`, as Slack does.

Time is the fake's own clock (`advance(seconds)`), so tests never wait for 30 minutes.

`script(method, answer, times=1)` makes the next calls of one method answer something else.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from aiohttp import web

from tests.fakes.block_kit import block_problems, view_problems
from tests.fixtures.waiting import WITHIN_SECONDS, until

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
TEAM_ID = "T0FAKE"
BOT_USER_ID = "UBOT"
BOT_ID = "BFAKE"
APP_ID = "AFAKE"

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"

# The scope each method needs with a bot token (Slack's method reference); methods not listed
# need none (views.*, functions.*, auth.test).
METHOD_SCOPES: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "users.info": "users:read",
    "users.profile.get": "users.profile:read",
    "team.profile.get": "users.profile:read",
    "usergroups.users.list": "usergroups:read",
    "usergroups.list": "usergroups:read",
    "bots.info": "users:read",
}

RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60
FUNCTION_TOKEN_SECONDS = 15 * 60


def manifest_scopes() -> frozenset[str]:
    """The bot scopes manifest.yml asks for: what a fresh install of the app grants."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return frozenset(manifest["oauth_config"]["scopes"]["bot"])


@dataclass
class SlackCall:
    """One Web API call as the fake received it."""

    method: str
    token: str | None
    args: dict[str, Any]
    http_verb: str


@dataclass
class ResponsePost:
    """One post to a `response_url`."""

    response_id: str
    body: dict[str, Any]


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str = ""
    phone: str = ""
    is_bot: bool = False
    locale: str = "en-US"
    fields: dict[str, str] = field(default_factory=dict)  # custom profile fields by field id


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool = False
    bot_is_member: bool = True
    members: set[str] | None = None  # None: everyone in the workspace (like #general)

    def has_member(self, user_id: str) -> bool:
        return self.members is None or user_id in self.members


@dataclass
class ResponseUrl:
    issued_at: float
    uses: int = 0


@dataclass
class FunctionExecution:
    token: str
    issued_at: float
    state: str = "running"  # running, then completed or failed
    outputs: dict[str, Any] | None = None
    error: str | None = None


class FakeSlackApi:
    """The workspace and the server. Use `async with FakeSlackApi() as fake:` or the fixture."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        socket_url: str = "wss://wss-primary.slack.com/link/?ticket=fake",
        scopes: frozenset[str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_url = socket_url
        self.scopes = manifest_scopes() if scopes is None else frozenset(scopes)
        self.enterprise_install = False  # an org-wide install: some methods need a team_id
        self.clock_offset = 0.0
        self.response_urls: dict[str, ResponseUrl] = {}
        self.executions: dict[str, FunctionExecution] = {}
        self.team_profile_fields: list[dict[str, Any]] = []
        self._rate_limits: dict[str, list[int]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        # Who may add each of the app's workflow steps to workflows; Slack's default for a
        # newly deployed function is its collaborators.
        self.distributions: dict[str, dict[str, Any]] = {
            "send_sms": {"permission_type": "app_collaborators", "user_ids": []}
        }
        self.users: dict[str, FakeUser] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.calls: list[SlackCall] = []
        self.messages: list[dict[str, Any]] = []  # chat.postMessage, as stored by Slack
        self.ephemerals: list[dict[str, Any]] = []  # chat.postEphemeral that Slack showed
        self.response_posts: list[ResponsePost] = []
        self._scripts: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ----- workspace set-up -----

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        phone: str = "",
        real_name: str = "",
        locale: str = "en-US",
        fields: dict[str, str] | None = None,
    ) -> None:
        self.users[user_id] = FakeUser(
            user_id, name, real_name or name.title(), phone, locale=locale, fields=fields or {}
        )

    def add_profile_field(self, field_id: str, label: str) -> None:
        """A custom profile field the workspace admin defined (`team.profile.get`)."""
        self.team_profile_fields.append(
            {
                "id": field_id,
                "ordering": len(self.team_profile_fields),
                "label": label,
                "hint": "",
                "type": "text",
                "possible_values": None,
                "options": None,
                "is_hidden": False,
            }
        )

    def add_usergroup(self, usergroup_id: str, members: list[str]) -> None:
        self.usergroups[usergroup_id] = list(members)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        bot_is_member: bool = True,
        is_private: bool = False,
        members: set[str] | None = None,
    ) -> None:
        self.channels[channel_id] = FakeChannel(
            channel_id, name, is_private, bot_is_member, None if members is None else set(members)
        )

    def script(self, method: str, answer: dict[str, Any], times: int = 1) -> None:
        """The next `times` calls of `method` answer `answer` instead of the usual."""
        self._scripts.setdefault(method, []).extend([answer] * times)

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429 with `Retry-After: retry_after`
        (`method="response_url"`: the next posts to any response_url)."""
        self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def hold(self, method: str) -> asyncio.Event:
        """Calls of `method` wait (recorded, unanswered) until the returned event is set."""
        gate = self._holds[method] = asyncio.Event()
        return gate

    def function_token(self, execution_id: str) -> str:
        """Starts a workflow step's execution; returns the token Slack hands the step with
        `function_executed` (`bot_access_token`)."""
        token = f"xwfp-fake-{execution_id}"
        self.executions[execution_id] = FunctionExecution(token, self.now())
        return token

    # ----- the clock -----

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Moves the fake's clock on: expiries (response_url, function tokens) follow it."""
        self.clock_offset += seconds

    # ----- reading back -----

    @property
    def api_url(self) -> str:
        """Base URL for `AsyncWebClient(base_url=...)`, ending in a slash as Slack's does."""
        return f"{self.url}/api/"

    def response_url(self, response_id: str) -> str:
        """A response_url, issued now (good for 5 posts within 30 minutes)."""
        self.response_urls.setdefault(response_id, ResponseUrl(self.now()))
        return f"{self.url}/response/{response_id}"

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def posts_to(self, response_id: str) -> list[dict[str, Any]]:
        return [post.body for post in self.response_posts if post.response_id == response_id]

    def visible(self, response_id: str) -> list[dict[str, Any]]:
        """What a response_url's posts leave on the person's screen, the ack's own message
        aside (the fake never sees it): `replace_original` puts a post in the place of the
        original message (the ack's), `delete_original` removes what is there."""
        shown: list[dict[str, Any]] = []
        original: dict[str, Any] | None = None
        for body in self.posts_to(response_id):
            if body.get("delete_original"):
                if original in shown:
                    shown.remove(original)
                original = None
            elif body.get("replace_original"):
                if original in shown:
                    shown[shown.index(original)] = body
                else:
                    shown.append(body)
                original = body
            else:
                shown.append(body)
        return shown

    def answers(self, response_id: str) -> list[dict[str, Any]]:
        """`visible`, without smsbot's ":hourglass: Sending to …" line still waiting for its
        outcome (in any language)."""
        return [b for b in self.visible(response_id) if ":hourglass:" not in json.dumps(b)]

    async def wait_for(
        self, condition: Callable[[], object], within: float = WITHIN_SECONDS
    ) -> None:
        """Wait until `condition()` is true; the bot works after its ack, so tests wait here."""
        await until(condition, "fake Slack: condition", within=within, changed=self._changed)

    # ----- server -----

    async def start(self) -> FakeSlackApi:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{response_id}", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlackApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        response_id = request.match_info["response_id"]
        try:
            limited = self._rate_limits.get("response_url")
            if limited:
                retry_after = limited.pop(0)
                return web.Response(
                    status=429, text="rate_limited", headers={"Retry-After": str(retry_after)}
                )
            issued = self.response_urls.setdefault(response_id, ResponseUrl(self.now()))
            if self.now() - issued.issued_at > RESPONSE_URL_SECONDS:
                return web.Response(status=404, text="expired_url")
            if issued.uses >= RESPONSE_URL_USES:
                return web.Response(status=404, text="used_url")
            if block_problems(_json_arg(body.get("blocks"))):
                return web.Response(status=400, text="invalid_blocks")
            issued.uses += 1
            self.response_posts.append(ResponsePost(response_id, body))
            return web.Response(text="ok")
        finally:
            self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        token = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
        if request.can_read_body:
            raw = await request.text()
            if request.content_type == "application/json":
                args.update(json.loads(raw) if raw else {})
            else:
                args.update(dict(parse_qsl(raw, keep_blank_values=True)))
        token = token or args.pop("token", None)
        self.calls.append(SlackCall(method, token, args, request.method))
        headers = {"x-oauth-scopes": ",".join(sorted(self.scopes))} if token else {}
        self._changed.set()
        gate = self._holds.get(method)
        if gate is not None:
            await gate.wait()
        try:
            limited = self._rate_limits.get(method)
            if limited:
                retry_after = limited.pop(0)
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={**headers, "Retry-After": str(retry_after)},
                )
            answer = self._answer(method, token, args)
        finally:
            self._changed.set()
        # Slack answers HTTP 200 with ok=false for method errors.
        return web.json_response(answer, headers=headers)

    # ----- Slack's behaviour -----

    def _answer(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            if token != self.app_token:
                return {"ok": False, "error": "invalid_auth"}
        elif token != self.bot_token and not self._live_function_token(token):
            return {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        scripted = self._scripts.get(method)
        if scripted:
            return scripted.pop(0)
        needed = METHOD_SCOPES.get(method)
        if needed and needed not in self.scopes:
            return self._missing_scope(needed)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": True}
        return handler(args)

    def _missing_scope(self, needed: str) -> dict[str, Any]:
        return {
            "ok": False,
            "error": "missing_scope",
            "needed": needed,
            "provided": ",".join(sorted(self.scopes)),
        }

    def _live_function_token(self, token: str | None) -> bool:
        """A step's token works until the step is completed or 15 minutes have passed."""
        return any(
            execution.token == token
            and execution.state == "running"
            and self.now() - execution.issued_at <= FUNCTION_TOKEN_SECONDS
            for execution in self.executions.values()
        )

    def _complete(self, args: dict[str, Any], state: str) -> dict[str, Any]:
        execution = self.executions.get(args.get("function_execution_id", ""))
        if execution is None:
            return {"ok": False, "error": "function_execution_not_found"}
        if execution.state != "running":
            return {"ok": False, "error": "execution_not_in_running_state"}
        execution.state = state
        if state == "completed":
            execution.outputs = _json_arg(args.get("outputs"))
        else:
            execution.error = args.get("error")
        return {"ok": True}

    def _functions_completeSuccess(self, args: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(_json_arg(args.get("outputs")), dict):
            return {"ok": False, "error": "invalid_arguments"}
        return self._complete(args, "completed")

    def _functions_completeError(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("error"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._complete(args, "failed")

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _ts(self) -> str:
        return f"{time.time():.6f}"

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "smsbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": self.enterprise_install,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url}

    def _channel_error(self, channel_id: str | None, *, public_post: bool = False) -> str | None:
        """`public_post`: chat.postMessage, which `chat:write.public` lets into any public
        channel of the workspace without the bot joining it."""
        if not channel_id:
            return "channel_not_found"
        if channel_id.startswith(("U", "W")) and channel_id in self.users:
            return None  # a user id: Slack posts in the app's DM with that person
        channel = self.channels.get(channel_id)
        if channel is None:
            return "channel_not_found"
        if not channel.bot_is_member:
            # Slack hides private channels the bot is not in.
            if channel.is_private:
                return "channel_not_found"
            if not (public_post and "chat:write.public" in self.scopes):
                return "not_in_channel"
        return None

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = args.get("channel")
        error = self._channel_error(channel_id, public_post=True)
        if error:
            return {"ok": False, "error": error}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if block_problems(_json_arg(args.get("blocks"))):
            return {"ok": False, "error": "invalid_blocks"}
        if channel_id in self.users:
            channel_id = "D" + channel_id[1:]
        ts = self._ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
            "blocks": _json_arg(args.get("blocks")) or [],
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.messages.append({"channel": channel_id, **message})
        return {"ok": True, "channel": channel_id, "ts": ts, "message": message}

    def _own_message(self, args: dict[str, Any], verb: str) -> dict[str, Any]:
        """The bot's own message named by `channel` and `ts`, or Slack's error for `verb`."""
        channel_id, ts = args.get("channel"), args.get("ts")
        found = next(
            (m for m in self.messages if m["channel"] == channel_id and m["ts"] == ts), None
        )
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        if found.get("bot_id") != BOT_ID:
            return {"ok": False, "error": f"cant_{verb}_message"}
        return found

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        """As Slack: the bot's own message, by channel and ts, is gone."""
        found = self._own_message(args, "delete")
        if found.get("ok") is False:
            return found
        self.messages.remove(found)
        return {"ok": True, "channel": found["channel"], "ts": found["ts"]}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """As Slack: the message by channel (a DM's D… id, not the user's) and ts; only the
        bot's own; `text` replaced, `blocks` and `attachments` replaced only when given (Slack
        keeps the message's previous ones otherwise); its ts and thread kept."""
        found = self._own_message(args, "update")
        if found.get("ok") is False:
            return found
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        new_blocks = _json_arg(args.get("blocks"))
        attachments = _json_arg(args.get("attachments"))
        for attachment in attachments or []:
            if block_problems(attachment.get("blocks")):
                return {"ok": False, "error": "invalid_attachments"}
        if block_problems(new_blocks):
            return {"ok": False, "error": "invalid_blocks"}
        found["text"] = args.get("text", found["text"])
        if new_blocks is not None:
            found["blocks"] = new_blocks
        if attachments is not None:
            found["attachments"] = attachments
        found["edited"] = {"user": BOT_USER_ID, "ts": self._ts()}
        return {"ok": True, "channel": found["channel"], "ts": found["ts"], "text": found["text"]}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._channel_error(args.get("channel"))
        if error:
            return {"ok": False, "error": error}
        user = args.get("user")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        channel = self.channels.get(args.get("channel", ""))
        if channel is not None and not channel.has_member(user):
            return {"ok": False, "error": "user_not_in_channel"}
        if block_problems(_json_arg(args.get("blocks"))):
            return {"ok": False, "error": "invalid_blocks"}
        self.ephemerals.append({"channel": args.get("channel"), "user": user, **args})
        return {"ok": True, "message_ts": self._ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        view = _json_arg(args.get("view"))
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return {"ok": False, "error": "invalid_arguments"}
        if _too_long_input(view):
            return {"ok": False, "error": "invalid_arguments"}
        if view_problems(view):
            return {"ok": False, "error": "invalid_blocks"}
        stored = self._store_view(self._next_id("V"), view)
        return {"ok": True, "view": stored}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = _json_arg(args.get("view"))
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if view_problems(view):
            return {"ok": False, "error": "invalid_blocks"}
        return {"ok": True, "view": self._store_view(view_id, view)}

    def _store_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._ids)}",
            "private_metadata": "",
            "callback_id": "",
            "root_view_id": view_id,
            "app_id": "AFAKE",
            "bot_id": BOT_ID,
            **view,
        }
        stored["id"] = view_id
        self.views[view_id] = stored
        return stored

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.enterprise_install and not args.get("team_id"):
            # An org-wide token spans workspaces: Slack needs to be told which one.
            return {"ok": False, "error": "missing_argument"}
        group = args.get("usergroup")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _user_error(self, user_id: str | None) -> dict[str, Any] | None:
        if user_id not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return None

    def _profile(self, user: FakeUser) -> dict[str, Any]:
        return {
            "real_name": user.real_name,
            "display_name": user.name,
            "phone": user.phone,
            "email": f"{user.name}@example.com",
            "fields": {
                field_id: {"value": value, "alt": ""} for field_id, value in user.fields.items()
            },
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._user_error(args.get("user"))
        if error:
            return error
        user = self.users[args["user"]]
        answer: dict[str, Any] = {
            "id": user.id,
            "team_id": TEAM_ID,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": False,
            "is_bot": user.is_bot,
            "tz": "Europe/Amsterdam",
            "profile": self._profile(user),
        }
        if str(args.get("include_locale", "")).lower() in ("true", "1"):
            answer["locale"] = user.locale  # only when asked for, as Slack does
        return {"ok": True, "user": answer}

    def _users_profile_get(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._user_error(args.get("user"))
        if error:
            return error
        return {"ok": True, "profile": self._profile(self.users[args["user"]])}

    def _bots_info(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("bot") != BOT_ID:
            return {"ok": False, "error": "bot_not_found"}
        return {"ok": True, "bot": {"id": BOT_ID, "app_id": APP_ID, "name": "smsbot"}}

    def _distribution(self, args: dict[str, Any]) -> dict[str, Any] | str:
        if args.get("function_app_id") != APP_ID:
            return "app_not_found"
        found = self.distributions.get(args.get("function_callback_id", ""))
        return found if found is not None else "function_not_found"

    def _distribution_answer(self, found: dict[str, Any]) -> dict[str, Any]:
        users = [
            {"user_id": u, "username": self.users[u].name if u in self.users else u}
            for u in found["user_ids"]
        ]
        answer: dict[str, Any] = {"ok": True, "permission_type": found["permission_type"]}
        if found["permission_type"] == "named_entities":
            answer["users"] = users
        return answer

    def _functions_distributions_permissions_list(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._distribution(args)
        if isinstance(found, str):
            return {"ok": False, "error": found}
        return self._distribution_answer(found)

    def _functions_distributions_permissions_set(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._distribution(args)
        if isinstance(found, str):
            return {"ok": False, "error": found}
        kind = args.get("permission_type")
        if kind not in ("everyone", "app_collaborators", "named_entities"):
            return {"ok": False, "error": "invalid_permission_type"}
        user_ids = _json_arg(args.get("user_ids")) or []
        if isinstance(user_ids, str):
            user_ids = [u for u in user_ids.split(",") if u]
        if any(u not in self.users for u in user_ids):
            return {"ok": False, "error": "user_not_found"}
        if kind == "named_entities" and not user_ids:
            return {"ok": False, "error": "invalid_arguments"}
        found.update(permission_type=kind, user_ids=list(user_ids))
        return self._distribution_answer(found)

    def _team_profile_get(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "profile": {"fields": list(self.team_profile_fields)}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(args.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        needed = "groups:read" if channel.is_private else "channels:read"
        if needed not in self.scopes:
            return self._missing_scope(needed)
        return {
            "ok": True,
            "channel": {
                "id": channel.id,
                "name": channel.name,
                "is_private": channel.is_private,
                "is_member": channel.bot_is_member,
            },
        }


def _too_long_input(view: dict[str, Any]) -> bool:
    """Slack refuses a view whose text input starts with more than 3000 characters."""
    return any(
        len((block.get("element") or {}).get("initial_value") or "") > 3000
        for block in view.get("blocks", [])
    )


def _json_arg(value: Any) -> Any:
    """Slack accepts structured arguments as JSON, or as JSON text inside a form field."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
