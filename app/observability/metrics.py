"""Prometheus metrics of the HTTP API, served with everything else on the default registry.

Metric objects live at module level, as prometheus-client intends: the registry is process-wide and
a second definition of one name is an error, however many apps a process builds (tests build many).
Other modules (e.g. job metrics) register their metrics or collectors on the default ``REGISTRY``;
``GET /metrics`` serves all of it.

``commattr serve`` with several processes sets ``PROMETHEUS_MULTIPROC_DIR`` before they start, and
prometheus-client then keeps counters and histograms in files there: ``/metrics`` adds up every
process's files, and adds the metrics only the answering process knows (custom collectors that
read the database, the process's own CPU and memory).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "commattr_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "commattr_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    labels = {"method": method, "route": route, "status": str(status)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_DURATION.labels(**labels).observe(seconds)


class _AllProcesses:
    """Every process's counters and histograms, then this process's other metrics."""

    def __init__(self, path: str) -> None:
        self._files = MultiProcessCollector(None, path=path)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        shared = list(self._files.collect())  # type: ignore[no-untyped-call]
        covered = {metric.name for metric in shared}
        yield from shared
        yield from (metric for metric in REGISTRY.collect() if metric.name not in covered)


def exposition() -> tuple[bytes, str]:
    """The body and content type of ``GET /metrics``."""
    path = os.environ.get(MULTIPROCESS_VARIABLE)
    collector = _AllProcesses(path) if path else REGISTRY
    return generate_latest(collector), CONTENT_TYPE_LATEST
