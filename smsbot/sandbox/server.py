"""Serving a sandbox on a host and port, for the `smsbot sandbox` command and the test helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from aiohttp.log import access_logger

from smsbot.errors import ConfigurationError
from smsbot.sandbox.app import create_sandbox_app
from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.state import STATE, SandboxState


@dataclass(frozen=True)
class ServedSandbox:
    url: str  # base URL, e.g. http://127.0.0.1:8025 (the real port when 0 was asked for)
    state: SandboxState


@asynccontextmanager
async def serve_sandbox(
    config: SandboxConfig,
    *,
    host: str,
    port: int,
    access_log: bool = False,
    shutdown_timeout: float = 5.0,
) -> AsyncIterator[ServedSandbox]:
    app = create_sandbox_app(config)
    runner = web.AppRunner(
        app,
        access_log=access_logger if access_log else None,
        shutdown_timeout=shutdown_timeout,
    )
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "choose another port with --port, or stop what is using it"
            ) from exc
        bound_host, bound_port = runner.addresses[0][:2]
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield ServedSandbox(f"http://{shown_host}:{bound_port}", app[STATE])
    finally:
        await runner.cleanup()
