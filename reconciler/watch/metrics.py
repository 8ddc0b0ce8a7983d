"""What `groupctl watch` counts, for Prometheus at /metrics.

A watch of one session serves its `Metrics` as they are. A watch of several serves them in one
registry (`SessionsMetrics`): each session's series with a `session` label first, and the
deliveries counted once, by the session they were handed to and what became of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.metrics_core import Metric

# The intake's families: one listener's, not a session's.
WEBHOOKS = "groupctl_webhooks"
READING = "groupctl_webhooks_reading"
_WEBHOOKS_HELP = "Webhook deliveries, by what became of them."
_READING_HELP = "Deliveries being read now (the rest are answered 503 while all slots are taken)."


class Metrics:
    """The counters, in a registry of their own (not the process-wide default)."""

    def __init__(self) -> None:
        # The *_created series say nothing anyone graphs. (The library leaves it untyped.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.webhooks = Counter(WEBHOOKS, _WEBHOOKS_HELP, ["result"], registry=self.registry)
        self.reading = Gauge(READING, _READING_HELP, registry=self.registry)
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


class SessionsMetrics:
    """The metrics of a watch of several sessions, in one registry: the deliveries, by the
    session they were handed to ("" for none) and what became of them; the deliveries being
    read; and each session's own series (its `Metrics`), labelled with its name."""

    def __init__(self, sessions: Mapping[str, Metrics]) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            WEBHOOKS, _WEBHOOKS_HELP, ["session", "result"], registry=self.registry
        )
        self.reading = Gauge(READING, _READING_HELP, registry=self.registry)
        self.registry.register(_Labelled(sessions))


class _Labelled:
    """Each session's series, with a `session` label, a family for each name (the
    Prometheus text format has one HELP and TYPE per name)."""

    def __init__(self, sessions: Mapping[str, Metrics]) -> None:
        self._sessions = dict(sessions)

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for name, metrics in self._sessions.items():
            for family in metrics.registry.collect():
                if family.name in (WEBHOOKS, READING):  # counted by the listener instead
                    continue
                merged = families.setdefault(
                    family.name,
                    Metric(family.name, family.documentation, family.type, family.unit),
                )
                merged.samples += [
                    sample._replace(labels={"session": name, **sample.labels})
                    for sample in family.samples
                ]
        return list(families.values())
