"""How fast does the bot acknowledge a slash command while KPN is slow?

Signed `/sms 06... text` commands at concurrency 50 against the running HTTP app (the real
`create_app` with the real Bolt app, the service on SQLite, the KPN sandbox delaying every send
by 1 s, the fake Slack Web API), and the same load against a bare Bolt `AsyncApp` whose only
handler acks, served the same way (the floor), in the same run. One round is noisy on a shared
machine, so the two take turns: floor, bot, floor, bot, ... (`--rounds`, default 5). Each round
starts its app afresh, warms it with one batch of `--concurrency` commands, then measures
`--requests` commands. The floor runs while no bot is running (the bot is stopped between its
rounds; its queued SMS wait in the database), so the bot's background sends do not slow the
floor. Prints p50 and p99 of every round, the medians of p50 and p99, and the median of the
per-round p99 ratios bot/floor. The commands are posted from this process for both apps; each
round also shows the CPU this process used per command while it was measured (the app, its
threads and the client, which costs the same for both): at concurrency 50 the loop is busy
throughout, so the latencies follow that CPU.

Exactly once: after the last round the sandbox stops delaying, a bot starts once more to send
what is still queued, and every command of every round (warm-ups included) must be exactly one
SMS in the sandbox inbox, with the text of that command.

Target: p99 under 50 ms and within 1.5x of the floor (the medians over the rounds).

The sandbox and the fake Slack Web API run in a child process: in production KPN and Slack are
elsewhere, and serving them on the bot's event loop would bill their work to the bot.

    .venv/bin/python bench/slack_ack.py [--requests 1000] [--concurrency 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from smsbot.cli.serve_cmd import SlackMode, running_bot, tuned_for_serving  # noqa: E402
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
# KPN answers at once while draining: the outbox sends hundreds a second, so a pause this
# long means no more SMS are coming.
STALLED_SECONDS = 15


def number(i: int) -> str:
    return f"06{20000000 + i:08d}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Batch:
    """One batch of commands: `size` of them, tagged `tag`, to numbers from `first_number` on.

    Every command of a run goes to a number of its own and comes from a person of its own, so
    the default rate limits (per person, per number) allow every one, however many rounds.
    """

    tag: str
    size: int
    first_number: int

    def text(self, i: int) -> str:
        return f"Bench {self.tag} {i}: server room door open"

    def to(self, i: int) -> str:
        return number(self.first_number + i)


async def fire(url: str, slack_url: str, batch: Batch, concurrency: int) -> list[float]:
    """Posts the batch's signed slash commands, `concurrency` at a time; returns latencies."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(batch.size):
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
                    f"{batch.to(i)} {batch.text(i)}",
                    user_id=f"U{batch.tag.upper().replace('-', '')}{i:05d}",
                    channel_id=CHANNEL,
                    response_url=f"{slack_url}/response/{batch.tag}{i}",
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
        raise SystemExit(f"{batch.tag}: not every command was acknowledged with 200: {statuses}")
    return latencies


@contextlib.asynccontextmanager
async def serving_floor(fakes: dict[str, str]) -> AsyncIterator[str]:
    """The same HTTP stack and Bolt verification, with a handler that only acks."""
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fakes["slack_api"]),
    )

    @bolt.command("/sms")
    async def only_ack(ack):
        await ack()

    app = web.Application()
    add_slack_routes(app, bolt, signing_secret=SIGNING_SECRET)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    finally:
        await runner.cleanup()


