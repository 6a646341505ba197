"""How fast does the bot acknowledge a slash command while KPN is slow?

Signed `/sms 06... text` commands at concurrency 50 against the running HTTP app (the real
`create_app` with the real Bolt app, the service on SQLite, the KPN sandbox delaying every send
by 1 s, the fake Slack Web API), then the same load against a bare Bolt `AsyncApp` whose only
handler acks, served the same way (the floor), in the same run. Prints p50 and p99 of the
acknowledgement latency for both and their ratio; also checks that every command became
exactly one SMS in the sandbox once the slow sends are done.

Target: p99 under 50 ms and within 1.5x of the floor.

The sandbox and the fake Slack Web API run in a child process: in production KPN and Slack are
elsewhere, and serving them on the bot's event loop would bill their work to the bot.

    .venv/bin/python bench/slack_ack.py [--requests 1000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from smsbot.cli.serve_cmd import SlackMode, running_bot  # noqa: E402
from smsbot.sandbox.testing import running_sandbox  # noqa: E402
from smsbot.settings import Settings  # noqa: E402
from smsbot.slack.http import add_slack_routes  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi  # noqa: E402
from tests.fakes.slack_requests import (  # noqa: E402
    SIGNING_SECRET,
    signature_headers,
    slash_command_form,
)

CHANNEL = "CBENCH"
KPN_DELAY_MS = 1000
TARGET_P99_SECONDS = 0.050
TARGET_RATIO = 1.5


def number(i: int) -> str:
    return f"06{20000000 + i:08d}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def fire(url: str, slack_url: str, requests: int, concurrency: int, tag: str):
    """Posts `requests` signed slash commands, `concurrency` at a time; returns latencies."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                form = slash_command_form(
                    f"{number(i)} Bench {tag} {i}: server room door open",
                    user_id=f"U{tag.upper().replace('-', '')}{i:05d}",
                    channel_id=CHANNEL,
                    response_url=f"{slack_url}/response/{tag}{i}",
                )
                body = urlencode(form)
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    **signature_headers(body, SIGNING_SECRET),
                }
                started = time.perf_counter()
                async with session.post(url, data=body.encode(), headers=headers) as resp:
                    await resp.read()
                latencies.append(time.perf_counter() - started)
                statuses[resp.status] = statuses.get(resp.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if set(statuses) != {200}:
        raise SystemExit(f"{tag}: not every command was acknowledged with 200: {statuses}")
    return latencies


async def floor_run(fakes: dict[str, str], requests: int, concurrency: int) -> list[float]:
    """The same HTTP stack and Bolt verification, with a handler that only acks."""
    bolt = AsyncApp(
        token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fakes["slack_api"]),
    )

    @bolt.command("/sms")
    async def only_ack(ack):
        await ack()

    app = web.Application()
    add_slack_routes(app, bolt)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        await fire(url, fakes["slack"], concurrency, concurrency, "floor-warmup")
        return await fire(url, fakes["slack"], requests, concurrency, "floor")
    finally:
        await runner.cleanup()


async def bot_run(fakes: dict[str, str], database: Path, requests: int, concurrency: int):
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{database}",
        slack={
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": fakes["slack_api"],
        },
        # Everyone in the channel may send; each command comes from another person to another
        # number, so the default rate limits (per person, per number) allow every one.
        allow={"channels": [CHANNEL]},
    ).with_sandbox(fakes["sandbox"])
    total = requests + concurrency
    async with aiohttp.ClientSession() as session:
        fault = {"delay_ms": KPN_DELAY_MS, "count": total}
        async with session.post(f"{fakes['sandbox']}/sandbox/faults", json=fault) as resp:
            resp.raise_for_status()
        async with running_bot(settings, host="127.0.0.1", port=0, mode=SlackMode.HTTP) as bot:
            url = f"{bot.url}/slack/events"
            await fire(url, fakes["slack"], concurrency, concurrency, "bot-warmup")
            latencies = await fire(url, fakes["slack"], requests, concurrency, "bot")
            drained_in, inbox = await wait_for_inbox(session, fakes["sandbox"], total, 300)
    return latencies, drained_in, inbox


async def wait_for_inbox(session, sandbox_url: str, expected: int, within: float):
    started = time.perf_counter()
    while True:
        async with session.get(f"{sandbox_url}/sandbox/messages") as resp:
            inbox = await resp.json()
        if len(inbox) >= expected or time.perf_counter() - started > within:
            return time.perf_counter() - started, inbox
        await asyncio.sleep(0.2)


async def serve_fakes() -> None:
    """Child process: the sandbox and the fake Slack Web API, until stdin closes."""
    async with FakeSlackApi() as fake_slack, running_sandbox() as sandbox:
        fake_slack.add_channel(CHANNEL, "bench")
        urls = {"slack": fake_slack.url, "slack_api": fake_slack.api_url, "sandbox": sandbox.url}
        print(json.dumps(urls), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def line(name: str, latencies: list[float]) -> str:
    return (
        f"{name:<28} p50 {percentile(latencies, 0.50) * 1000:7.1f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   "
        f"mean {statistics.fmean(latencies) * 1000:7.1f} ms   n={len(latencies)}"
    )


async def main(requests: int, concurrency: int) -> int:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-fakes",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        fakes = json.loads(await child.stdout.readline())
        floor = await floor_run(fakes, requests, concurrency)
        with tempfile.TemporaryDirectory() as tmp:
            bot, drained_in, inbox = await bot_run(
                fakes, Path(tmp) / "bench.db", requests, concurrency
            )
    finally:
        child.stdin.close()
        await child.wait()
    expected = requests + concurrency
    ratio = percentile(bot, 0.99) / percentile(floor, 0.99)
    print(
        f"slash command acks, concurrency {concurrency}, KPN delaying each send {KPN_DELAY_MS} ms"
    )
    print(line("floor (bare Bolt, ack only)", floor))
    print(line("smsbot (create_app + Bolt)", bot))
    print(f"p99 ratio smsbot/floor        {ratio:.2f}x   (target <= {TARGET_RATIO}x)")
    print(f"p99 smsbot                    {percentile(bot, 0.99) * 1000:.1f} ms   (target < 50 ms)")
    distinct = len({m["content"] for m in inbox})
    print(
        f"sandbox inbox                 {len(inbox)} SMS ({distinct} distinct) of {expected} "
        f"commands, all in {drained_in:.1f} s after the last ack"
    )
    ok = (
        percentile(bot, 0.99) < TARGET_P99_SECONDS
        and ratio <= TARGET_RATIO
        and len(inbox) == distinct == expected
    )
    print("result                        " + ("within target" if ok else "MISSED TARGET"))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fakes:
        asyncio.run(serve_fakes())
    else:
        raise SystemExit(asyncio.run(main(args.requests, args.concurrency)))
