"""Alert intake acceptance: how fast webhooks are answered, next to a floor in the same run.

    .venv/bin/python bench/alerts.py [--n 1000] [--alerts 10] [--concurrency 10] [--rounds 3]

Posts N Alertmanager webhooks (each a new group of `--alerts` alerts, so none is a repeat) at
the given concurrency, and measures the time from sending each request to its 200. One line
per server:

- floor:  a bare aiohttp handler that reads and parses the JSON body and answers 200;
- intake: `smsbot serve` without Slack (`running_bot`: the real alert routes, the real service
          on SQLite with its outbox running), storm control set out of the way: every webhook
          becomes an SMS, recorded before its 200 and sent by the outbox to a sandbox in another
          process while the webhooks keep coming (the cost of intake, not of policy);
- storm:  the same with the default storm settings (5 alert SMS per number per 15 minutes) and
          one on-call phone: the first 5 webhooks become SMS, every other one is recorded as
          held back by the storm cap (refused, rule `storm`) and counted by the storm listener
          for the summary. That summary is due when the window reopens, 15 minutes on, so it is
          not part of the run; the line checks the answers said 5 queued and N-5 held.

Each server runs in a child process of its own, the load generator in this one, so they do
not share an event loop. Rounds are interleaved floor/intake/storm, a fresh database for each
intake server. It prints p50/p99 acceptance latency and throughput (medians over rounds), and
for each of intake and storm the throughput ratio to the floor (target >= 0.5), whether p99 is
under 100 ms, and PASS or BELOW TARGET; it always exits 0, since machines are noisy.

It also prints the CPU each process used per webhook (server, sandbox, this load generator;
from /proc on Linux). The floor's server needs less CPU per webhook than the load generator, so
the floor runs at the load generator's pace; at 0.5x the floor, the intake server may use about
twice the load generator's CPU per webhook, on a core of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "bench-token"
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def webhooks(n: int, alerts: int) -> list[bytes]:
    bodies = []
    for g in range(n):
        items = [
            {
                "status": "firing",
                "labels": {
                    "alertname": f"Bench{g}",
                    "instance": f"host{i}.example.com:9100",
                    "severity": "critical",
                },
                "annotations": {"summary": f"Benchmark alert {g}/{i} is firing"},
                "startsAt": "2024-05-03T01:10:27Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com/graph",
                "fingerprint": f"{g:08x}{i:08x}",
            }
            for i in range(alerts)
        ]
        bodies.append(
            json.dumps(
                {
                    "version": "4",
                    "groupKey": f'{{}}:{{alertname="Bench{g}"}}',
                    "truncatedAlerts": 0,
                    "status": "firing",
                    "receiver": "smsbot",
                    "groupLabels": {"alertname": f"Bench{g}"},
                    "commonLabels": {"alertname": f"Bench{g}", "severity": "critical"},
                    "commonAnnotations": {},
                    "externalURL": "http://alertmanager.example.com",
                    "alerts": items,
                }
            ).encode()
        )
    return bodies


# ----- the servers, each in a child process -----


def serve_floor(port: int, ready) -> None:
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.json_response({"status": "accepted"})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/alerts/alertmanager", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_intake(port: int, ready, database: str, sandbox_url: str, storm: bool) -> None:
    """`smsbot serve` without Slack, as `python -m smsbot serve` composes it (alert routes,
    service, outbox, storm summaries, garbage-collector settings)."""
    from smsbot.cli.serve_cmd import running_bot
    from smsbot.settings import Settings

    alerts: dict[str, object] = {
        "token": TOKEN,
        "routes": [{"name": "on-call", "recipients": ["+31612345678"]}],
    }
    if not storm:
        alerts["storm_max"] = 1_000_000  # out of the way: every webhook becomes an SMS
    settings = Settings(_env_file=None, database_url=database, alerts=alerts).with_sandbox(
        sandbox_url
    )

    async def main() -> None:
        async with running_bot(settings, host="127.0.0.1", port=port, mode=None):
            ready.set()
            await asyncio.Event().wait()

    asyncio.run(main())


# ----- the load -----


async def post_all(
    url: str, bodies: list[bytes], concurrency: int
) -> tuple[list[float], float, Counter[str]]:
    """Latencies, the elapsed time, and the answers' counts summed (queued, storm_held, ...)."""
    latencies: list[float] = []
    answered: Counter[str] = Counter()
    queue = list(reversed(bodies))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{url} answered {resp.status}: {answer!r}")
                latencies.append(time.perf_counter() - started)
                answered.update({k: v for k, v in json.loads(answer).items() if isinstance(v, int)})

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, answered