def bot_settings(fakes: dict[str, str], database: Path) -> Settings:
    return Settings(
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


@dataclass(frozen=True)
class Measured:
    """One round's ack latencies, and the CPU this process used per command meanwhile: the
    app's work up to and after its acks, and the client's (the same for both apps)."""

    latencies: list[float]
    cpu_per_command: float


async def measure(firing: Awaitable[list[float]]) -> Measured:
    started = time.process_time()
    latencies = await firing
    return Measured(latencies, (time.process_time() - started) / len(latencies))


class Run:
    """The rounds of one run, and every command they sent (for the exactly-once check)."""

    def __init__(self, fakes: dict[str, str], database: Path, requests: int, concurrency: int):
        self.fakes = fakes
        self.settings = bot_settings(fakes, database)
        self.requests = requests
        self.concurrency = concurrency
        self.batches: list[Batch] = []

    def batch(self, tag: str, size: int) -> Batch:
        first = sum(b.size for b in self.batches)
        self.batches.append(Batch(tag, size, first))
        return self.batches[-1]

    async def floor_round(self, n: int) -> Measured:
        async with serving_floor(self.fakes) as url:
            # The floor records and sends nothing: its batches are not in the inbox check.
            await fire(
                url,
                self.fakes["slack"],
                Batch(f"floor{n}-warmup", self.concurrency, 0),
                self.concurrency,
            )
            return await measure(
                fire(
                    url, self.fakes["slack"], Batch(f"floor{n}", self.requests, 0), self.concurrency
                )
            )

    async def bot_round(self, n: int) -> Measured:
        async with running_bot(self.settings, host="127.0.0.1", port=0, mode=SlackMode.HTTP) as bot:
            url = f"{bot.url}/slack/events"
            slack = self.fakes["slack"]
            # As `smsbot serve` runs: the process tuned for serving once the bot is built.
            with tuned_for_serving():
                await fire(
                    url, slack, self.batch(f"bot{n}-warmup", self.concurrency), self.concurrency
                )
                return await measure(
                    fire(url, slack, self.batch(f"bot{n}", self.requests), self.concurrency)
                )
        # Leaving running_bot waited for the listeners' work after the acks (every command is
        # recorded) and for the sends under way; what is still queued waits in the database.

    def expected(self) -> Counter[str]:
        return Counter(batch.text(i) for batch in self.batches for i in range(batch.size))

    async def drain(self, session: aiohttp.ClientSession) -> tuple[float, list[dict]]:
        """Sends what the rounds left queued, with KPN answering at once; returns the inbox."""
        async with session.delete(f"{self.fakes['sandbox']}/sandbox/faults") as resp:
            resp.raise_for_status()
        expected = sum(b.size for b in self.batches)
        started = progress = time.perf_counter()
        arrived = 0
        async with running_bot(self.settings, host="127.0.0.1", port=0, mode=SlackMode.HTTP):
            while (now := len(await inbox(session, self.fakes))) < expected:
                if now > arrived:
                    arrived, progress = now, time.perf_counter()
                # Nothing more arrives: a command was lost, waiting longer will not bring it.
                if time.perf_counter() - progress > STALLED_SECONDS:
                    break
                await asyncio.sleep(0.2)
        # Read once the bot has stopped: a send still under way has arrived by now.
        return time.perf_counter() - started, await inbox(session, self.fakes)


async def inbox(session: aiohttp.ClientSession, fakes: dict[str, str]) -> list[dict]:
    async with session.get(f"{fakes['sandbox']}/sandbox/messages") as resp:
        return await resp.json()


async def serve_fakes() -> None:
    """Child process: the sandbox and the fake Slack Web API, until stdin closes."""
    async with FakeSlackApi() as fake_slack, running_sandbox() as sandbox:
        fake_slack.add_channel(CHANNEL, "bench")
        urls = {"slack": fake_slack.url, "slack_api": fake_slack.api_url, "sandbox": sandbox.url}
        print(json.dumps(urls), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def line(name: str, measured: Measured) -> str:
    latencies = measured.latencies
    return (
        f"{name:<16} p50 {percentile(latencies, 0.50) * 1000:5.1f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:5.1f} ms   "
        f"mean {statistics.fmean(latencies) * 1000:5.1f} ms   "
        f"CPU {measured.cpu_per_command * 1e6:4.0f} us/command   n={len(latencies)}"
    )


def summary(name: str, p50: float, p99: float, cpu: float) -> str:
    return (
        f"{name:<28} p50 {p50 * 1000:5.1f} ms   p99 {p99 * 1000:5.1f} ms   "
        f"CPU {cpu * 1e6:4.0f} us/command"
    )


def p99_ratio(floor: Measured, bot: Measured) -> float:
    return percentile(bot.latencies, 0.99) / percentile(floor.latencies, 0.99)


def medians(rounds: list[Measured]) -> tuple[float, float, float]:
    """The medians over the rounds of each round's p50, p99 and CPU per command."""
    return (
        statistics.median(percentile(r.latencies, 0.50) for r in rounds),
        statistics.median(percentile(r.latencies, 0.99) for r in rounds),
        statistics.median(r.cpu_per_command for r in rounds),
    )


async def main(requests: int, concurrency: int, rounds: int) -> int:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-fakes",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    print(
        f"slash command acks, concurrency {concurrency}, {requests} per round, {rounds} rounds, "
        f"KPN delaying each send {KPN_DELAY_MS} ms",
        flush=True,
    )
    floors: list[Measured] = []
    bots: list[Measured] = []
    try:
        fakes = json.loads(await child.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            run = Run(fakes, Path(tmp) / "bench.db", requests, concurrency)
            async with aiohttp.ClientSession() as session:
                delayed = min(10_000, rounds * (requests + concurrency))
                fault = {"delay_ms": KPN_DELAY_MS, "count": delayed}
                async with session.post(f"{fakes['sandbox']}/sandbox/faults", json=fault) as resp:
                    resp.raise_for_status()
                for n in range(1, rounds + 1):
                    floors.append(await run.floor_round(n))
                    print(line(f"round {n} floor", floors[-1]), flush=True)
                    bots.append(await run.bot_round(n))
                    ratio = p99_ratio(floors[-1], bots[-1])
                    print(line(f"round {n} smsbot", bots[-1]) + f"   p99 {ratio:.2f}x", flush=True)
                drained_in, messages = await run.drain(session)
            expected = run.expected()
    finally:
        child.stdin.close()
        await child.wait()

    floor_p50, floor_p99, floor_cpu = medians(floors)
    bot_p50, bot_p99, bot_cpu = medians(bots)
    ratio = statistics.median(p99_ratio(f, b) for f, b in zip(floors, bots, strict=True))
    arrived = Counter(m["content"] for m in messages)
    missing = sum((expected - arrived).values())
    extra = sum((arrived - expected).values())
    print(f"medians over {rounds} rounds")
    print(summary("floor (bare Bolt, ack only)", floor_p50, floor_p99, floor_cpu))
    print(summary("smsbot (create_app + Bolt)", bot_p50, bot_p99, bot_cpu))
    print(f"p99 smsbot                   {bot_p99 * 1000:.1f} ms   (target < 50 ms)")
    print(
        f"p99 ratio smsbot/floor       {ratio:.2f}x   (median of the rounds' ratios; "
        f"target <= {TARGET_RATIO}x)"
    )
    print(
        f"sandbox inbox                {len(messages)} SMS for {sum(expected.values())} commands: "
        f"{missing} missing, {extra} extra (drained in {drained_in:.1f} s after the last round)"
    )
    ok = bot_p99 < TARGET_P99_SECONDS and ratio <= TARGET_RATIO and missing == extra == 0
    print("result                       " + ("within target" if ok else "MISSED TARGET"))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per round (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of floor then bot")
    parser.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fakes:
        asyncio.run(serve_fakes())
    else:
        raise SystemExit(asyncio.run(main(args.requests, args.concurrency, args.rounds)))
