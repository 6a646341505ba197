"""Prometheus metrics, on a registry of their own per process (no import-time globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# From a send to the phone: seconds normally, minutes for a phone out of coverage.
DELIVERY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sends = Counter(
            "smsbot_sends",
            "SMS requests by surface and final outcome",
            ["surface", "outcome"],
            registry=self.registry,
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

        self.deliveries = Counter(
            "smsbot_deliveries",
            "SMS whose delivery reports reached a final state, by that state",
            ["status"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "smsbot_delivery_seconds",
            "Time from an SMS's request to its delivery report saying delivered",
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
