"""Settings: environment variables, a `.env` file, or a TOML file named by `SMSBOT_CONFIG`.

Every variable starts with `SMSBOT_`; nested sections use `__`, so `SMSBOT_KPN__CLIENT_ID` sets
`settings.kpn.client_id`. Slack's usual variable names (`SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`,
`SLACK_SIGNING_SECRET`) are read too, below the `SMSBOT_` ones in priority.

Priority, highest first: constructor arguments (tests), `SMSBOT_*` environment, Slack's names,
`.env`, the TOML file, defaults. Nothing here is read at import time: call `load_settings()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from smsbot.settings_names import unknown_keys, unknown_variables

DEFAULT_TIMEZONE = "Europe/Amsterdam"
SANDBOX_CLIENT_ID = "sandbox"
SANDBOX_CLIENT_SECRET = "sandbox"  # the sandbox's published default, not a secret

# A comma-separated environment value ("U1,U2") becomes a list; TOML gives a list directly.
IdList = Annotated[list[str], NoDecode]


def _split_ids(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class KpnSettings(BaseModel):
    base_url: str = "https://api-prd.kpn.com"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    sender: str = "SMSBot"
    # Explicit timeouts: a failed connect may be retried (nothing was sent); a read may not.
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    # Retries only where KPN certainly did not accept the SMS (see smsbot.kpn.retry).
    max_attempts: int = 4
    max_retry_seconds: float = 30.0
    # How long the outbox keeps retrying a queued SMS (an alert) while KPN is unreachable.
    outbox_retry_seconds: float = 3600.0
    # SMS one process hands to KPN at once from its outbox (each waits for KPN's answer).
    outbox_concurrency: int = Field(default=8, ge=1)
    # Optional delivery-receipt URL and validity passed through to KPN.
    webhook_url: str | None = None
    expire_in: int | None = None
    # Key of the signature in each SMS's delivery-report URL (smsbot.kpn.delivery.signing);
    # unset: derived from client_secret.
    delivery_secret: SecretStr | None = None
    # The KPN virtual number (097...) that SMS inviting replies are sent from, as E.164.
    reply_number: str | None = None
    # Secret path segment of the inbound-SMS webhook: POST /kpn/inbound/{token}.
    inbound_token: SecretStr | None = None
    # Optional HTTP basic auth KPN's webhook must also present (both set, or neither).
    inbound_user: str | None = None
    inbound_password: SecretStr | None = None

    @field_validator("reply_number")
    @classmethod
    def _reply_number(cls, value: str | None) -> str | None:
        from smsbot.errors import InvalidNumber
        from smsbot.sms.numbers import normalize_number

        try:
            return normalize_number(value) if value else None
        except InvalidNumber as exc:  # a ValueError, so the message names the variable
            raise ValueError(str(exc)) from None

    @property
    def has_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    # Who people are told to ask when the allowlist refuses them.
    admin_contact: str = "your Slack admin"
    usergroup_cache_seconds: float = 300.0
    # smsbot's Slack app id (A...); found from the bot token when not set.
    app_id: str | None = None
    # Where a sent SMS is confirmed: "channel" (everyone there sees it) or "sender" (only the
    # person who sent it, like refusals and failures).
    confirmations: Literal["channel", "sender"] = "channel"
    # A custom profile field (its label, e.g. "Mobile", or its id Xf...) holding the phone.
    phone_field: str | None = None
    # An org-wide install: the workspace (T...) whose user groups the allowlist names.
    team_id: str | None = None
    # Who may add the "Send SMS" workflow step to workflows: "allowlist" sets it in Slack to
    # the people on the allowlist (at start-up and `smsbot check`); "off" leaves it alone, and
    # then workflow runs that name no person may not send.
    step_permissions: Literal["allowlist", "off"] = "allowlist"


class AllowSettings(BaseModel):
    users: IdList = Field(default_factory=list)
    usergroups: IdList = Field(default_factory=list)
    channels: IdList = Field(default_factory=list)
    # Retired (it could not tell workflows apart): set, it stops the start with what to do
    # instead (smsbot.slack.step_permissions.RETIRED_WORKFLOWS).
    workflows: IdList = Field(default_factory=list)

    _split = field_validator("users", "usergroups", "channels", "workflows", mode="before")(
        _split_ids
    )


class LimitSettings(BaseModel):
    per_actor_per_hour: int = 20
    per_recipient_per_hour: int = 10


class SmsSettings(BaseModel):
    max_characters: int = 1000  # KPN's documented limit per message


class AuditSettings(BaseModel):
    store_text: bool = False
    retention_days: int = 90
    # Phone numbers are personal data: masked in logs and channel messages unless turned off.
    mask_numbers: bool = True


class AlertSettings(BaseModel):
    token: SecretStr | None = None
    basic_user: str | None = None
    basic_password: SecretStr | None = None
    grafana_hmac_secret: SecretStr | None = None
    grafana_timestamp_header: str | None = None
    max_body_bytes: int = 1024 * 1024
    # Routing, templates and storm control are richer structures read from the TOML file;
    # smsbot.alerts validates them.
    routes: list[dict[str, Any]] = Field(default_factory=list)
    template: str | None = None
    max_parts: int = 1
    repeat_window_seconds: int = 4 * 3600
    storm_max: int = 5
    storm_window_seconds: int = 15 * 60
    # Alertmanager's API (v2), for silences made from SMS replies and Slack buttons; optional
    # HTTP basic auth or a bearer token for it.
    alertmanager_url: str | None = None
    alertmanager_basic_user: str | None = None
    alertmanager_basic_password: SecretStr | None = None
    alertmanager_bearer_token: SecretStr | None = None


def _duration(value: Any) -> Any:
    """`30m`, `2h`, `1d` (smsbot.alerts.replies' durations) as a timedelta."""
    if isinstance(value, str):
        from smsbot.alerts.replies import parse_duration

        return parse_duration(value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class RepliesSettings(BaseModel):
    # How long after an SMS a reply from its phone still finds that conversation.
    window_hours: float = Field(default=24, gt=0)
    # Slack channel for replies that find no conversation; none: audited and dropped.
    channel: str | None = None
    # What one phone may post into Slack per minute; the excess is audited, not posted.
    per_number_per_minute: int = Field(default=20, ge=1)
    # Silences asked for by SMS reply: `<n>s` alone, and the longest `<n>s 3d` may ask for.
    default_silence: Duration = timedelta(hours=2)
    max_silence: Duration = timedelta(days=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMSBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    kpn: KpnSettings = Field(default_factory=KpnSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    allow: AllowSettings = Field(default_factory=AllowSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    replies: RepliesSettings = Field(default_factory=RepliesSettings)
    # The bot's public base URL: KPN posts delivery reports (and inbound SMS) there.
    public_url: str | None = None
    database_url: str = "sqlite:///smsbot.db"
    log_level: str = "INFO"
    # The time zone of every time a person reads (Slack texts, SMS, refusals), shown with its
    # abbreviation (CET, CEST). Logs and JSON stay in UTC.
    timezone: str = DEFAULT_TIMEZONE

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from smsbot.timezone import zone

        zone(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("https://", "http://")) or "?" in value or "#" in value:
            raise ValueError(
                "must be the absolute http(s) base URL where KPN reaches the bot, "
                "e.g. https://smsbot.example.com, without query or fragment"
            )
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            _SlackEnvNames(settings_cls, os.environ),
            dotenv_settings,
            _SlackEnvNames(
                settings_cls, _dotenv_values(getattr(dotenv_settings, "env_file", None))
            ),
        ]
        config_file = os.environ.get("SMSBOT_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    def with_sandbox(self, base_url: str) -> Settings:
        """A copy that talks to a sandbox at `base_url` with the sandbox's default credentials."""
        kpn = self.kpn.model_copy(
            update={
                "base_url": base_url,
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SecretStr(SANDBOX_CLIENT_SECRET),
            }
        )
        return self.model_copy(update={"kpn": kpn})


def _dotenv_values(env_file: Any) -> dict[str, str]:
    """The variables of the `.env` file(s) that pydantic-settings reads, later files winning."""
    from dotenv import dotenv_values

    if not env_file:
        return {}
    files = [env_file] if isinstance(env_file, str | os.PathLike) else list(env_file)
    values: dict[str, str] = {}
    for file in files:
        if Path(file).is_file():
            values.update({k: v for k, v in dotenv_values(file).items() if v is not None})
    return values


class _SlackEnvNames(PydanticBaseSettingsSource):
    """Reads `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN` and `SLACK_SIGNING_SECRET` into `slack`, from
    the process environment or from `.env` (one instance each, so `SMSBOT_` names in the same
    place still win)."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.variables = variables

    NAMES: ClassVar[dict[str, str]] = {
        "SLACK_BOT_TOKEN": "bot_token",
        "SLACK_APP_TOKEN": "app_token",
        "SLACK_SIGNING_SECRET": "signing_secret",
    }

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        slack = {
            key: self.variables[env] for env, key in self.NAMES.items() if self.variables.get(env)
        }
        return {"slack": slack} if slack else {}


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; raises `ConfigurationError` with what to fix: a
    settings file that is missing or not TOML (file, line and column), settings that do not
    exist (with the nearest that does), and values that are wrong."""
    from pydantic import ValidationError

    from smsbot.errors import ConfigurationError

    config_file = os.environ.get("SMSBOT_CONFIG")
    document = _read_config_file(config_file) if config_file else {}
    problems = unknown_variables(Settings, os.environ)
    dotenv = _dotenv_values(Settings.model_config.get("env_file"))
    problems += [f"{p} in .env" for p in unknown_variables(Settings, dotenv)]
    problems += [f"{config_file}: {p}" for p in unknown_keys(Settings, document)]
    if problems:
        raise ConfigurationError(
            "settings that do not exist:\n  - "
            + "\n  - ".join(problems)
            + "\nSee README.md, Configuration, for every setting."
        )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [
            f"SMSBOT_{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigurationError(f"invalid settings: {'; '.join(problems)}") from exc


def _read_config_file(config_file: str) -> dict[str, Any]:
    """The TOML document SMSBOT_CONFIG names, or `ConfigurationError` saying where it is wrong."""
    import tomllib

    from smsbot.errors import ConfigurationError

    path = Path(config_file)
    if not path.is_file():
        raise ConfigurationError(
            f"SMSBOT_CONFIG names {config_file}, which is not a file. "
            "Point it at a TOML settings file or unset it."
        )
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)".
        raise ConfigurationError(
            f"{config_file} (SMSBOT_CONFIG) is not valid TOML: {exc}. "
            "Fix the file at that line and column."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"SMSBOT_CONFIG names {config_file}, which cannot be read as UTF-8 text: {exc}"
        ) from None
