"""Fixtures of the web and Socket Mode tests: the fake Socket Mode endpoint, wired to the fake
Web API so that `apps.connections.open` hands out its URL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_socket_mode import FakeSocketMode


@pytest.fixture
async def fake_socket(fake_slack: FakeSlackApi) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode() as socket:
        fake_slack.socket_url = socket.url
        yield socket
