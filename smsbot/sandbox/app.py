"""`create_sandbox_app(config)`: the aiohttp application of one sandbox. Built on call only."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from smsbot.sandbox import control, kpn_api
from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.kpn_api import SEND_PATH, TOKEN_PATH
from smsbot.sandbox.state import STATE, SandboxState
from smsbot.sandbox.wire import STATIC_HEADERS, unknown_path_response

# The sandbox's own pages; anything else that matches no route is answered as KPN's gateway
# answers a wrong URL, so a client with a mistyped base URL sees what it would see at KPN.
_OWN_PREFIXES = ("/sandbox/", "/static/")


def create_sandbox_app(config: SandboxConfig | None = None) -> web.Application:
    app = web.Application(middlewares=[_unknown_paths_as_apigee])
    app[STATE] = SandboxState(config or SandboxConfig())
    app.on_response_prepare.append(_add_kpn_headers)
    app.add_routes(
        [
            web.post(TOKEN_PATH, kpn_api.token),
            web.options(TOKEN_PATH, kpn_api.preflight),
            web.post(SEND_PATH, kpn_api.send),
            web.options(SEND_PATH, kpn_api.preflight),
            web.get("/", control.inbox_page),
            web.get("/sandbox/messages", control.list_messages),
            web.delete("/sandbox/messages", control.delete_messages),
            web.get("/sandbox/faults", control.list_faults),
            web.post("/sandbox/faults", control.add_faults),
            web.delete("/sandbox/faults", control.clear_faults),
            web.get("/sandbox/stats", control.stats),
            web.post("/sandbox/reset", control.reset),
            web.static("/static", control.STATIC_DIR),
        ]
    )
    return app


async def _add_kpn_headers(request: web.Request, response: web.StreamResponse) -> None:
    """KPN puts these on every response, errors included; so does the sandbox, on every route."""
    state = request.app[STATE]
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("api-version", state.config.api_version)
    for name, value in state.quota.headers().items():
        response.headers.setdefault(name, value)


@web.middleware
async def _unknown_paths_as_apigee(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path == "/" or request.path.startswith(_OWN_PREFIXES):
            raise
        return unknown_path_response(request.host, request.path)
