"""Prometheus metrics, one registry per app so that several apps can live in one process."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's own counters and histograms plus the process collectors.

    Attributes:
        registry: The registry `/metrics` renders.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.http_requests = Counter(
            "docqa_http_requests",
            "HTTP requests by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "docqa_http_request_duration_seconds",
            "Wall time of HTTP requests by route template.",
            ("route",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.query_latency = Histogram(
            "docqa_query_latency_seconds",
            "Time spent answering one question (retrieval + answer selection), by endpoint.",
            ("endpoint",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queries = Counter(
            "docqa_queries", "Questions answered, by endpoint.", ("endpoint",), registry=self.registry
        )
        self.abstentions = Counter(
            "docqa_abstentions",
            "Questions the corpus did not answer (abstained), by endpoint.",
            ("endpoint",),
            registry=self.registry,
        )
        self.clarifications = Counter(
            "docqa_clarifications",
            "Answers that offered a clarification for an ambiguous acronym, by endpoint.",
            ("endpoint",),
            registry=self.registry,
        )
        self.reloads = Counter(
            "docqa_index_reloads", "Index (re)loads by outcome.", ("outcome",), registry=self.registry
        )
        self.rate_limited = Counter(
            "docqa_rate_limited", "Requests refused by the rate limiter.", registry=self.registry
        )
        self.documents = Gauge(
            "docqa_index_documents", "Documents in the loaded index.", registry=self.registry
        )
        self.sessions = Gauge("docqa_chat_sessions", "Live chat sessions.", registry=self.registry)

    def observe_answer(self, endpoint: str, seconds: float, abstained: bool, clarified: bool) -> None:
        """Record one answered question."""
        self.queries.labels(endpoint).inc()
        self.query_latency.labels(endpoint).observe(seconds)
        if abstained:
            self.abstentions.labels(endpoint).inc()
        if clarified:
            self.clarifications.labels(endpoint).inc()

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
