"""`create_sandbox_app(config)`: the aiohttp application of one sandbox. Built on call only."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from smsbot.sandbox import control, kpn_api, phone
from smsbot.sandbox.bodies import JSON_TYPE
from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.kpn_api import SEND_PATH, TOKEN_PATH
from smsbot.sandbox.openapi import OPENAPI_PATH, openapi_document
from smsbot.sandbox.state import STATE, SandboxState
from smsbot.sandbox.wire import STATIC_HEADERS, cors_headers, unknown_path_response

# The sandbox's own pages; anything else that matches no route is answered as KPN's gateway
# answers a wrong URL, so a client with a mistyped base URL sees what it would see at KPN.
_OWN_PREFIXES = ("/sandbox/", "/static/")
_KPN_PATHS = frozenset({TOKEN_PATH, SEND_PATH})
_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH"})


def create_sandbox_app(config: SandboxConfig | None = None) -> web.Application:
    app = web.Application(middlewares=[_unknown_paths_as_apigee, _control_takes_json_only])
    state = SandboxState(config or SandboxConfig())
    app[STATE] = state
    app.on_response_prepare.append(_add_kpn_headers)
    app.cleanup_ctx.append(_outgoing_posts)
    app.add_routes(
        [
            web.post(TOKEN_PATH, kpn_api.token),
            web.options(TOKEN_PATH, kpn_api.preflight),
            web.post(SEND_PATH, kpn_api.send),
            web.options(SEND_PATH, kpn_api.preflight),
            web.get("/", control.inbox_page),
            web.get("/static/{name}", control.static_file),
            web.get("/sandbox/messages", control.list_messages),
            web.delete("/sandbox/messages", control.delete_messages),
            web.get("/sandbox/inbound", phone.list_replies),
            web.post("/sandbox/inbound", phone.reply),
            web.get("/sandbox/faults", control.list_faults),
            web.post("/sandbox/faults", control.add_faults),
            web.delete("/sandbox/faults", control.clear_faults),
            web.get("/sandbox/stats", control.stats),
            web.post("/sandbox/reset", control.reset),
            web.get(OPENAPI_PATH, _openapi),
        ]
    )
    return app


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def _outgoing_posts(app: web.Application):  # type: ignore[no-untyped-def]
    """Delivery reports and inbound SMS go out while the app serves; none outlive it."""
    state = app[STATE]
    await state.start_posting()
    yield
    await state.stop_posting()


async def _add_kpn_headers(request: web.Request, response: web.StreamResponse) -> None:
    """KPN puts these on every response, errors included; so does the sandbox, on every route.
    CORS headers go on KPN's own routes only (see `cors_headers`)."""
    state = request.app[STATE]
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("api-version", state.config.api_version)
    for name, value in state.quota.headers().items():
        response.headers.setdefault(name, value)
    if request.path in _KPN_PATHS:
        for name, value in cors_headers(request.headers.get("Origin")).items():
            response.headers.setdefault(name, value)


@web.middleware
async def _unknown_paths_as_apigee(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path == "/" or request.path.startswith(_OWN_PREFIXES):
            raise
        return unknown_path_response(request.host, request.path)


@web.middleware
async def _control_takes_json_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A control route changes the sandbox only for a JSON request. A web page elsewhere can
    POST `text/plain` or a form without asking first; `application/json` makes the browser ask
    (a CORS preflight), and the sandbox's answer to that grants nothing."""
    if (
        request.method in _CHANGING_METHODS
        and request.path.startswith("/sandbox/")
        and request.content_type != JSON_TYPE
    ):
        return web.json_response(
            {
                "error": f"send Content-Type: {JSON_TYPE} (a JSON body, or none); "
                f"{request.content_type} is refused on the sandbox's control routes"
            },
            status=415,
        )
    return await handler(request)
