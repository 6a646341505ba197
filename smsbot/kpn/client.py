"""The async KPN SMS client: token, send, retries, quota. One instance per process.

```python
async with KpnClient(settings.kpn) as kpn:
    receipt = await kpn.send("+31612345678", "Disk full on db-1", "SMSBot")
```

The client owns an `aiohttp.ClientSession` unless one is passed in (one session per process:
pass the application's session when there is one). It raises only `KpnError` subclasses from
`send` and `fetch_token`; see `smsbot.kpn.responses` for which answer becomes which error, and
`smsbot.kpn.transport` for failures with no answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from smsbot import __version__
from smsbot.errors import ConfigurationError, KpnAuthError, KpnError
from smsbot.kpn.health import KpnHealth
from smsbot.kpn.models import OutgoingMessage, Quota, Receipt, SendBody
from smsbot.kpn.responses import Endpoint, read_send, read_token
from smsbot.kpn.retry import RetryPolicy, call_with_retries
from smsbot.kpn.token import TokenCache
from smsbot.kpn.transport import Answer, post, timeouts
from smsbot.settings import KpnSettings

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/client_credential/accesstoken"
SEND_PATH = "/communication/kpn/sms/send"
USER_AGENT = f"smsbot/{__version__}"
# aiohttp's own default; a KPN gateway that closes idle connections sooner would turn some sends
# into "outcome unknown" (the POST meets a connection the server is closing).
KEEPALIVE_SECONDS = 15.0
MAX_CONNECTIONS = 100


class KpnClient:
    def __init__(
        self,
        settings: KpnSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        token_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        base = URL(settings.base_url)
        if base.scheme not in ("http", "https") or not base.host:
            raise ConfigurationError(
                f"SMSBOT_KPN__BASE_URL is {settings.base_url!r}, which is not an http(s) URL. "
                "Use https://api-prd.kpn.com, or a sandbox such as http://127.0.0.1:8025."
            )
        self._settings = settings
        self._base = str(base).rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._retry = retry or RetryPolicy.from_settings(settings)
        self._timeout = timeouts(settings)
        self._tokens = TokenCache(self._mint_token, clock=token_clock)  # tests move it on
        self._sunset_warned = False
        self.last_quota: Quota | None = None
        self.health = KpnHealth()  # reachability, for /metrics

    async def __aenter__(self) -> KpnClient:
        self._http()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        await self._tokens.aclose()
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch_token(self) -> str:
        """A usable access token: the cached one, else a new one (one request however many
        callers ask at once). `smsbot check` calls this to prove the credentials work."""
        return await call_with_retries(self._retry, self._tokens.get, what="KPN token")

    async def send(
        self, mobile_number: str, content: str, sender: str, *, webhook_url: str | None = None
    ) -> Receipt:
        """Send one SMS to one recipient. `mobile_number` should already be normalised
        (`smsbot.sms.numbers`); KPN validates it again and a refusal raises `KpnRejected`.
        `webhook_url` is where KPN posts this SMS's delivery reports (default: the fixed
        `SMSBOT_KPN__WEBHOOK_URL`, if any)."""
        settings = self._settings
        body = SendBody(
            sender=sender,
            messages=[OutgoingMessage(mobile_number=mobile_number, content=content)],
            webhook_url=webhook_url or settings.webhook_url,
            expirein=str(settings.expire_in) if settings.expire_in is not None else None,
        ).to_json()
        requests = 0
        reminted = False

        async def attempt() -> Receipt:
            nonlocal requests, reminted
            token = await self._tokens.get()
            requests += 1
            answer = await self._post_send(body, token)
            if answer.status == 401 and not reminted:
                # KPN refused the token (expired early, or revoked). A 401 means the request was
                # not processed, so it is repeated once with a newly minted token.
                reminted = True
                self._tokens.invalidate(token)
                log.info("KPN refused the access token; minting a new one and repeating once")
                token = await self._tokens.get()
                requests += 1
                answer = await self._post_send(body, token)
            accepted = read_send(answer.status, answer.headers, answer.body)
            return Receipt(
                document_id=accepted.document_id,
                status=accepted.status,
                quota=answer.quota,
                api_version=answer.headers.get("api-version"),
                attempts=requests,
            )

        receipt = await call_with_retries(self._retry, attempt, what="KPN send")
        log.debug(
            "KPN accepted the SMS: document_id=%s attempts=%d quota_remaining=%s",
            receipt.document_id,
            receipt.attempts,
            receipt.quota.remaining if receipt.quota else "n/a",
        )
        return receipt

    async def _post(self, path: str, *, endpoint: Endpoint, **kwargs: Any) -> Answer:
        """One request to KPN; what came of it goes into `health`."""
        try:
            answer = await post(
                self._http(),
                self._base + path,
                endpoint=endpoint,
                client_timeout=self._timeout,
                **kwargs,
            )
        except KpnError:
            self.health.no_answer()
            raise
        self.health.answered(answer.status, token=endpoint == "token")
        return answer

    async def _post_send(self, body: bytes, token: str) -> Answer:
        answer = await self._post(
            SEND_PATH,
            endpoint="send",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            data=body,
        )
        self._observe(answer)
        return answer

    async def _mint_token(self) -> tuple[str, float]:
        settings = self._settings
        if not settings.has_credentials:
            raise KpnAuthError.of("kpn.no_credentials")
        assert settings.client_id is not None and settings.client_secret is not None
        answer = await self._post(
            TOKEN_PATH,
            endpoint="token",
            headers={"Accept": "application/json"},
            params={"grant_type": "client_credentials"},
            # A dict body is sent as application/x-www-form-urlencoded, as KPN requires.
            data={
                "client_id": settings.client_id,
                "client_secret": settings.client_secret.get_secret_value(),
            },
        )
        token = read_token(answer.status, answer.headers, answer.body)
        log.debug("minted a KPN access token valid for %.0f s", token.expires_in)
        return token.access_token, token.expires_in

    def _observe(self, answer: Answer) -> None:
        """Keep the quota KPN reported, and warn (once) when KPN announces a sunset."""
        if answer.quota is not None:
            self.last_quota = answer.quota
        sunset = (answer.headers.get("sunset") or "").strip()
        if sunset and sunset.lower() != "n/a" and not self._sunset_warned:
            self._sunset_warned = True
            log.warning(
                "KPN will retire the SMS API version in use (api-version %s): sunset %s. "
                "Plan the move to the newer version before then.",
                answer.headers.get("api-version", "unknown"),
                sunset,
            )

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this KpnClient is closed; open a new one")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
                ),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session
