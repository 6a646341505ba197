"""Prometheus metrics, on a registry of their own per process (no import-time globals).

What an operator alerts on (deploy/prometheus/smsbot-rules.yml has the rules):

    smsbot_sends_total{surface,outcome}          final outcome of each SMS request
    smsbot_alerts_total{source,result}           what became of each alert notification
    smsbot_deliveries_total{status}              final delivery reports (delivered, failed...)
    smsbot_inbound_total{outcome}                SMS from phones, by what became of them
    smsbot_outbox_rows{state}                    rows queued / sending now (all replicas)
    smsbot_outbox_oldest_queued_age_seconds      how long the oldest queued row has waited
    smsbot_kpn_reachable                         1: KPN's last answer came; 0: it did not
    smsbot_kpn_last_error_timestamp_seconds      when a call to KPN last failed (no answer, 5xx...)
    smsbot_kpn_quota_limit, _used                KPN's quota headers, as last seen
    smsbot_slack_connected                       Socket Mode: 1 connected, 0 not
    smsbot_kpn_request_seconds, smsbot_slack_ack_seconds, smsbot_delivery_seconds  histograms
    process_*, python_gc_*, python_info          prometheus-client's standard collectors

Every label value the code knows is exported from the start at 0, so a rule such as
`increase(smsbot_sends_total{outcome="unknown"}[5m]) > 0` sees the first one after a restart.
The `_created` series prometheus-client adds to counters and histograms are left out: they say
when this process registered the metric, which `process_start_time_seconds` says already.

Values read from elsewhere (the outbox from the store, KPN's state from the client, Slack's
connection) are read when `/metrics` is scraped: `ScrapeReadings`, built last from the parts
it reads, sets them (`await readings.refresh()`, each reader bounded in time), then
`metrics.render()`. `Metrics` itself needs no other part, so every part can count into it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric

from smsbot.sms.request import Outcome, Surface
from smsbot.store.records import Delivery, InboundOutcome

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# From a send to the phone: seconds normally, minutes for a phone out of coverage.
DELIVERY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
# A scrape must answer even when the database hangs; a reader past this leaves its last value.
READ_TIMEOUT_SECONDS = 2.0

ALERT_SOURCES = (Surface.ALERTMANAGER, Surface.GRAFANA)
ALERT_RESULTS = (
    "queued",
    "duplicate",
    "storm",
    "refused",
    "not_routed",
    "unauthorized",
    "bad_request",
    "too_large",
    "error",
)
OUTBOX_STATES = (Outcome.QUEUED, Outcome.SENDING)


class OutboxState(Protocol):
    """What the metrics read of the outbox (`smsbot.store.OutboxState`)."""

    @property
    def queued(self) -> int: ...

    @property
    def sending(self) -> int: ...

    @property
    def oldest_queued(self) -> datetime | None: ...


class KpnState(Protocol):
    """What the metrics read of the KPN client (`smsbot.kpn.client.KpnClient`)."""

    @property
    def health(self) -> Any: ...  # smsbot.kpn.health.KpnHealth

    @property
    def last_quota(self) -> Any: ...  # smsbot.kpn.models.Quota | None


class SlackConnectionState(Protocol):
    @property
    def connected(self) -> bool: ...


class _WithoutCreated:
    """A registry's metrics without the `_created` samples."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self._registry.collect():
            metric.samples = [s for s in metric.samples if not s.name.endswith("_created")]
            yield metric


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.clock = clock
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.sends = Counter(
            "smsbot_sends",
            "SMS requests by surface and final outcome",
            ["surface", "outcome"],
            registry=self.registry,
        )
        _start_at_zero(
            self.sends,
            ((s, o) for s in Surface for o in Outcome if o.is_final),
        )
        self.kpn_latency = Histogram(
            "smsbot_kpn_request_seconds",
            "Time for one KPN send call, retries included",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "smsbot_slack_ack_seconds",
            "Time from receiving a Slack request to acknowledging it",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.alerts = Counter(
            "smsbot_alerts",
            "Alert notifications received, by source and what became of them",
            ["source", "result"],
            registry=self.registry,
        )
        _start_at_zero(self.alerts, ((s, r) for s in ALERT_SOURCES for r in ALERT_RESULTS))
        self.deliveries = Counter(
            "smsbot_deliveries",
            "SMS whose delivery reports reached a final state, by that state",
            ["status"],
            registry=self.registry,
        )
        _start_at_zero(self.deliveries, ((d,) for d in Delivery if d.is_final))
        self.inbound = Counter(
            "smsbot_inbound",
            "SMS phones sent to the reply number, by what became of them (threaded, posted, "
            "logged, dropped, limited, handled, failed)",
            ["outcome"],
            registry=self.registry,
        )
        _start_at_zero(
            self.inbound, ((o,) for o in InboundOutcome if o is not InboundOutcome.RECEIVED)
        )
        self.delivery_latency = Histogram(
            "smsbot_delivery_seconds",
            "Time from an SMS's request to its delivery report saying delivered",
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self.outbox_rows = Gauge(
            "smsbot_outbox_rows",
            "Outbox rows by state (queued: waiting to be sent; sending: handed to KPN), "
            "of every replica sharing the database",
            ["state"],
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "smsbot_outbox_oldest_queued_age_seconds",
            "How long the oldest row still queued has waited (0 when none is queued)",
            registry=self.registry,
        )
        self.kpn_reachable = Gauge(
            "smsbot_kpn_reachable",
            "1 when KPN answered this process's last request, 0 when it did not (no answer, "
            "or a 5xx); NaN before the first request",
            registry=self.registry,
        )
        self.kpn_reachable.set(math.nan)
        self.kpn_last_error = Gauge(
            "smsbot_kpn_last_error_timestamp_seconds",
            "Unix time of this process's last failed request to KPN (no answer, 5xx, 429, or "
            "credentials refused); 0 if none yet",
            registry=self.registry,
        )
        self.kpn_quota_limit = Gauge(
            "smsbot_kpn_quota_limit",
            "KPN's quota-limit header, as last seen (NaN: not seen yet)",
            registry=self.registry,
        )
        self.kpn_quota_used = Gauge(
            "smsbot_kpn_quota_used",
            "KPN's quota-used header, as last seen (NaN: not seen yet)",
            registry=self.registry,
        )
        for gauge in (self.kpn_quota_limit, self.kpn_quota_used):
            gauge.set(math.nan)

    def render(self) -> bytes:
        return generate_latest(_WithoutCreated(self.registry))  # type: ignore[arg-type]


class ScrapeReadings:
    """What `/metrics` reads from other parts at each scrape, into `metrics`' gauges: the outbox
    (`outbox`, e.g. `store.outbox_state`), the KPN client's reachability and quota (`kpn`), and
    the Socket Mode connection (`slack`; HTTP mode has no connection to show). Built after the
    parts it reads, which count into `metrics` and so are built after it."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        outbox: Callable[[], Awaitable[OutboxState]] | None = None,
        kpn: KpnState | None = None,
        slack: SlackConnectionState | None = None,
    ) -> None:
        self.metrics = metrics
        self._outbox = outbox
        self._kpn = kpn
        if outbox is not None:
            for state in OUTBOX_STATES:
                metrics.outbox_rows.labels(str(state)).set(0)
        if slack is not None:
            gauge = Gauge(
                "smsbot_slack_connected",
                "Socket Mode: 1 when Slack greeted the open websocket and it answers pings, else 0",
                registry=metrics.registry,
            )
            gauge.set_function(lambda: 1.0 if slack.connected else 0.0)

    async def refresh(self) -> None:
        """Read what is watched; a reader that fails or hangs leaves its last value (and is
        logged), the scrape still answers."""
        if self._kpn is not None:
            self._read_kpn(self._kpn)
        if self._outbox is not None:
            try:
                async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                    await self._read_outbox(self._outbox)
            except Exception:
                log.warning("a metrics reader failed; its values are stale", exc_info=True)

    async def _read_outbox(self, read: Callable[[], Awaitable[OutboxState]]) -> None:
        metrics = self.metrics
        state = await read()
        metrics.outbox_rows.labels(str(Outcome.QUEUED)).set(state.queued)
        metrics.outbox_rows.labels(str(Outcome.SENDING)).set(state.sending)
        age = 0.0
        if state.oldest_queued is not None:
            age = max(0.0, (metrics.clock() - state.oldest_queued).total_seconds())
        metrics.outbox_oldest_age.set(age)

    def _read_kpn(self, kpn: KpnState) -> None:
        metrics = self.metrics
        health = kpn.health
        if health.reachable is not None:
            metrics.kpn_reachable.set(1 if health.reachable else 0)
        if health.last_error_at is not None:
            metrics.kpn_last_error.set(health.last_error_at.timestamp())
        quota = kpn.last_quota
        if quota is not None:
            if quota.limit is not None:
                metrics.kpn_quota_limit.set(quota.limit)
            if quota.used is not None:
                metrics.kpn_quota_used.set(quota.used)


def _start_at_zero(counter: Counter, label_values: Iterable[tuple[Any, ...]]) -> None:
    for values in label_values:
        counter.labels(*(str(v) for v in values))
