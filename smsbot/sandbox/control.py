"""The sandbox's own routes: the web inbox, the messages as JSON, fault scripting, stats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from smsbot.sandbox.bodies import BodyError, read_json
from smsbot.sandbox.faults import MAX_PENDING_RUNS, FaultSpecError, parse_fault
from smsbot.sandbox.state import STATE

STATIC_DIR = Path(__file__).parent / "static"
# The files the inbox page loads, and nothing else: a name is looked up here, never joined
# to a path, so no request can reach the file system with a name of its own.
STATIC_FILES = {name: STATIC_DIR / name for name in ("inbox.css", "inbox.js")}


async def inbox_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def static_file(request: web.Request) -> web.StreamResponse:
    path = STATIC_FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound(text="no such file; the inbox serves inbox.css and inbox.js")
    return web.FileResponse(path)


async def list_messages(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].inbox.to_json())


async def delete_messages(request: web.Request) -> web.Response:
    """Empties the inbox: received SMS and the phones' replies."""
    inbox = request.app[STATE].inbox
    deleted = len(inbox)
    inbox.clear()
    return web.json_response({"deleted": deleted})


async def add_faults(request: web.Request) -> web.Response:
    """Body: one fault object or a list of them, applied to the next requests in that order."""
    state = request.app[STATE]
    try:
        body = await read_json(request)
    except BodyError as exc:
        return bad_request(f'{exc.message}, e.g. {{"status": 503, "count": 2}}', exc.status)
    specs: list[Any] = body if isinstance(body, list) else [body]
    if len(specs) > MAX_PENDING_RUNS:
        return bad_request(
            f"{len(specs)} faults in one list; at most {MAX_PENDING_RUNS} can wait at once. "
            "Give a fault a count instead of repeating it."
        )
    try:
        # All or nothing: a list with one bad entry, or one too many, scripts none of them.
        state.faults.add_all([parse_fault(spec) for spec in specs])
    except FaultSpecError as exc:
        return bad_request(str(exc))
    return web.json_response({"pending": state.faults.pending()})


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response({"pending": request.app[STATE].faults.pending()})


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.json_response({"pending": []})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats())


async def reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.reset()
    return web.json_response(state.stats())


def bad_request(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)
