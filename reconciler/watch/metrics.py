"""What `groupctl watch` counts, for Prometheus at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics


class Metrics:
    """The counters, in a registry of their own (not the process-wide default)."""

    def __init__(self) -> None:
        # The *_created series say nothing anyone graphs. (The library leaves it untyped.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "groupctl_webhooks",
            "Webhook deliveries, by what became of them.",
            ["result"],
            registry=self.registry,
        )
        self.reading = Gauge(
            "groupctl_webhooks_reading",
            "Deliveries being read now (the rest are answered 503 while all slots are taken).",
            registry=self.registry,
        )
        self.checks = Counter(
            "groupctl_group_checks", "Groups re-read and re-planned.", registry=self.registry
        )
        self.drift = Counter(
            "groupctl_drift",
            "Checks that found a group drifted.",
            ["group"],
            registry=self.registry,
        )
        self.heals = Counter(
            "groupctl_heals",
            "Self-heal attempts, by outcome.",
            ["group", "result"],
            registry=self.registry,
        )
        self.queue = Gauge(
            "groupctl_queue_groups", "Groups waiting to be checked.", registry=self.registry
        )
        self.resyncs = Counter(
            "groupctl_resyncs", "Checks of every managed group.", registry=self.registry
        )
        self.session_connected = Gauge(
            "groupctl_session_connected",
            "1 while the session is CONNECTED, as last reported.",
            registry=self.registry,
        )
        self.session_status = Gauge(
            "groupctl_session_status",
            "The session's last reported status and reason (the one series at 1).",
            ["status", "reason"],
            registry=self.registry,
        )
        self.healing_paused = Gauge(
            "groupctl_healing_paused",
            "1 while heals are not written: the session is not connected, or banned.",
            registry=self.registry,
        )
