"""Prometheus metrics of one app instance (its own registry, so tests can build many apps).

With several worker processes each one reports its own counters; scrape every worker or put
them behind one port and read the sums (documented in the README)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "chaincredit_http_requests_total", "HTTP requests", ("method", "route", "status"), registry=r
        )
        self.latency = Histogram(
            "chaincredit_http_request_seconds",
            "HTTP request latency",
            ("route",),
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=r,
        )
        self.scores_served = Counter("chaincredit_scores_served_total", "Scores served", registry=r)
        self.audit_records = Counter(
            "chaincredit_audit_records_total", "Audit records committed", registry=r
        )
        self.audit_commits = Counter("chaincredit_audit_commits_total", "Audit group commits", registry=r)
        self.model_generation = Gauge(
            "chaincredit_model_generation", "Generation of the model_state row seen", registry=r
        )
        self.rate_limited = Counter("chaincredit_rate_limited_total", "Requests refused with 429", registry=r)

    def audit_committed(self, n: int) -> None:
        self.audit_records.inc(n)
        self.audit_commits.inc()
