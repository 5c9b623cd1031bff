"""GET /metrics: Prometheus text with request counts and latency histograms by route template and
status; with several server processes, every scrape adds up all of them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Api

RUN_ROUTE = "/v1/attribution-runs/{run_id}"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_of(client: TestClient | httpx.Client, route: str, status: str) -> float:
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    labels = (("method", "GET"), ("route", route), ("status", status))
    return samples(scraped.text).get(("commattr_http_requests_total", labels), 0.0)


def test_requests_are_counted_and_timed_by_route_template_and_status(api: Api) -> None:
    before = requests_of(api.client, RUN_ROUTE, "404")
    for run_id in (101, 102, 103):
        assert api.get(f"/v1/attribution-runs/{run_id}").status_code == 404
    assert requests_of(api.client, RUN_ROUTE, "404") == before + 3
    text = api.client.get("/metrics").text
    labels = (("method", "GET"), ("route", RUN_ROUTE), ("status", "404"))
    assert samples(text)[("commattr_http_request_duration_seconds_count", labels)] >= 3
    assert "/v1/attribution-runs/101" not in text  # ids never become labels


def test_metrics_need_no_key_and_unknown_paths_share_one_label(api: Api) -> None:
    api.client.get("/no/such/path/1")
    api.client.get("/no/such/path/2")
    assert requests_of(api.client, "unmatched", "404") >= 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_with_two_server_processes_every_scrape_counts_both(tmp_path: Path) -> None:
    port = _free_port()
    database = f"sqlite:///{tmp_path / 'metrics.db'}"
    env = {
        **os.environ,
        "COMMATTR_DATABASE_URL": database,
        "COMMATTR_DATA_DIR": str(tmp_path),
        "COMMATTR_PORT": str(port),
        "COMMATTR_WEB_WORKERS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    commattr = str(Path(sys.executable).parent / "commattr")
    subprocess.run([commattr, "migrate"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([commattr, "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.5)
            time.sleep(5)  # the second process comes up too
            base = requests_of(client, "/healthz", "200")
            for _ in range(20):
                # a new connection each time, so both processes get some of them
                httpx.get(f"http://127.0.0.1:{port}/healthz")
            counts = {requests_of(client, "/healthz", "200") for _ in range(6)}
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert counts == {base + 20}
