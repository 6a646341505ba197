"""The sandbox's own routes: the web inbox, the messages as JSON, fault scripting, stats."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from smsbot.sandbox.faults import FaultSpecError, parse_fault
from smsbot.sandbox.state import STATE

STATIC_DIR = Path(__file__).parent / "static"


async def inbox_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def list_messages(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].inbox.to_json())


async def delete_messages(request: web.Request) -> web.Response:
    inbox = request.app[STATE].inbox
    deleted = len(inbox)
    inbox.clear()
    return web.json_response({"deleted": deleted})


async def add_faults(request: web.Request) -> web.Response:
    """Body: one fault object or a list of them, applied to the next requests in that order."""
    state = request.app[STATE]
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad_request('the body must be JSON, e.g. {"status": 503, "count": 2}')
    specs = body if isinstance(body, list) else [body]
    try:
        parsed = [parse_fault(spec) for spec in specs]
    except FaultSpecError as exc:
        return _bad_request(str(exc))
    # All or nothing: a list with one bad entry scripts none of them.
    for fault, count in parsed:
        state.faults.add(fault, count)
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


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)
