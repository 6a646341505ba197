"""Wire models of the two alert webhooks.

Alertmanager's `webhook_config` sends payload version "4"; Grafana Alerting's webhook contact
point sends the same core (Grafana's Alertmanager is a fork) plus `orgId`, `title`, `state`,
`message` and, per alert, `silenceURL`, `dashboardURL`, `panelURL`, `values`, `valueString`.
Unknown keys are ignored so that a newer sender never breaks intake; the keys smsbot relies on
are required, so a wrong body is refused with a message naming what is missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smsbot.validation_errors import describe_validation_error

Status = Literal["firing", "resolved"]


def _none_to_empty(value: Any) -> Any:
    # Real senders write `"commonAnnotations": null` when there are none.
    return {} if value is None else value


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Alert(_Wire):
    status: Status
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(default=None, alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""
    # Grafana only
    silence_url: str | None = Field(default=None, alias="silenceURL")
    dashboard_url: str | None = Field(default=None, alias="dashboardURL")
    panel_url: str | None = Field(default=None, alias="panelURL")
    values: dict[str, Any] | None = None
    value_string: str | None = Field(default=None, alias="valueString")

    _empty = field_validator("labels", "annotations", mode="before")(_none_to_empty)

    @property
    def identity(self) -> str:
        """What names this alert across deliveries: its fingerprint, else its sorted labels."""
        if self.fingerprint:
            return self.fingerprint
        return ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))


class AlertGroup(_Wire):
    """One notification: a group of alerts as Alertmanager (or Grafana) grouped them."""

    version: str = ""
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: Status
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[Alert] = Field(min_length=1)

    described_as: ClassVar[str] = "an alert webhook payload"

    _empty = field_validator("group_labels", "common_labels", "common_annotations", mode="before")(
        _none_to_empty
    )


class AlertmanagerPayload(AlertGroup):
    described_as: ClassVar[str] = "an Alertmanager webhook payload (version 4)"


class GrafanaPayload(AlertGroup):
    described_as: ClassVar[str] = "a Grafana Alerting webhook payload"

    org_id: int | None = Field(default=None, alias="orgId")
    title: str | None = None
    state: str | None = None
    message: str | None = None


class PayloadError(ValueError):
    """The body is not JSON, or not the webhook's schema; `str()` says what is wrong."""


def parse_payload(model: type[AlertGroup], body: bytes) -> AlertGroup:
    """Parse and validate a webhook body; raises `PayloadError` saying what is wrong."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise PayloadError(f"body is not valid JSON: {exc.errors()[0]['msg']}") from None
        raise PayloadError(
            f"body is not {model.described_as}: {describe_validation_error(exc)}"
        ) from None
