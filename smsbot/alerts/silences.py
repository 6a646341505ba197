"""Silences in Alertmanager through its API v2: create one for an alert group, expire it, read.

    POST   {url}/api/v2/silences             create; answers {"silenceID": "..."}
    DELETE {url}/api/v2/silence/{id}          expire (again: still 200)
    GET    {url}/api/v2/silences[?filter=]    read, optionally only those with these matchers
    GET    {url}/api/v2/silence/{id}          one (404 when unknown)

A group's labels become equality matchers (`isEqual` true, `isRegex` false), so the silence
mutes exactly that group and nothing broader. `url` is Alertmanager's base URL including any
`--web.route-prefix`. Optional HTTP basic auth (Alertmanager's own `--web.config.file`) or a
bearer token (a proxy in front of it). One `check_response` maps every answer to a value or to
one of the `AlertmanagerError`s of smsbot.errors, whose message says what to check.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from smsbot.errors import (
    AlertmanagerAuthError,
    AlertmanagerError,
    AlertmanagerRejected,
    AlertmanagerUnavailable,
    ConfigurationError,
    SilenceNotFound,
)
from smsbot.settings import AlertSettings

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_DETAIL = 300  # characters of Alertmanager's own message kept on an error


class Matcher(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    name: str
    value: str
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")

    def as_filter(self) -> str:
        """This matcher in Alertmanager's filter syntax: `name="value"`."""
        operator = _OPERATORS[self.is_equal, self.is_regex]
        return f"{self.name}{operator}{json.dumps(self.value)}"


# (isEqual, isRegex) -> the operator of Alertmanager's matcher syntax.
_OPERATORS = {(True, False): "=", (True, True): "=~", (False, False): "!=", (False, True): "!~"}


class SilenceStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    state: Literal["active", "pending", "expired"]


class Silence(BaseModel):
    """A silence as `GET /api/v2/silences` gives it."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    id: str
    status: SilenceStatus
    matchers: list[Matcher]
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy")
    comment: str = ""
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    @property
    def labels(self) -> dict[str, str]:
        """The equality matchers as labels (what `matchers_for` was given)."""
        return {m.name: m.value for m in self.matchers if m.is_equal and not m.is_regex}


class _Created(BaseModel):
    model_config = ConfigDict(extra="ignore")

    silence_id: str = Field(alias="silenceID", min_length=1)


# What the store keeps of a silence's id, smsbot_alert_groups.silence_id (a test ties the two);
# Alertmanager's own ids are 36-character UUIDs.
SILENCE_ID_CHARACTERS = 64


def matchers_for(labels: Mapping[str, str]) -> list[Matcher]:
    """Equality matchers for `labels`, sorted by name. Labels with an empty value are left out
    (Alertmanager treats `x=""` as "no label x", which is not what the group showed). Raises
    ValueError when nothing is left: a silence without matchers would mute everything."""
    matchers = [Matcher(name=name, value=value) for name, value in sorted(labels.items()) if value]
    if not matchers:
        raise ValueError("an alert group without labels cannot be silenced on its own")
    return matchers


def silence_body(
    *,
    matchers: Sequence[Matcher],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
) -> dict[str, Any]:
    """The JSON of `POST /api/v2/silences`. Times must be aware; the end after the start."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("silence times must be timezone-aware")
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    if not matchers:
        raise ValueError("a silence needs at least one matcher")
    return {
        "matchers": [m.model_dump(by_alias=True) for m in matchers],
        "startsAt": _rfc3339(starts_at),
        "endsAt": _rfc3339(ends_at),
        "createdBy": created_by or "smsbot",
        "comment": comment,
    }


def check_response(method: str, path: str, status: int, body: bytes) -> Any:
    """Alertmanager's answer as JSON, or the error it stands for."""
    if 200 <= status < 300:
        try:
            return json.loads(body) if body.strip() else None
        except ValueError:
            raise AlertmanagerUnavailable(
                f"Alertmanager answered {method} {path} with a body that is not JSON: check "
                "that the Alertmanager URL points at Alertmanager itself",
                status=status,
            ) from None
    detail = _detail(body)
    where = f"Alertmanager answered {method} {path} with {status}"
    if status in (401, 403):
        raise AlertmanagerAuthError(
            f"{where}: check SMSBOT_ALERTS__ALERTMANAGER_BASIC_USER/_PASSWORD or "
            "SMSBOT_ALERTS__ALERTMANAGER_BEARER_TOKEN",
            status=status,
            detail=detail,
        )
    if status == 404:
        raise SilenceNotFound(f"{where}: no such silence", status=status, detail=detail)
    if 400 <= status < 500:
        raise AlertmanagerRejected(f"{where}: {detail}", status=status, detail=detail)
    raise AlertmanagerUnavailable(
        f"{where}: {detail or 'no reason given'}; try again later", status=status, detail=detail
    )


