"""Throughput of the whole pipeline (validate, authorize, record, send, record, notify) next to
the bare KPN client, measured in the same run against the same sandbox.

    .venv/bin/python bench/pipeline.py [--n 1000] [--concurrency 50] [--rounds 5]
                                       [--kpn-latency-ms 0]

Each round sends N SMS at the same concurrency three ways, in rotating order:

- client:   `KpnClient.send` alone (bench/kpn_client.py's client pattern), the floor here;
- sqlite:   `SmsService.submit` with the store on SQLite (a fresh file each round);
- postgres: `SmsService.submit` with the store on PostgreSQL (a fresh schema each round), when
            `SMSBOT_BENCH_DATABASE_URL` or `SMSBOT_TEST_DATABASE_URL` names a reachable server.

Fifty actors send to N different numbers, with limits raised out of the way
(the rate-limit checks and their locks still run). `--kpn-latency-ms 100` makes the sandbox
answer as slowly as KPN over the internet does; by default it answers at loopback speed, where
every millisecond of bookkeeping shows. It prints the median SMS/s of each and the median of
the per-round ratios pipeline/client (target with `--kpn-latency-ms 100`: >= 0.9 on both
engines; none at loopback speed). The sandbox runs in a child process, as KPN would be
elsewhere. Machines are noisy: it reports PASS or BELOW TARGET and exits 0.

Each SMS waits for two durable commits (its record, its outcome), so on PostgreSQL the ratio
follows the server's commit latency, which other databases on a shared server drive up (their
WAL flushes are ours). Before each PostgreSQL round it times 20 one-row commits on the same
server and prints their median, to read the ratio by.

It also prints where the CPU went, in microseconds per SMS (medians): this process (client or
pipeline, all threads), the sandbox, and PostgreSQL's server processes when they run on this
machine (read from /proc, Linux only). When client and sandbox together already keep every core
busy, the ratio can be no better than their CPU over the total.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kpn_client import run_workers, sandbox_call, sandbox_url, via_client

from smsbot.bootstrap import open_service
from smsbot.settings import Settings
from smsbot.sms.request import Outcome, SendRequest, Surface

TARGET_RATIO = 0.9  # with KPN answering as over the internet (--kpn-latency-ms 100)
LIMITS = {"per_actor_per_hour": 10**9, "per_recipient_per_hour": 10**9}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_seconds(pid: int | str, *, children: bool = False) -> float:
    """CPU seconds of a process from /proc (with `children`, also of its reaped children)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def _postgres_seconds() -> float:
    """CPU of the local PostgreSQL server: live processes plus backends that have exited (their
    time is added to the postmaster's children)."""
    total = 0.0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if not comm.read().startswith("postgres"):
                    continue
            with open(f"/proc/{pid}/stat") as stat:
                parent = stat.read().rsplit(")", 1)[1].split()[1]
            with open(f"/proc/{parent}/comm") as comm:
                is_postmaster = not comm.read().startswith("postgres")
        except OSError:
            continue
        total += _proc_seconds(pid, children=is_postmaster)
    return total


