"""A fake Slack Web API: a real aiohttp server on loopback, recording every call.

Point an `AsyncWebClient` (or the whole app, through `SMSBOT_SLACK__API_URL`) at `fake.api_url`
and it answers the way Slack does: `ok`/`error` bodies, realistic payloads for the methods the
bot uses, `not_in_channel` / `channel_not_found` / `invalid_auth` where Slack gives them, views
with ids and hashes (`hash_conflict` when a stale hash is sent). The test sets up the workspace
(users with profile phones, user groups, channels and whether the bot is a member) and reads
back what the bot did from `calls`, `messages` and `response_posts`.

It also serves `POST /response/<id>`, standing in for the `response_url` Slack hands out with
slash commands and interactions.

`script(method, answer, times=1)` makes the next calls of one method answer something else,
e.g. `{"ok": False, "error": "ratelimited"}`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
TEAM_ID = "T0FAKE"
BOT_USER_ID = "UBOT"
BOT_ID = "BFAKE"


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


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool = False
    bot_is_member: bool = True
    members: set[str] = field(default_factory=set)


class FakeSlackApi:
    """The workspace and the server. Use `async with FakeSlackApi() as fake:` or the fixture."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        socket_url: str = "wss://wss-primary.slack.com/link/?ticket=fake",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_url = socket_url
        self.users: dict[str, FakeUser] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.calls: list[SlackCall] = []
        self.messages: list[dict[str, Any]] = []  # chat.postMessage, as stored by Slack
        self.response_posts: list[ResponsePost] = []
        self._scripts: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ----- workspace set-up -----

    def add_user(self, user_id: str, name: str, *, phone: str = "", real_name: str = "") -> None:
        self.users[user_id] = FakeUser(user_id, name, real_name or name.title(), phone)

    def add_usergroup(self, usergroup_id: str, members: list[str]) -> None:
        self.usergroups[usergroup_id] = list(members)

    def add_channel(
        self, channel_id: str, name: str, *, bot_is_member: bool = True, is_private: bool = False
    ) -> None:
        self.channels[channel_id] = FakeChannel(channel_id, name, is_private, bot_is_member)

    def script(self, method: str, answer: dict[str, Any], times: int = 1) -> None:
        """The next `times` calls of `method` answer `answer` instead of the usual."""
        self._scripts.setdefault(method, []).extend([answer] * times)

    # ----- reading back -----

    @property
    def api_url(self) -> str:
        """Base URL for `AsyncWebClient(base_url=...)`, ending in a slash as Slack's does."""
        return f"{self.url}/api/"

    def response_url(self, response_id: str) -> str:
        return f"{self.url}/response/{response_id}"

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def posts_to(self, response_id: str) -> list[dict[str, Any]]:
        return [post.body for post in self.response_posts if post.response_id == response_id]

    async def wait_for(self, condition: Callable[[], object], within: float = 5.0) -> None:
        """Wait until `condition()` is true; the bot works after its ack, so tests wait here."""
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"fake Slack: condition not met within {within}s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                pass

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
        self.response_posts.append(ResponsePost(request.match_info["response_id"], body))
        self._changed.set()
        return web.Response(text="ok")

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
        try:
            answer = self._answer(method, token, args)
        finally:
            self._changed.set()
        # Slack answers HTTP 200 with ok=false for method errors.
        return web.json_response(answer)

    # ----- Slack's behaviour -----

    def _answer(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            if token != self.app_token:
                return {"ok": False, "error": "invalid_auth"}
        elif token != self.bot_token:
            return {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        scripted = self._scripts.get(method)
        if scripted:
            return scripted.pop(0)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": True}
        return handler(args)

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
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url}

    def _channel_error(self, channel_id: str | None) -> str | None:
        if not channel_id:
            return "channel_not_found"
        if channel_id.startswith(("U", "W")) and channel_id in self.users:
            return None  # a user id: Slack posts in the app's DM with that person
        channel = self.channels.get(channel_id)
        if channel is None:
            return "channel_not_found"
        if not channel.bot_is_member:
            # Slack hides private channels the bot is not in.
            return "channel_not_found" if channel.is_private else "not_in_channel"
        return None

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = args.get("channel")
        error = self._channel_error(channel_id)
        if error:
            return {"ok": False, "error": error}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
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
        self.messages.append({"channel": channel_id, **message})
        return {"ok": True, "channel": channel_id, "ts": ts, "message": message}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._channel_error(args.get("channel"))
        if error:
            return {"ok": False, "error": error}
        if args.get("user") not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": self._ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        view = _json_arg(args.get("view"))
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return {"ok": False, "error": "invalid_arguments"}
        if _too_long_input(view):
            return {"ok": False, "error": "invalid_arguments"}
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
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._user_error(args.get("user"))
        if error:
            return error
        user = self.users[args["user"]]
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": TEAM_ID,
                "name": user.name,
                "real_name": user.real_name,
                "deleted": False,
                "is_bot": user.is_bot,
                "tz": "Europe/Amsterdam",
                "profile": self._profile(user),
            },
        }

    def _users_profile_get(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._user_error(args.get("user"))
        if error:
            return error
        return {"ok": True, "profile": self._profile(self.users[args["user"]])}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(args.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
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