class SilencesClient:
    """An async client of Alertmanager's silences. Use as `async with`, or call `close()`.

    `session` is for tests and for sharing a pool; the client closes only a session it made."""

    def __init__(
        self,
        url: str,
        *,
        basic_auth: tuple[str, str] | None = None,
        bearer_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if basic_auth and bearer_token:
            raise ConfigurationError(
                "Alertmanager takes basic auth or a bearer token, not both: unset "
                "SMSBOT_ALERTS__ALERTMANAGER_BEARER_TOKEN or the BASIC_USER/_PASSWORD pair."
            )
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                "SMSBOT_ALERTS__ALERTMANAGER_URL must be Alertmanager's http(s) base URL, "
                "e.g. http://alertmanager:9093"
            )
        self.url = url.rstrip("/")
        self._headers: dict[str, str] = {}
        if bearer_token:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        elif basic_auth:
            self._headers["Authorization"] = basic_auth_header(*basic_auth)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    @classmethod
    def from_settings(cls, alerts: AlertSettings, *, url: str | None = None) -> SilencesClient:
        """A client for `url` (a route's `alertmanager_url`) or the global setting."""
        base = url or alerts.alertmanager_url
        if not base:
            raise ConfigurationError(
                "Silences need Alertmanager's URL: set SMSBOT_ALERTS__ALERTMANAGER_URL "
                "(or alertmanager_url on the route)."
            )
        user, password = alerts.alertmanager_basic_user, alerts.alertmanager_basic_password
        if bool(user) != bool(password):
            raise ConfigurationError(
                "SMSBOT_ALERTS__ALERTMANAGER_BASIC_USER and _BASIC_PASSWORD go together: set "
                "both or neither."
            )
        return cls(
            base,
            basic_auth=(user, _secret(password)) if user and password else None,
            bearer_token=_secret(alerts.alertmanager_bearer_token) or None,
        )

    async def __aenter__(self) -> SilencesClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def create(
        self,
        *,
        matchers: Sequence[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """Make a silence; returns its id."""
        body = silence_body(
            matchers=matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
        )
        answer = await self._request("POST", "/api/v2/silences", json_body=body)
        try:
            silence_id = _Created.model_validate(answer).silence_id
        except ValidationError:
            raise AlertmanagerUnavailable(
                "Alertmanager answered POST /api/v2/silences without a silenceID: check that "
                "the Alertmanager URL points at Alertmanager's API v2"
            ) from None
        if len(silence_id) > SILENCE_ID_CHARACTERS:
            # smsbot could not record it, so could never lift it: end it again, at once.
            try:
                await self.expire(silence_id)
                what = "so the silence was ended again"
            except AlertmanagerError:
                what = "and ending it again failed: end it in Alertmanager"
            raise AlertmanagerUnavailable(
                f"Alertmanager answered with a silence id of {len(silence_id)} characters, "
                f"more than smsbot keeps ({SILENCE_ID_CHARACTERS}; Alertmanager's own are "
                f"UUIDs), {what}; check that the Alertmanager URL points at Alertmanager's "
                "API v2"
            )
        return silence_id

    async def expire(self, silence_id: str) -> None:
        """End a silence now. Expiring an expired one is no error; an unknown id is
        `SilenceNotFound`."""
        path = f"/api/v2/silence/{_quoted(silence_id)}"
        try:
            await self._request("DELETE", path)
        except AlertmanagerUnavailable as exc:
            # Alertmanager 0.25 answers an unknown id with 500 "silence not found"; the silence
            # itself, not the wording, says which it was.
            if exc.status is None:
                raise
            await self.get(silence_id)
            raise

    async def get(self, silence_id: str) -> Silence:
        answer = await self._request("GET", f"/api/v2/silence/{_quoted(silence_id)}")
        return _parse_silence(answer)

    async def silences(self, matchers: Sequence[Matcher] = ()) -> list[Silence]:
        """Every silence Alertmanager holds (expired ones until its retention drops them), or
        only those whose matchers include all of `matchers`."""
        params = [("filter", m.as_filter()) for m in matchers]
        answer = await self._request("GET", "/api/v2/silences", params=params)
        if not isinstance(answer, list):
            raise AlertmanagerUnavailable(
                "Alertmanager answered GET /api/v2/silences with something other than a list"
            )
        return [_parse_silence(item) for item in answer]

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Sequence[tuple[str, str]] = (),
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.request(
                method,
                self.url + path,
                json=json_body,
                params=list(params) or None,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                status = response.status
        except TimeoutError:
            raise AlertmanagerUnavailable(
                f"Alertmanager did not answer {method} {path} within "
                f"{self._timeout.total:.0f} s; try again later"
            ) from None
        except aiohttp.ClientError as exc:
            raise AlertmanagerUnavailable(
                f"could not reach Alertmanager at {self.url} ({type(exc).__name__}): check "
                "SMSBOT_ALERTS__ALERTMANAGER_URL and that Alertmanager is running"
            ) from None
        return check_response(method, path, status, body)


def basic_auth_header(user: str, password: str) -> str:
    """HTTP basic auth (RFC 7617) as Alertmanager's `--web.config.file` checks it."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


def _parse_silence(item: Any) -> Silence:
    try:
        return Silence.model_validate(item)
    except ValidationError as exc:
        raise AlertmanagerUnavailable(
            f"Alertmanager's silence is not in API v2's shape ({exc.error_count()} problems): "
            "check that the Alertmanager URL points at Alertmanager's API v2"
        ) from None


def _detail(body: bytes) -> str | None:
    """Alertmanager's reason: `{"code", "message"}`, a JSON string, or the plain text."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    if isinstance(parsed, dict):
        parsed = parsed.get("message") or parsed.get("error") or text
    return str(parsed)[:MAX_DETAIL]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quoted(silence_id: str) -> str:
    return quote(silence_id, safe="")


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