async def postgres_schema(url: str, schema: str, *, create: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        if create:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    """CPU a process has used (Linux /proc; 0 elsewhere, and the CPU lines then read 0)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_child(target, *args) -> multiprocessing.Process:
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=target, args=(args[0], ready, *args[1:]), daemon=True)
    process.start()
    if not ready.wait(30):
        process.kill()
        raise RuntimeError(f"{target.__name__} did not start")
    return process


def start_sandbox() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smsbot",
            "sandbox",
            "--port",
            str(port),
            "--quota",
            "10000000/hour",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the sandbox did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run the service on this PostgreSQL database (a fresh schema per round) instead "
        "of SQLite, e.g. postgresql://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()

    kinds = ("floor", "intake", "storm")
    sandbox, sandbox_url = start_sandbox()
    results: dict[str, list[tuple[float, float, float]]] = {kind: [] for kind in kinds}
    # CPU per webhook, microseconds: the server process, the sandbox, this load generator.
    cpu: dict[str, list[tuple[float, float, float]]] = {kind: [] for kind in kinds}
    answers: dict[str, list[Counter[str]]] = {kind: [] for kind in kinds}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_ in range(args.rounds):
                for kind in kinds:
                    port = free_port()
                    schema = f"smsbot_bench_{os.getpid()}_{kind}_{round_}"
                    if kind == "floor":
                        server = start_child(serve_floor, port)
                    else:
                        if args.postgres:
                            asyncio.run(postgres_schema(args.postgres, schema, create=True))
                            database = f"{args.postgres}?search_path={schema}"
                        else:
                            database = f"sqlite:///{os.path.join(tmp, f'{kind}{round_}.db')}"
                        storm = kind == "storm"
                        server = start_child(serve_intake, port, database, sandbox_url, storm)
                    try:
                        # Distinct groups per round, so nothing is a repeat of an earlier round.
                        bodies = webhooks(args.n, args.alerts)
                        url = f"http://127.0.0.1:{port}/alerts/alertmanager"
                        assert server.pid is not None
                        before = (cpu_seconds(server.pid), cpu_seconds(sandbox.pid))
                        started = time.process_time()
                        latencies, elapsed, answered = asyncio.run(
                            post_all(url, bodies, args.concurrency)
                        )
                        cpu[kind].append(
                            (
                                (cpu_seconds(server.pid) - before[0]) / args.n * 1e6,
                                (cpu_seconds(sandbox.pid) - before[1]) / args.n * 1e6,
                                (time.process_time() - started) / args.n * 1e6,
                            )
                        )
                    finally:
                        server.kill()
                        server.join()
                        if kind != "floor" and args.postgres:
                            asyncio.run(postgres_schema(args.postgres, schema, create=False))
                    results[kind].append(
                        (percentile(latencies, 0.5), percentile(latencies, 0.99), args.n / elapsed)
                    )
                    answers[kind].append(answered)
    finally:
        sandbox.kill()
        sandbox.wait()

    def median(kind: str, index: int) -> float:
        return statistics.median(r[index] for r in results[kind])

    print(
        f"{args.n} Alertmanager webhooks x {args.alerts} alerts, concurrency "
        f"{args.concurrency}, {args.rounds} rounds (medians), store: "
        f"{'PostgreSQL' if args.postgres else 'SQLite'}"
    )
    for kind in kinds:
        p50_ms, p99_ms = median(kind, 0) * 1000, median(kind, 1) * 1000
        print(
            f"  {kind:6}  p50 {p50_ms:6.1f} ms  p99 {p99_ms:6.1f} ms"
            f"  {median(kind, 2):8.0f} webhooks/s"
        )
    print("  CPU per webhook until its answer (medians, microseconds; /proc, Linux):")
    for kind in kinds:
        server_us, sandbox_us, load_us = (
            statistics.median(r[i] for r in cpu[kind]) for i in range(3)
        )
        print(
            f"    {kind:6}  server {server_us:5.0f}   sandbox {sandbox_us:4.0f}   "
            f"load generator {load_us:4.0f}"
        )
    from smsbot.settings import AlertSettings

    storm_max = AlertSettings.model_fields["storm_max"].default  # the storm run's SMS
    expected = {
        "intake": {"queued": args.n, "storm_held": 0},
        "storm": {"queued": storm_max, "storm_held": args.n - storm_max},
    }
    for kind, wanted in expected.items():
        ratio = median(kind, 2) / median("floor", 2)
        p99_ms = median(kind, 1) * 1000
        got = [{key: answered[key] for key in wanted} for answered in answers[kind]]
        as_expected = all(g == wanted for g in got)
        print(
            f"  {kind}: {ratio:.2f}x the floor (target >= {TARGET_RATIO}x), p99 {p99_ms:.1f} ms "
            f"(target < {TARGET_P99_MS:.0f} ms): "
            f"{'PASS' if ratio >= TARGET_RATIO and p99_ms < TARGET_P99_MS else 'BELOW TARGET'}"
        )
        if not as_expected:
            print(f"    answers not as expected: wanted {wanted} per round, got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
