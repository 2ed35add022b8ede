"""Prometheus metrics of one server, on ``GET /metrics``.

One registry per app (tests run several in a process). Routes are labelled by their
template (``/api/kbs/{name}/documents``), never by the raw path, so a scan of random
URLs cannot grow the label set; unmatched paths are ``other``. Index sizes, the queue
depth and model-worker restarts are read when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.answer import Answer

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a 10 ms search to a several-minute answer on a small CPU.
BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)
# Answer timings (app.answer) by the stage names the README uses.
STAGES = {
    "rewrite": "rewrite",
    "translate": "translate",
    "retrieve": "retrieve",
    "judge": "checks",
    "first_token": "generate_first_token",
    "generate": "generate_total",
    "total": "total",
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "notesqa_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "notesqa_request_seconds", "HTTP request time", ["route"], buckets=BUCKETS, registry=r
        )
        self.stages = Histogram(
            "notesqa_answer_stage_seconds",
            "Time of each answering stage",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self.answers = Counter("notesqa_answers", "Answers, refused or not", registry=r)
        self.refusals = Counter(
            "notesqa_refusals", "Refused answers by the stage that refused", ["stage"], registry=r
        )
        self.queue_wait = Histogram(
            "notesqa_queue_wait_seconds",
            "Time a question waited for its turn to generate",
            buckets=BUCKETS,
            registry=r,
        )
        self.pieces = Counter(
            "notesqa_generated_pieces", "Text pieces (about tokens) streamed", registry=r
        )
        self.builds = Histogram(
            "notesqa_build_seconds",
            "Background rebuilds by knowledge base and outcome",
            ["kb", "state"],
            buckets=BUCKETS,
            registry=r,
        )

    def watch(self, read: Callable[[], Iterable[Metric]]) -> None:
        """Add metrics computed at scrape time (index sizes, queue depth, restarts)."""
        self.registry.register(_Live(read))

    def answered(self, answer: Answer) -> None:
        self.answers.inc()
        if answer.refusal is not None:
            self.refusals.labels(answer.refusal.stage).inc()
        for key, name in STAGES.items():
            if key in answer.timings:
                self.stages.labels(name).observe(answer.timings[key])

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Live(Collector):
    def __init__(self, read: Callable[[], Iterable[Metric]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        return self._read()


def gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def counter(name: str, doc: str, value: float) -> Metric:
    family = CounterMetricFamily(name, doc)
    family.add_metric([], value)
    return family
