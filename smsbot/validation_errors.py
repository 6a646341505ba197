"""Pydantic's validation errors, said as one line a person can act on.

Shared by the webhooks smsbot parses with pydantic (Alertmanager and Grafana in
`smsbot.alerts.payloads`, KPN's inbound SMS in `smsbot.kpn.inbound`). It names fields and what is
wrong with them, never their values: a body may hold a phone number or a person's text.
"""

from __future__ import annotations

from pydantic import ValidationError

MAX_PROBLEMS = 5  # a body wrong everywhere would otherwise make a line of hundreds


def describe_validation_error(exc: ValidationError) -> str:
    """`alerts.0.status: Input should be 'firing' or 'resolved'; ...; and 3 more`."""
    problems = []
    for err in exc.errors()[:MAX_PROBLEMS]:
        where = ".".join(str(part) for part in err["loc"]) or "body"
        problems.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - len(problems)
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)
