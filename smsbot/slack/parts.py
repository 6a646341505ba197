"""The Slack side's parts that exist before the service, built in the order they need each other.

```python
slack = slack_parts(settings, client, directory, store)    # smsbot.bootstrap, Slack on
SmsService(..., notifiers={**slack.notifiers(), ...})      # they hear the outcomes
build_slack_app(SlackDeps(..., slack.notifier, slack.completer, ...), ...)
DeliveryRecorder(store, watchers=[slack.updates, ...])     # confirmations show deliveries
```

None of them needs the service: they answer from what each request carries (`request.reply`)
and from the store. So they are built first and handed to the service, instead of the service
being built first and told of them afterwards.

The confirmation's (channel, ts) is stored as the notifier posts it, and the delivery updates
need the notifier to tell senders privately: `SlackConfirmations` (store and Slack client only)
comes first, the notifier is built with its `posted`, and the delivery watcher with both.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from smsbot.notify import Notifier
from smsbot.settings import Settings
from smsbot.slack.app import SLACK_SURFACES, WorkspaceAuthorization
from smsbot.slack.delivery_updates import SlackConfirmations, SlackDeliveryUpdates
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.notifier import SlackNotifier
from smsbot.slack.step_completion import StepCompleter
from smsbot.slack.thread_replies import SlackReplyPoster
from smsbot.sms.request import Surface
from smsbot.store import Store


@dataclass(frozen=True)
class SlackParts:
    client: AsyncWebClient  # the bot token's, on the bot's one connection pool
    directory: SlackDirectory
    notifier: SlackNotifier  # the Slack surfaces' notifier
    completer: StepCompleter  # the workflow surface's notifier: ends "Send SMS" steps
    updates: SlackDeliveryUpdates  # delivery reports shown on the confirmations
    poster: SlackReplyPoster  # SMS replies posted into their Slack threads
    authorization: WorkspaceAuthorization  # Bolt's authorize: auth.test, asked once

    def notifiers(self) -> dict[Surface, Notifier]:
        """The notifier of each surface Slack serves, for the service."""
        return {
            **{surface: self.notifier for surface in SLACK_SURFACES},
            Surface.WORKFLOW: self.completer,
        }


def slack_parts(
    settings: Settings, client: AsyncWebClient, directory: SlackDirectory, store: Store
) -> SlackParts:
    confirmations = SlackConfirmations(client, settings, directory, store)
    notifier = SlackNotifier(client, settings, directory, remember=confirmations.posted)
    return SlackParts(
        client=client,
        directory=directory,
        notifier=notifier,
        # The bot token's client (Bolt's own carries no token: each request brings its own);
        # the step's error in the language of the person Slack names for the run.
        completer=StepCompleter(client, texts_for=notifier.texts_for),
        updates=SlackDeliveryUpdates(confirmations, notifier),
        poster=SlackReplyPoster(notifier),
        authorization=WorkspaceAuthorization(client),
    )
