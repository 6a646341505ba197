"""Slow clients: every request must arrive whole within serve's read deadline, or its
connection is closed; half-sent requests never stay open for ever."""

from __future__ import annotations

import asyncio

import aiohttp

from smsbot.cli.serve_cmd import running_bot
from smsbot.settings import Settings

DEADLINE = 0.5
HALF_SENT = 50


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server has closed the connection (end of stream, or a reset); a
    connection still open after 10 s (the deadline is half a second) fails the test."""
    try:
        async with asyncio.timeout(10):
            while await reader.read(65536):
                pass  # whatever it answered, the connection must end
    except ConnectionError:
        pass
    return True


async def test_fifty_half_sent_requests_are_all_closed_and_the_bot_still_answers(
    sandbox, sqlite_url
) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_url).with_sandbox(sandbox.url)
    async with running_bot(
        settings, host="127.0.0.1", port=0, mode=None, read_seconds=DEADLINE
    ) as bot:
        port = int(bot.url.rsplit(":", 1)[1])
        connections = []
        for n in range(HALF_SENT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if n % 2:  # headers, never finished
                writer.write(b"POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nContent-")
            else:  # whole headers, a body that stops short
                writer.write(
                    b"POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\n"
                    b'Authorization: Bearer t\r\nContent-Length: 1000\r\n\r\n{"a": '
                )
            await writer.drain()
            connections.append((reader, writer))
        # The server closes each one: the positive sign, read from every connection.
        closed = await asyncio.gather(*(closed_by_server(r) for r, _ in connections))
        assert all(closed)
        for _, writer in connections:
            writer.close()
        async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/healthz") as resp:
            assert resp.status == 200


async def test_a_request_sent_whole_is_answered_on_a_keep_alive_connection(
    sandbox, sqlite_url
) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_url).with_sandbox(sandbox.url)
    async with (
        running_bot(settings, host="127.0.0.1", port=0, mode=None, read_seconds=DEADLINE) as bot,
        aiohttp.ClientSession() as http,
    ):
        for _ in range(3):  # one connection, several requests, each arrives whole
            async with http.get(f"{bot.url}/healthz") as resp:
                assert resp.status == 200
