"""A bot process for the crash test: queues COUNT requests, sends them one at a time, and waits
to be killed. Usage: python tests/service/outbox_child.py DATABASE_URL SANDBOX_URL COUNT"""

from __future__ import annotations

import asyncio
import sys

from smsbot.bootstrap import open_service
from smsbot.outbox import OutboxOptions
from smsbot.settings import Settings
from smsbot.sms.request import SendRequest, Surface


async def main(database_url: str, sandbox_url: str, count: int) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        limits={"per_actor_per_hour": 1000},
        kpn={"read_timeout": 60.0},
    ).with_sandbox(sandbox_url)
    async with open_service(settings, outbox=OutboxOptions(concurrency=1)) as service:
        for i in range(count):
            request = SendRequest(
                "cli:crash", Surface.CLI, f"06123450{i:02d}", f"queued {i}", idempotency_key=f"k{i}"
            )
            await service.enqueue(request)
        print("queued", flush=True)
        await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
