"""Who may send, by surface.

- Slack surfaces (slash command, modal, shortcut): the allowlist decides on the user and the
  channel the request came from.
- Workflow step: the allowlist when Slack names the user who ran the workflow; otherwise the
  run's app id must be in `allowed_workflows`: the Slack layer lists smsbot's own app there
  while Slack's permissions limit who may add the step to workflows to the allowlist.
- CLI and alert webhooks are trusted: they already needed machine access or the alert token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection

from smsbot.policy.allowlist import Allowlist
from smsbot.policy.refusal import Refusal
from smsbot.sms.request import SendRequest, Surface

log = logging.getLogger(__name__)

SLACK_SURFACES = frozenset({Surface.SLACK_COMMAND, Surface.SLACK_MODAL, Surface.SLACK_SHORTCUT})
TRUSTED_SURFACES = frozenset({Surface.CLI, Surface.ALERTMANAGER, Surface.GRAFANA})
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_WORKFLOW_PREFIX = "workflow:"


async def check_access(
    request: SendRequest,
    allowlist: Allowlist,
    *,
    allowed_workflows: Collection[str],
    admin_contact: str,
) -> Refusal | None:
    """None when `request.actor` may send from `request.surface`; else why not."""
    if request.surface in TRUSTED_SURFACES:
        return None
    if request.surface == Surface.WORKFLOW and not _SLACK_USER_ID.match(request.actor):
        workflow = request.actor.removeprefix(_WORKFLOW_PREFIX)
        if workflow in allowed_workflows:
            return None
        return Refusal.of("allowlist", "refusal.workflow", workflow=workflow, admin=admin_contact)
    try:
        permitted = await allowlist.permits(request.actor, request.channel)
    except Exception:
        # Slack could not tell us the user groups; refusing is the safe answer, and a retry
        # in a minute usually works.
        log.exception("could not check the allowlist's user groups")
        return Refusal.of("allowlist", "refusal.groups_unknown")
    if permitted:
        return None
    return Refusal.of("allowlist", "refusal.not_allowed", admin=admin_contact)
