"""Does a hostile `/sms` command stall the bot? `/sms 1 1 1 ... hi` with 20,000 number-like words.

Against the running bot (`running_bot`, HTTP mode, the service on SQLite, the KPN sandbox and the
fake Slack Web API in a child process, as bench/slack_ack.py serves them), in the same run:

- the floor: an ordinary `/sms 06... text` command, its ack, and `GET /healthz` polled back to back
  from the moment it is posted until its audit record exists;
- the hostile command: its ack, and `GET /healthz` polled back to back from the moment the
  command is posted until its audit record exists (its work after the ack is done, too).

Every request is timed by wall clock from this process, which also runs the bot: whatever blocks
the bot's event loop shows in the latencies. Prints medians over `--rounds` commands of each kind
and the ratios hostile/floor.

Target: the hostile command acked in under 50 ms, /healthz during its work within 2x its idle
latency during a plain command's work (the floors are a millisecond or so: the ratio says
"unaffected").

    .venv/bin/python bench/hostile_command.py [--words 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.slack_ack import CHANNEL, bot_settings  # noqa: E402
from smsbot.cli.serve_cmd import SlackMode, running_bot  # noqa: E402
from tests.fakes.slack_requests import (  # noqa: E402
    SIGNING_SECRET,
    signature_headers,
    slash_command_form,
)

TARGET_ACK_SECONDS = 0.050
TARGET_HEALTHZ_RATIO = 2.0


async def post_command(
    session: aiohttp.ClientSession, url: str, slack: str, text: str, n: int
) -> float:
    form = slash_command_form(
        text, user_id=f"UHOSTILE{n:04d}", channel_id=CHANNEL, response_url=f"{slack}/response/h{n}"
    )
    body = urlencode(form)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **signature_headers(body, SIGNING_SECRET),
    }
    started = time.perf_counter()
    async with session.post(f"{url}/slack/events", data=body.encode(), headers=headers) as resp:
        await resp.read()
        if resp.status != 200:
            raise SystemExit(f"command {n} answered {resp.status}")
    return time.perf_counter() - started


async def healthz(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(f"{url}/healthz") as resp:
        await resp.read()
    return time.perf_counter() - started


@dataclass(frozen=True)
class Worked:
    ack: float  # the command's ack
    done: float  # from posting it to its audit record
    healthz: list[float]  # /healthz meanwhile, back to back


async def while_working(session, url: str, slack: str, bot, text: str, n: int) -> Worked:
    """Posts one command; polls /healthz until its audit record exists."""
    before = len(await bot.service.recent(limit=1000))
    started = time.perf_counter()
    ack = asyncio.create_task(post_command(session, url, slack, text, n))
    polled: list[float] = []
    deadline = time.monotonic() + 120
    while True:  # at least once: the first poll is posted along with the command
        polled.append(await healthz(session, url))
        if ack.done() and len(await bot.service.recent(limit=1000)) > before:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"command {n}: no audit record after 120 s")
    return Worked(await ack, time.perf_counter() - started, polled)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


async def main(words: int, rounds: int) -> int:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "slack_ack.py"),
        "--serve-fakes",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        fakes = json.loads(await child.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            settings = bot_settings(fakes, Path(tmp) / "bench.db")  # channel CBENCH may send
            async with (
                running_bot(settings, host="127.0.0.1", port=0, mode=SlackMode.HTTP) as bot,
                aiohttp.ClientSession() as session,
            ):
                url = bot.url
                hostile = "1 " * words + "hi"
                slack = fakes["slack"]
                await post_command(session, url, slack, "0612345678 warm-up", 0)  # first use
                idle = [await healthz(session, url) for _ in range(50)]
                plain: list[Worked] = []
                attacked: list[Worked] = []
                for n in range(1, rounds + 1):
                    text = f"06{n:08d} plain {n}"
                    plain.append(await while_working(session, url, slack, bot, text, 2 * n))
                    attacked.append(
                        await while_working(session, url, slack, bot, hostile, 2 * n + 1)
                    )
    finally:
        child.stdin.close()
        await child.wait()

    def row(name: str, values: list[float], floor: float | None = None) -> None:
        median = statistics.median(values)
        ratio = f"   {median / floor:5.2f}x floor" if floor else ""
        print(f"{name:<34} median {ms(median)}   max {ms(max(values))}{ratio}   n={len(values)}")

    print(f"/sms with {words} number-like words, {rounds} rounds, each after a plain command")
    row("ack, plain command (floor)", [w.ack for w in plain])
    row("ack, hostile command", [w.ack for w in attacked], statistics.median(w.ack for w in plain))
    row("post to audit record, plain", [w.done for w in plain])
    row("post to audit record, hostile", [w.done for w in attacked])
    row("/healthz idle", idle)
    floor_health = [p for w in plain for p in w.healthz]
    row("/healthz during plain (floor)", floor_health)
    during = [p for w in attacked for p in w.healthz]
    row("/healthz during hostile", during, statistics.median(floor_health))
    hostile_ack = statistics.median(w.ack for w in attacked)
    health_ratio = statistics.median(during) / statistics.median(floor_health)
    print("target: hostile ack < 50 ms, /healthz during hostile <= 2x during plain")
    ok = hostile_ack < TARGET_ACK_SECONDS and health_ratio <= TARGET_HEALTHZ_RATIO
    print("result                           " + ("within target" if ok else "MISSED TARGET"))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.words, args.rounds)))
