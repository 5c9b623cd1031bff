"""/docs, /redoc and /openapi.json are served from local files (no CDN at run time), and one setting
switches all of them off (issue 10)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

PAGES = ("/docs", "/redoc")


class _Resources(HTMLParser):
    """Every URL a page makes the browser fetch: scripts, styles, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href", "spec-url"):
            if found.get(name):
                self.urls.append(str(found[name]))


def resources(html: str) -> list[str]:
    parser = _Resources()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_fetches_everything_from_the_service_itself(
    client: TestClient, page: str
) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    urls = resources(answer.text)
    assert any(url.endswith(".js") for url in urls)
    assert [url for url in urls if not url.startswith("/")] == []  # nothing from another host
    assert re.findall(r"https?://", answer.text) == []
    for url in urls:
        fetched = client.get(url)
        assert fetched.status_code == 200, url
        assert len(fetched.content) > 0, url


def test_swagger_ui_sends_the_document_to_no_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_openapi_document_is_served(client: TestClient) -> None:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["info"]["title"] == "community-attribution"


def test_one_setting_switches_off_both_pages_the_document_and_their_files(
    database_url: str, client: TestClient
) -> None:
    assets = [url for page in PAGES for url in resources(client.get(page).text)]
    settings = Settings(database_url=database_url, api_docs=False)
    with TestClient(create_app(settings)) as dark:
        for path in [*PAGES, "/openapi.json", "/docs/oauth2-redirect", *assets]:
            assert dark.get(path).status_code == 404, path
        assert dark.get("/healthz").status_code == 200