def cpu_now() -> dict[str, float]:
    """Seconds of CPU used so far by this process, the sandbox child and PostgreSQL."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = multiprocessing.active_children()
    return {
        "this process": usage.ru_utime + usage.ru_stime,
        "sandbox": sum(_proc_seconds(child.pid) for child in children if child.pid),
        "postgres": _postgres_seconds(),
    }


def number(i: int) -> str:
    return f"+316{10_000_000 + i:08d}"


async def via_pipeline(url: str, database_url: str, n: int, concurrency: int) -> float:
    """Seconds to submit `n` requests, from an opened service (schema ready) to the last one."""
    settings = Settings(_env_file=None, database_url=database_url, limits=LIMITS).with_sandbox(url)
    async with open_service(settings) as service:
        started = time.perf_counter()

        async def send_one(i: int) -> None:
            result = await service.submit(
                SendRequest(
                    f"cli:bench{i % 50}", Surface.CLI, number(i), f"bench {i}", sender="Bench"
                )
            )
            if result.outcome != Outcome.SENT:
                raise SystemExit(f"request {i} was {result.outcome}: {result.reason}")

        await run_workers(n, concurrency, send_one)
        return time.perf_counter() - started


async def timed_client(url: str, n: int, concurrency: int) -> float:
    started = time.perf_counter()
    await via_client(url, n, concurrency)
    return time.perf_counter() - started


@asynccontextmanager
async def fresh_sqlite() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


@asynccontextmanager
async def fresh_postgres(base: str, commits: list[float] | None = None) -> AsyncIterator[str]:
    """A fresh schema; with `commits`, the median commit latency (ms) measured in it first."""
    admin = await asyncpg.connect(base)
    schema = f"smsbot_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        if commits is not None:
            commits.append(await commit_latency_ms(admin, schema))
        yield f"{base}{'&' if '?' in base else '?'}search_path={schema}"
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def commit_latency_ms(connection: asyncpg.Connection, schema: str) -> float:
    """Median milliseconds of 20 one-row commits: the server's WAL flush as it is right now."""
    await connection.execute(f'CREATE TABLE "{schema}".commit_probe (n integer)')
    insert = f'INSERT INTO "{schema}".commit_probe VALUES ($1)'
    times = []
    for n in range(20):
        started = time.perf_counter()
        await connection.execute(insert, n)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def reachable_postgres() -> str | None:
    base = os.environ.get("SMSBOT_BENCH_DATABASE_URL") or os.environ.get("SMSBOT_TEST_DATABASE_URL")
    if not base:
        print("PostgreSQL: skipped (set SMSBOT_BENCH_DATABASE_URL or SMSBOT_TEST_DATABASE_URL)")
        return None
    try:
        connection = await asyncpg.connect(base, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL: skipped ({base} unreachable: {exc})")
        return None
    await connection.close()
    return base


async def main(n: int, concurrency: int, rounds: int, kpn_latency_ms: int) -> None:
    postgres = await reachable_postgres()
    runs: dict[str, Callable[[str], Awaitable[float]]] = {}
    runs["client"] = lambda url: timed_client(url, n, concurrency)

    async def on_sqlite(url: str) -> float:
        async with fresh_sqlite() as database_url:
            return await via_pipeline(url, database_url, n, concurrency)

    runs["sqlite"] = on_sqlite
    commits: list[float] = []
    if postgres is not None:

        async def on_postgres(url: str) -> float:
            async with fresh_postgres(postgres, commits) as database_url:
                return await via_pipeline(url, database_url, n, concurrency)

        runs["postgres"] = on_postgres

    rates: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
    async with sandbox_url(False) as url, aiohttp.ClientSession() as control:
        await timed_client(url, min(n, 200), concurrency)  # warm up both processes
        names = list(runs)
        for round_number in range(rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                await sandbox_call(control, url, "/sandbox/reset")
                if kpn_latency_ms:
                    fault = {"delay_ms": kpn_latency_ms, "count": n}
                    async with control.post(url + "/sandbox/faults", json=fault) as answer:
                        answer.raise_for_status()
                before = cpu_now()
                elapsed = await runs[name](url)
                after = cpu_now()
                for part, seconds in after.items():
                    used = (seconds - before[part]) / n * 1e6
                    cpu[name].setdefault(part, []).append(used)
                stats = await sandbox_call(control, url, "/sandbox/stats")
                if stats["messages"] != n:
                    raise SystemExit(f"{name}: the sandbox received {stats['messages']} of {n}")
                rates[name].append(n / elapsed)

    print(
        f"Pipeline: {n} SMS, concurrency {concurrency}, {rounds} rounds, sandbox in a child, "
        f"KPN answering after {kpn_latency_ms} ms"
    )
    for name, values in rates.items():
        print(
            f"  {name:<8} median {statistics.median(values):7.0f} SMS/s   "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )
    print("  CPU per SMS (medians, microseconds):")
    for name, parts in cpu.items():
        shown = "   ".join(
            f"{part} {statistics.median(values):5.0f}"
            for part, values in parts.items()
            if part != "postgres" or name == "postgres"
        )
        print(f"    {name:<8} {shown}")
    if commits:
        print(
            "  PostgreSQL commit latency before each round: "
            f"median {statistics.median(commits):.2f} ms "
            f"(min {min(commits):.2f}, max {max(commits):.2f})"
        )
    for name in [n for n in rates if n != "client"]:
        ratio = statistics.median(p / c for p, c in zip(rates[name], rates["client"], strict=True))
        target = f" (target >= {TARGET_RATIO}: " + (
            "PASS)" if ratio >= TARGET_RATIO else "BELOW TARGET)"
        )
        print(f"  {name}/client = {ratio:.2f}{target if kpn_latency_ms else ''}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="SMS per run (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="default 50")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument(
        "--kpn-latency-ms",
        type=int,
        default=0,
        help="let the sandbox answer each send after this delay, as KPN over the internet "
        "would (default 0: loopback speed, the hardest case for the pipeline)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    asyncio.run(main(args.n, args.concurrency, args.rounds, args.kpn_latency_ms))
