"""How long does `smsbot serve` take to start, and how much memory does it hold while idle?

`smsbot serve` in HTTP mode, started as operators start it (`python -m smsbot serve`, a fresh
process, settings from the environment, SQLite), and the floor: a bare Bolt `AsyncApp` served by
aiohttp with the same HTTP stack (`slack_bolt.adapter.aiohttp`), a `/healthz` route and nothing
else, in a fresh process of the same interpreter. Start-up is the time from spawning the process
to the first 200 from `/healthz`, polled every 5 ms; idle RSS is `VmRSS` from `/proc/PID/status`
once it has answered and then idled for `--settle` seconds (the bot's start-up calls are done by
then). One start is noisy on a shared machine, so the two take turns, floor, bot, floor, bot, ...
(`--rounds`, default 5), after one unmeasured start of each (it writes the bytecode caches and
creates the bot's database, as the first start of a deployment does). Prints every round, the
medians, and the ratios bot/floor of the medians.

Both processes read compiled bytecode, as a deployment does (`pip install` compiles every
module; the Docker image's `PYTHONDONTWRITEBYTECODE` only stops writing more): the children get
a bytecode cache of their own (`PYTHONPYCACHEPREFIX` in the run's temporary directory) and
`PYTHONDONTWRITEBYTECODE` unset, so the warm-up start fills it. Inherited from a shell or CI job,
that variable would otherwise have the bot compile its ~110 editable-install modules from source
on every start (about 0.1 s), while the floor's libraries come compiled from their wheels.

With Slack configured, serve asks Slack's `auth.test` at start (and sets who may add the workflow
step): here that is the fake Slack Web API over loopback, so those calls are included in what
the bot does, but answered at loopback speed. KPN is the sandbox; serve does not call it at start.
Both fakes run in this process, which only polls while a process starts.

Target: start-up and idle RSS each within 1.5x of the floor (the medians). A third process,
`libs`, is the floor with the libraries serving needs imported first (pydantic-settings and so
pydantic, phonenumbers, prometheus-client), taking turns with the other two: the last line
says how much of the budget those take, and how much smsbot's own modules and start add.

    .venv/bin/python bench/startup.py [--rounds 5] [--settle 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from smsbot.sandbox.testing import running_sandbox  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi  # noqa: E402
from tests.fakes.slack_requests import SIGNING_SECRET  # noqa: E402

TARGET = 1.5
POLL_SECONDS = 0.005
START_TIMEOUT = 60.0

# The floor: Bolt's own aiohttp adapter behind an aiohttp server, as small as a Bolt app is.
FLOOR = """
import os, sys
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

bolt = AsyncApp(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API"]),
)

@bolt.command("/sms")
async def only_ack(ack):
    await ack()

async def events(request):
    return to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

async def healthz(request):
    return web.json_response({"status": "ok"})

app = web.Application()
app.router.add_post("/slack/events", events)
app.router.add_get("/healthz", healthz)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

# The floor with the libraries serving needs on top, which smsbot builds on by design:
# pydantic-settings (and so pydantic) for the settings and wire models, phonenumbers for Dutch
# numbers, prometheus-client for /metrics. What the bot takes beyond this line is smsbot's own.
LIBRARIES = "import phonenumbers, prometheus_client, pydantic_settings\n" + FLOOR


@dataclass
class Start:
    seconds: float
    rss_mb: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(bytecode: Path, **env: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SMSBOT_", "SLACK_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    return {**clean, "PYTHONPYCACHEPREFIX": str(bytecode), **env}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    raise SystemExit(f"no VmRSS for process {pid}")


async def answers(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url) as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


async def start_once(args: list[str], env: dict[str, str], cwd: Path, settle: float) -> Start:
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    connector = aiohttp.TCPConnector(force_close=True)  # each poll a fresh connection
    async with aiohttp.ClientSession(connector=connector) as http:
        began = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, *[a.replace("{port}", str(port)) for a in args],
            cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            while not await answers(http, url):
                if process.returncode is not None or time.perf_counter() - began > START_TIMEOUT:
                    assert process.stderr is not None
                    err = (await process.stderr.read()).decode()
                    raise SystemExit(f"{args[:2]} did not start: {err[-2000:]}")
                await asyncio.sleep(POLL_SECONDS)
            seconds = time.perf_counter() - began
            await asyncio.sleep(settle)
            return Start(seconds, rss_mb(process.pid))
        finally:
            if process.returncode is None:
                process.terminate()
            await process.communicate()


def show(name: str, starts: list[Start]) -> tuple[float, float]:
    seconds = statistics.median(s.seconds for s in starts)
    rss = statistics.median(s.rss_mb for s in starts)
    rounds = "  ".join(f"{s.seconds:.2f}s/{s.rss_mb:.0f}MB" for s in starts)
    print(f"{name:6} median {seconds:.2f} s, {rss:.1f} MB   rounds: {rounds}")
    return seconds, rss


def verdict(what: str, ratio: float) -> str:
    return f"{what} {ratio:.2f}x the floor: {'PASS' if ratio <= TARGET else 'BELOW'} (<= {TARGET}x)"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--settle", type=float, default=1.0, help="idle seconds before RSS")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)  # no stray .env
        async with running_sandbox() as sandbox, FakeSlackApi() as slack:
            slack_env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
            floor_env = clean_environment(cwd / "bytecode", **slack_env, SLACK_API=slack.api_url)
            bot_env = clean_environment(
                cwd / "bytecode",
                **slack_env,
                SMSBOT_SLACK__API_URL=slack.api_url,
                SMSBOT_KPN__BASE_URL=sandbox.url,
                SMSBOT_KPN__CLIENT_ID="sandbox",
                SMSBOT_KPN__CLIENT_SECRET="sandbox",
                SMSBOT_DATABASE_URL=f"sqlite:///{cwd / 'bot.db'}",
            )
            floor_args = ["-c", FLOOR, "{port}"]
            libraries_args = ["-c", LIBRARIES, "{port}"]
            bot_args = ["-m", "smsbot", "serve", "--host", "127.0.0.1", "--port", "{port}"]
            for args, env in (floor_args, floor_env), (libraries_args, floor_env):
                await start_once(args, env, cwd, 0)  # warm-up, not measured
            await start_once(bot_args, bot_env, cwd, 0)
            floors, libraries, bots = [], [], []
            for _ in range(options.rounds):
                floors.append(await start_once(floor_args, floor_env, cwd, options.settle))
                libraries.append(await start_once(libraries_args, floor_env, cwd, options.settle))
                bots.append(await start_once(bot_args, bot_env, cwd, options.settle))
    floor_seconds, floor_rss = show("floor", floors)
    libraries_seconds, libraries_rss = show("libs", libraries)
    bot_seconds, bot_rss = show("bot", bots)
    print(verdict("start-up", bot_seconds / floor_seconds))
    print(verdict("idle RSS", bot_rss / floor_rss))
    print(
        f"the floor with the prescribed libraries alone: start-up "
        f"{libraries_seconds / floor_seconds:.2f}x, idle RSS {libraries_rss / floor_rss:.2f}x; "
        f"smsbot's own modules and start work add {bot_seconds - libraries_seconds:.2f} s = "
        f"{(bot_seconds - libraries_seconds) / floor_seconds:.2f}x the floor"
    )


if __name__ == "__main__":
    asyncio.run(main())
