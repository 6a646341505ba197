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
connection) are read when `/metrics` is scraped: `await metrics.refresh()` runs the readers
registered with `watch_*`, each bounded in time, then `render()`.
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
        self._readers: list[Callable[[], Awaitable[None]]] = []
        self._syncs: list[Callable[[], None]] = []
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

    # -- readers of state kept elsewhere -------------------------------------------------------

    def watch_outbox(self, read: Callable[[], Awaitable[OutboxState]]) -> None:
        """Read the outbox (e.g. `store.outbox_state`) at every scrape."""

        async def refresh() -> None:
            state = await read()
            self.outbox_rows.labels(str(Outcome.QUEUED)).set(state.queued)
            self.outbox_rows.labels(str(Outcome.SENDING)).set(state.sending)
            age = 0.0
            if state.oldest_queued is not None:
                age = max(0.0, (self.clock() - state.oldest_queued).total_seconds())
            self.outbox_oldest_age.set(age)

        for state in OUTBOX_STATES:
            self.outbox_rows.labels(str(state)).set(0)
        self._readers.append(refresh)

    def watch_kpn(self, kpn: KpnState) -> None:
        """Read the KPN client's reachability and quota at every scrape."""

        def refresh() -> None:
            health = kpn.health
            if health.reachable is not None:
                self.kpn_reachable.set(1 if health.reachable else 0)
            if health.last_error_at is not None:
                self.kpn_last_error.set(health.last_error_at.timestamp())
            quota = kpn.last_quota
            if quota is not None:
                if quota.limit is not None:
                    self.kpn_quota_limit.set(quota.limit)
                if quota.used is not None:
                    self.kpn_quota_used.set(quota.used)

        self._syncs.append(refresh)

    def watch_slack(self, connection: SlackConnectionState) -> None:
        """Export the Socket Mode connection's state (HTTP mode has no connection to show)."""
        gauge = Gauge(
            "smsbot_slack_connected",
            "Socket Mode: 1 when Slack greeted the open websocket and it answers pings, else 0",
            registry=self.registry,
        )
        gauge.set_function(lambda: 1.0 if connection.connected else 0.0)

    async def refresh(self) -> None:
        """Read what the `watch_*` readers watch; a reader that fails or hangs leaves its last
        value (and is logged), the scrape still answers."""
        for sync in self._syncs:
            sync()
        for read in self._readers:
            try:
                async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                    await read()
            except Exception:
                log.warning("a metrics reader failed; its values are stale", exc_info=True)

    def render(self) -> bytes:
        return generate_latest(_WithoutCreated(self.registry))  # type: ignore[arg-type]


def _start_at_zero(counter: Counter, label_values: Iterable[tuple[Any, ...]]) -> None:
    for values in label_values:
        counter.labels(*(str(v) for v in values))
