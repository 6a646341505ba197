"""One HTTP exchange with KPN, and what it means when no answer comes back.

The whole question is whether KPN may have received the request. aiohttp's exceptions say it:

- Raised while *connecting*, before a byte of the request was written, so KPN certainly did
  not get the SMS and trying again is safe (-> `KpnUnavailable`, no status):
  `ClientConnectorError` and its subclasses (connection refused, `ClientConnectorDNSError`,
  `ClientProxyConnectionError`, `ClientSSLError`/`ClientConnectorCertificateError` during the
  TLS handshake), `ConnectionTimeoutError` (the `connect`/`sock_connect` timeouts, which cover
  waiting for a pooled connection, TCP and TLS), and `ServerFingerprintMismatch` (checked by
  the connector before the request is written).
- Raised *after* the request may have been written, so KPN may have accepted it
  (-> `KpnOutcomeUnknown` for a send, never retried):
  `SocketTimeoutError` (`sock_read`: no answer in time), `ServerDisconnectedError` (the
  connection closed without an answer; for a POST aiohttp does not retry this itself, even on
  a reused keep-alive connection), `ClientOSError` that is not a connector error (e.g. a reset
  mid-request), `ClientPayloadError` (the answer was cut off), `ClientResponseError` (an answer
  that is not valid HTTP), and any other `ClientError`/`TimeoutError`.

For the token endpoint nothing irreversible happens, so every failure there is `KpnUnavailable`
and may be retried.

No `total` timeout is set: when it fires nobody can tell which phase it interrupted. Connecting
is bounded by `connect_timeout`, the wait for each read of the answer by `read_timeout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from smsbot.errors import KpnOutcomeUnknown, KpnUnavailable
from smsbot.kpn.models import Quota
from smsbot.kpn.responses import Endpoint
from smsbot.settings import KpnSettings
from smsbot.sms.reasons import Reason

# Raised before any part of the request was written: nothing reached KPN.
NOT_CONNECTED = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.ServerFingerprintMismatch,
    aiohttp.InvalidURL,  # refused by aiohttp before it connects
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @cached_property
    def quota(self) -> Quota | None:
        return Quota.from_headers(self.headers)


def timeouts(settings: KpnSettings) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None,
        connect=settings.connect_timeout,
        sock_connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )


async def post(
    session: aiohttp.ClientSession,
    url: str,
    *,
    endpoint: Endpoint,
    client_timeout: aiohttp.ClientTimeout,
    headers: dict[str, str],
    data: bytes | dict[str, str],
    params: dict[str, str] | None = None,
) -> Answer:
    """POST and read the whole answer, or raise `KpnUnavailable` / `KpnOutcomeUnknown`."""
    host = URL(url).host
    try:
        async with session.post(
            url,
            data=data,
            headers=headers,
            params=params,
            timeout=client_timeout,
            # Following a redirect would turn the POST into a GET; a redirect is reported.
            allow_redirects=False,
        ) as response:
            body = await response.read()
            return Answer(response.status, response.headers, body)
    except NOT_CONNECTED as exc:
        where = {"host": host, "cause": _cause(exc)}
        raise KpnUnavailable.of("kpn.no_connection", where) from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        where = {"host": host, "cause": _cause(exc)}
        if endpoint == "token":
            raise KpnUnavailable.of("kpn.token_no_answer", where) from exc
        raise KpnOutcomeUnknown.of("kpn.no_answer", where) from exc


def _cause(exc: BaseException) -> str | Reason:
    """Why no answer came: a reason of its own for the causes smsbot can name, else the
    library's own message (aiohttp's, e.g. a refused connection's errno text)."""
    # ConnectionTimeoutError is a TimeoutError too, so it is asked about first.
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Reason("kpn.cause.connect_timeout")
    if isinstance(exc, TimeoutError):
        return Reason("kpn.cause.read_timeout")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Reason("kpn.cause.closed")
    return str(exc) or type(exc).__name__
