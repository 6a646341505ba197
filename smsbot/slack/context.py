"""What every listener module needs, handed to its `register(app, deps)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.notifier import SlackNotifier
from smsbot.slack.step_completion import StepCompleter

if TYPE_CHECKING:
    from smsbot.alerts.groups import AlertGroups
    from smsbot.service import SmsService


@dataclass(frozen=True)
class SlackDeps:
    settings: Settings
    service: SmsService
    directory: SlackDirectory
    notifier: SlackNotifier
    completer: StepCompleter  # ends workflow steps (the workflow surface's notifier)
    # The on-call loop whose groups the mirror's buttons act on; None: no alert groups.
    alert_groups: AlertGroups | None = None
    # The service counts sends by surface and outcome; ack latency is timed where requests
    # arrive (web.py for HTTP, socket_mode.py). Listeners may add Slack-only figures here.
    metrics: Metrics | None = None
