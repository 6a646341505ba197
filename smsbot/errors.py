"""Every exception smsbot raises on purpose, in one tree.

```
SmsbotError                      base; `str(exc)` is a message a person can act on
├── InputError                   the request itself is wrong; nothing was sent (CLI exit 2)
│   ├── InvalidNumber            not a Dutch mobile number KPN accepts
│   ├── InvalidSender            sender longer than 11 characters or with other characters
│   └── InvalidText              empty, or longer than the configured maximum
├── ConfigurationError           settings missing or wrong (CLI exit 2)
├── KpnError                     talking to KPN went wrong; carries `status` and `response`
│   ├── KpnAuthError             token endpoint refused the client id / secret (401)
│   ├── KpnRejected              KPN refused the message (400), KPN's own message passed on
│   ├── KpnForbidden             the app may not use this API or sender (403)
│   ├── KpnQuotaExhausted        quota used up (429); carries `retry_after` and `reset_at`
│   ├── KpnUnavailable           no connection could be made, 502/503, a 500 from the token
│   │                            endpoint, a 404 or redirect: the SMS was not accepted
│   └── KpnOutcomeUnknown        the request was sent but no answer came (timeout, dropped
│                                connection, 500/504 from send): it may have been accepted,
│                                so it is never retried blindly
└── AlertmanagerError            Alertmanager's API (silences) went wrong; carries `status`
    │                            (None without an answer) and Alertmanager's own `detail`
    ├── AlertmanagerUnavailable  no connection, no answer in time, or a 5xx: try again later
    ├── AlertmanagerAuthError    401/403: the configured credentials are missing or refused
    ├── AlertmanagerRejected     400/422: Alertmanager refused the request; its reason passed on
    └── SilenceNotFound          no silence with that id (never made, or gone after retention)
```

The CLI maps `InputError` and `ConfigurationError` to exit code 2 and `KpnError` to 1.
An `InputError` from `smsbot.sms` and a `KpnError` from `smsbot.kpn` also carry `code` and
`params` (`smsbot.sms.reasons`): the same reason for a surface that says it in its reader's
language; the message stays English.
`AlertmanagerError` reaches a person as the answer to the SMS reply or Slack button that asked
for a silence; its message says what to check.
A policy refusal is not an exception: it is a value (`smsbot.policy.Refusal`) that the service
records and returns as a result, like every other outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self


class SmsbotError(Exception):
    """Base of every smsbot error. The message says what was wrong and how to put it right."""


class InputError(SmsbotError):
    """Raised by `smsbot.sms` when a number, sender or text cannot be sent as given.

    `code` and `params` say the same as the message, for a surface that shows it in another
    language (`smsbot.sms.reasons`); None when the message is all there is."""

    field: str = "input"  # which input was wrong, so a form can show the error on that field

    def __init__(
        self, message: str, *, code: str | None = None, params: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.params = params or {}

    @classmethod
    def of(cls, code: str, **params: object) -> Self:
        """The error for `code` (a key of `smsbot.sms.reasons.ENGLISH`), its message in English."""
        from smsbot.sms.reasons import english

        return cls(english(code, params), code=code, params=params)


class InvalidNumber(InputError):
    """Raised when the recipient is not a Dutch mobile number that KPN accepts."""

    field = "to"


class InvalidSender(InputError):
    """Raised when the sender is not 1-11 letters, digits and spaces, or a numeric sender."""

    field = "sender"


class InvalidText(InputError):
    """Raised when the text is empty or longer than the configured maximum."""

    field = "text"


class ConfigurationError(SmsbotError):
    """Raised when settings are missing or inconsistent; the message names the variable."""


@dataclass
class KpnResponseInfo:
    """What came back from KPN, kept on errors for logs and audit (never contains secrets)."""

    status: int | None = None
    code: str | None = None
    message: str | None = None
    info: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


class KpnError(SmsbotError):
    """Talking to KPN went wrong. `response` holds what KPN answered, if anything.

    `code` and `params` say the same as the message (`smsbot.sms.reasons`, `kpn.*`), for a
    surface that shows it in another language; None when the message is all there is."""

    def __init__(
        self,
        message: str,
        *,
        response: KpnResponseInfo | None = None,
        code: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response or KpnResponseInfo()
        self.code = code
        self.params = params or {}

    @classmethod
    def of(cls, code: str, params: dict[str, object] | None = None, **kwargs: Any) -> Self:
        """The error for `code` (a key of `smsbot.sms.reasons.ENGLISH`), its message in English;
        `kwargs` are the error's own (`response`, and a quota's `retry_after`, `reset_at`)."""
        from smsbot.sms.reasons import english

        params = params or {}
        return cls(english(code, params), code=code, params=params, **kwargs)

    @property
    def status(self) -> int | None:
        return self.response.status


class KpnAuthError(KpnError):
    """The token endpoint refused the client credentials (401), or a fresh token was refused."""


class KpnRejected(KpnError):
    """KPN refused the message (400); KPN's own message is in `str(exc)`."""


class KpnForbidden(KpnError):
    """KPN answered 403: the app may not use this API, or this sender."""


class KpnQuotaExhausted(KpnError):
    """KPN answered 429: the quota is used up until `reset_at`; retry after `retry_after` s."""

    def __init__(
        self,
        message: str,
        *,
        response: KpnResponseInfo | None = None,
        retry_after: float | None = None,
        reset_at: datetime | None = None,
        code: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, response=response, code=code, params=params)
        self.retry_after = retry_after
        self.reset_at = reset_at


class KpnUnavailable(KpnError):
    """KPN could not be reached or answered 502/503 (or 500 on a token request); the SMS was
    certainly not accepted."""


class KpnOutcomeUnknown(KpnError):
    """The request reached KPN (or may have) but no answer came. Never retried blindly."""


class AlertmanagerError(SmsbotError):
    """Raised by `smsbot.alerts.silences` when Alertmanager's API did not do what was asked."""

    def __init__(self, message: str, *, status: int | None = None, detail: str | None = None):
        super().__init__(message)
        self.status = status
        self.detail = detail  # Alertmanager's own message, cut short; never credentials


class AlertmanagerUnavailable(AlertmanagerError):
    """No connection, no answer within the timeout, or a 5xx. A silence being created may or
    may not exist: look with `GET /api/v2/silences` before making another."""


class AlertmanagerAuthError(AlertmanagerError):
    """Alertmanager (or the proxy in front of it) answered 401 or 403."""


class AlertmanagerRejected(AlertmanagerError):
    """Alertmanager refused the request (400, 422): bad matchers, end before start, ..."""


class SilenceNotFound(AlertmanagerError):
    """Alertmanager has no silence with that id."""
