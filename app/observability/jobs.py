"""Job metrics, read from the database when /metrics is scraped.

Workers are other processes (often other machines) than the server that answers /metrics, so
their jobs are described by what the database holds, not by counters in a process: jobs by kind and
status, the durations of the jobs finished in the last day, the queue's depth and its oldest job's
age, the records the last day's sync runs read and wrote per object and action, and each
connection's last successful sync. Every figure is a gauge of the database's current state (a
pruned run or a deleted connection takes its jobs with it), and each scrape reads at most a day of
runs besides a few grouped counts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.models import AttributionRun, ImportJob, SyncRun

log = logging.getLogger(__name__)

WINDOW = timedelta(days=1)
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, float("inf"))
JOB_MODELS = (SyncRun, ImportJob, AttributionRun)
ACTIONS = ("read", "created", "updated", "deleted", "unchanged", "skipped")


class JobMetrics(Collector):
    """The collector on the default registry; it reads the database of the newest app that
    installed itself (one per process in production; tests build several in turn)."""

    def __init__(self) -> None:
        self._sources: list[tuple[sessionmaker[Session], Clock]] = []
        self.registered = False

    def install(self, factory: sessionmaker[Session], clock: Clock) -> Callable[[], None]:
        source = (factory, clock)
        self._sources.append(source)
        return lambda: self._sources.remove(source)

    def describe(self) -> Iterable[Metric]:
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        if not self._sources:
            return []
        factory, clock = self._sources[-1]
        try:
            with factory() as session:
                return list(_measure(session, clock()))
        except Exception:  # a scrape never fails for them: the database may be down
            log.warning("job metrics unavailable", exc_info=True)
            return []


_METRICS = JobMetrics()


def install(factory: sessionmaker[Session], clock: Clock) -> Callable[[], None]:
    """Report the jobs of this database on /metrics (the collector joins the default registry
    once per process); answers the call that stops it."""
    if not _METRICS.registered:
        REGISTRY.register(_METRICS)
        _METRICS.registered = True
    return _METRICS.install(factory, clock)


class _Families(NamedTuple):
    jobs: GaugeMetricFamily
    durations: GaugeHistogramMetricFamily
    depth: GaugeMetricFamily
    oldest: GaugeMetricFamily
    records: GaugeMetricFamily
    last_success: GaugeMetricFamily


def _families() -> _Families:
    return _Families(
        jobs=GaugeMetricFamily(
            "commattr_jobs",
            "Sync runs, imports and attribution runs stored, by kind and status.",
            labels=["kind", "status"],
        ),
        durations=GaugeHistogramMetricFamily(
            "commattr_job_duration_seconds",
            "Run time of the jobs finished in the last 24 hours, by kind and outcome.",
            labels=["kind", "outcome"],
        ),
        depth=GaugeMetricFamily(
            "commattr_queue_depth", "Jobs waiting for a worker, by kind.", labels=["kind"]
        ),
        oldest=GaugeMetricFamily(
            "commattr_queue_oldest_age_seconds",
            "How long the oldest waiting job has waited, by kind (0: none waits).",
            labels=["kind"],
        ),
        records=GaugeMetricFamily(
            "commattr_sync_records",
            "Records of the sync runs started in the last 24 hours, by object and action "
            "(read, created, updated, deleted, unchanged, skipped).",
            labels=["object", "action"],
        ),
        last_success=GaugeMetricFamily(
            "commattr_sync_last_success_timestamp_seconds",
            "When each connection's last successful sync ended (Unix time).",
            labels=["workspace_id", "connection_id"],
        ),
    )


def _measure(session: Session, now: datetime) -> _Families:
    families = _families()
    for model in JOB_MODELS:
        kind = model.__tablename__
        for status, count in session.execute(
            select(model.status, func.count()).group_by(model.status)
        ):
            families.jobs.add_metric([kind, status], count)
        _add_durations(families.durations, session, model, now)
        waiting, since = session.execute(
            select(func.count(), func.min(model.created_at)).where(model.status == "queued")
        ).one()
        families.depth.add_metric([kind], waiting)
        families.oldest.add_metric([kind], (now - since).total_seconds() if since else 0.0)
    _add_records(families.records, session, now)
    for workspace_id, connection_id, ended in session.execute(
        select(SyncRun.workspace_id, SyncRun.connection_id, func.max(SyncRun.finished_at))
        .where(SyncRun.status == "succeeded", SyncRun.finished_at.is_not(None))
        .group_by(SyncRun.workspace_id, SyncRun.connection_id)
    ):
        if ended is not None:
            families.last_success.add_metric(
                [str(workspace_id), str(connection_id)], ended.timestamp()
            )
    return families


def _add_durations(
    family: GaugeHistogramMetricFamily,
    session: Session,
    model: type[SyncRun] | type[ImportJob] | type[AttributionRun],
    now: datetime,
) -> None:
    observed: dict[str, list[float]] = defaultdict(list)
    for status, started, ended in session.execute(
        select(model.status, model.started_at, model.finished_at).where(
            model.finished_at >= now - WINDOW, model.started_at.is_not(None)
        )
    ):
        if started is not None and ended is not None:
            observed[status].append(max((ended - started).total_seconds(), 0.0))
    for outcome, seconds in sorted(observed.items()):
        buckets = [
            (_bound(bound), float(sum(1 for s in seconds if s <= bound)))
            for bound in DURATION_BUCKETS
        ]
        family.add_metric([model.__tablename__, outcome], buckets, sum(seconds))


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _add_records(family: GaugeMetricFamily, session: Session, now: datetime) -> None:
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for (counts,) in session.execute(
        select(SyncRun.counts).where(
            or_(SyncRun.created_at >= now - WINDOW, SyncRun.status == "running")
        )
    ):
        for stream, by_action in (counts or {}).items():
            for action in ACTIONS:
                totals[stream, action] += by_action.get(action, 0)
    for (stream, action), total in sorted(totals.items()):
        family.add_metric([stream, action], total)
