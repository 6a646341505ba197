"""The modal's live counter: one `views.update` at a time per modal, always the newest count.

The message field dispatches an action on every pause in typing; one `views.update` for each
would spend `views.update`'s rate limit on counts that are stale before Slack shows them, and
a fast typist would get 429s. So per modal at most one update is under way; what arrives
meanwhile only replaces the pending count, and when the update returns the newest pending one
goes next. A burst of keystrokes costs two updates: the first and the last.

The hash sent with each update is the one Slack returned for this process's last update of
the view when there is one (the hash in a later action can be older than that), else the
action's own; `hash_conflict` (someone else updated the view) drops that count, and the next
keystroke brings a fresh hash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack import blocks

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    client: AsyncWebClient
    view: Mapping[str, Any]
    counter: str


class CounterUpdates:
    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._hashes: dict[str, str] = {}

    def submit(self, client: AsyncWebClient, view: Mapping[str, Any], counter: str) -> None:
        """Show `counter` in the modal `view` soon; returns at once (no Slack call here)."""
        view_id = view["id"]
        self._pending[view_id] = _Pending(client, view, counter)
        if view_id not in self._running:
            task = asyncio.create_task(self._drain(view_id), name=f"counter-{view_id}")
            self._running[view_id] = task

    async def wait_idle(self) -> None:
        """Until no update is under way (for shutdown and tests)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _drain(self, view_id: str) -> None:
        try:
            while (pending := self._pending.pop(view_id, None)) is not None:
                await self._update(view_id, pending)
        finally:
            self._running.pop(view_id, None)
            if not self._running:
                self._hashes.clear()  # nothing typed anywhere: forget the closed modals

    async def _update(self, view_id: str, pending: _Pending) -> None:
        view_hash = self._hashes.get(view_id) or pending.view.get("hash")
        try:
            answer = await pending.client.views_update(
                view_id=view_id,
                hash=view_hash,
                view=blocks.with_counter(pending.view, pending.counter),
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            self._hashes.pop(view_id, None)
            if error != "hash_conflict":
                log.warning("could not update the SMS form's counter: %s", error)
            return
        new_hash = (answer.get("view") or {}).get("hash")
        if new_hash:
            self._hashes[view_id] = new_hash
