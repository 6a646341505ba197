"""Throughput of the KPN client against the sandbox, next to a floor measured in the same run.

    .venv/bin/python bench/kpn_client.py [--n 2000] [--concurrency 50] [--rounds 7] [--in-process]

Three ways to send the same N bodies at the same concurrency, interleaved round by round:

- client: `KpnClient.send` (token cache, answer mapping, receipts, retry loop);
- floor:  a bare aiohttp loop posting the same bodies with a token fetched once, the fastest
          this machine can push them through the sandbox;
- naive:  what many public KPN scripts do, a new token before every send.

It prints the median messages per second of each, the ratio client/floor (the median of the
per-round ratios; target >= 0.85) and the token requests the sandbox counted per run. Machines
are noisy, so it reports PASS or BELOW TARGET and always exits 0.

The sandbox runs in a child process by default, so that the client and the server each get a
core, as the client and KPN do in production. In one process the sandbox's own work (parsing,
number validation) shares the client's event loop and dilutes the client's share of the time,
so the ratio says less about the client; `--in-process` shows that setup for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smsbot.kpn.client import SEND_PATH, TOKEN_PATH, KpnClient
from smsbot.kpn.models import OutgoingMessage, SendBody
from smsbot.sandbox.testing import running_sandbox
from smsbot.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings

TARGET_RATIO = 0.85
TO = "+31612345678"
SENDER = "Bench"
FORM = {"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET}
GRANT = {"grant_type": "client_credentials"}

Sender = Callable[[str, int, int], Awaitable[None]]


def bodies(n: int) -> list[bytes]:
    return [
        SendBody(
            sender=SENDER, messages=[OutgoingMessage(mobile_number=TO, content=f"bench {i}")]
        ).to_json()
        for i in range(n)
    ]


async def run_workers(n: int, concurrency: int, send_one: Callable[[int], Awaitable[None]]) -> None:
    """`concurrency` workers taking the next message number until all `n` are sent."""
    next_index = iter(range(n))

    async def worker() -> None:
        for i in next_index:
            await send_one(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def via_client(url: str, n: int, concurrency: int) -> None:
    kpn_settings = Settings(_env_file=None).with_sandbox(url).kpn
    async with KpnClient(kpn_settings) as kpn:

        async def send_one(i: int) -> None:
            await kpn.send(TO, f"bench {i}", SENDER)

        await run_workers(n, concurrency, send_one)


async def _token(session: aiohttp.ClientSession, url: str) -> str:
    async with session.post(url + TOKEN_PATH, params=GRANT, data=FORM) as response:
        response.raise_for_status()
        return (await response.json())["access_token"]


async def _post(session: aiohttp.ClientSession, url: str, token: str, body: bytes) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with session.post(url + SEND_PATH, data=body, headers=headers) as response:
        answer = json.loads(await response.read())
        if response.status != 200 or "document_id" not in answer:
            raise SystemExit(f"the sandbox refused a send: {response.status} {answer}")


async def floor(url: str, n: int, concurrency: int) -> None:
    prepared = bodies(n)
    async with aiohttp.ClientSession() as session:
        token = await _token(session, url)

        async def send_one(i: int) -> None:
            await _post(session, url, token, prepared[i])

        await run_workers(n, concurrency, send_one)


async def naive(url: str, n: int, concurrency: int) -> None:
    prepared = bodies(n)
    async with aiohttp.ClientSession() as session:

        async def send_one(i: int) -> None:
            await _post(session, url, await _token(session, url), prepared[i])

        await run_workers(n, concurrency, send_one)


PATTERNS: dict[str, Sender] = {"client": via_client, "floor": floor, "naive": naive}


def _serve_sandbox(connection: Any) -> None:
    """Child process: serve a sandbox, tell the parent its URL, stop when the parent says so."""

    async def serve() -> None:
        async with running_sandbox() as sandbox:
            connection.send(sandbox.url)
            await asyncio.get_running_loop().run_in_executor(None, connection.recv)

    asyncio.run(serve())


@asynccontextmanager
async def sandbox_url(in_process: bool) -> AsyncIterator[str]:
    if in_process:
        async with running_sandbox() as sandbox:
            yield sandbox.url
        return
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_sandbox, args=(child,), daemon=True)
    process.start()
    try:
        yield await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    finally:
        parent.send("stop")
        process.join(timeout=10)


async def sandbox_call(session: aiohttp.ClientSession, url: str, path: str) -> dict[str, Any]:
    if path.endswith("reset"):  # a control route that changes something takes JSON only
        call = session.post(url + path, json={})
    else:
        call = session.get(url + path)
    async with call as response:
        return await response.json()


async def main(n: int, concurrency: int, rounds: int, in_process: bool) -> None:
    rates: dict[str, list[float]] = {name: [] for name in PATTERNS}
    tokens: dict[str, list[int]] = {name: [] for name in PATTERNS}
    async with sandbox_url(in_process) as url, aiohttp.ClientSession() as control:
        await floor(url, min(n, 200), concurrency)  # warm up both processes
        names = list(PATTERNS)
        for round_number in range(rounds):
            # Rotate the order so that no pattern always runs first or last in a round.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                await sandbox_call(control, url, "/sandbox/reset")
                started = time.perf_counter()
                await PATTERNS[name](url, n, concurrency)
                elapsed = time.perf_counter() - started
                stats = await sandbox_call(control, url, "/sandbox/stats")
                if stats["messages"] != n:
                    raise SystemExit(f"{name}: the sandbox received {stats['messages']} of {n}")
                rates[name].append(n / elapsed)
                tokens[name].append(stats["token_requests"])

    where = "in this process" if in_process else "in a child process"
    print(f"KPN client: {n} SMS, concurrency {concurrency}, {rounds} rounds, sandbox {where}")
    for name in PATTERNS:
        print(
            f"  {name:<7} median {statistics.median(rates[name]):8.0f} SMS/s   "
            f"(min {min(rates[name]):.0f}, max {max(rates[name]):.0f})   "
            f"token requests per run: {max(tokens[name])}"
        )
    # The ratio of each round's own pair, then the median: load from other processes drifts
    # over a run, and within one round the client and the floor meet nearly the same load.
    ratio = statistics.median(c / f for c, f in zip(rates["client"], rates["floor"], strict=True))
    naive_ratio = statistics.median(
        n / f for n, f in zip(rates["naive"], rates["floor"], strict=True)
    )
    verdict = "PASS" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(
        f"  client/floor = {ratio:.2f}, median of per-round ratios "
        f"(target >= {TARGET_RATIO}): {verdict}"
    )
    print(f"  naive/floor  = {naive_ratio:.2f}")
    client_tokens = max(tokens["client"])
    token_verdict = "PASS" if client_tokens == 1 else "FAIL: expected 1"
    print(f"  client token requests per run: {client_tokens} ({token_verdict})")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="SMS per run (default 2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="default 50")
    parser.add_argument("--rounds", type=int, default=7, help="runs of each pattern (default 7)")
    parser.add_argument(
        "--in-process", action="store_true", help="run the sandbox in this process's event loop"
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    asyncio.run(main(args.n, args.concurrency, args.rounds, args.in_process))
