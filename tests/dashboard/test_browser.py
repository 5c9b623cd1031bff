"""The dashboard in a real browser: sign in by the form, charts drawn, the API's figures shown,
keyboard and phone width usable; a screenshot of each page under var/screenshots/.

One module-wide live server on SQLite (the pages read the same services on both databases,
which the TestClient tests cover); few and quick, the browser being the slow part."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app import migrate
from app.config import Settings
from app.db import build_engine
from app.main import create_app
from tests.conftest import DEFAULT_NOW, SettableClock, fresh_database_url
from tests.dashboard.browser import chromium_context, painted_pixels, screenshot
from tests.dashboard.conftest import DemoWorkspace, load_small_demo
from tests.live import live_server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DemoWorkspace]]:
    url = fresh_database_url("sqlite", tmp_path_factory)
    engine = build_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    engine.dispose()
    demo = load_small_demo(url)
    app = create_app(demo.settings, clock=SettableClock(DEFAULT_NOW))
    with live_server(app) as base:
        yield base, demo


def sign_in(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/dashboard")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dashboard")


def test_the_overview_draws_its_charts_and_shows_the_apis_figures(
    site: tuple[str, DemoWorkspace],
) -> None:
    base, demo = site
    with chromium_context(viewport={"width": 1280, "height": 900}) as browser:
        page = browser.new_page()
        sign_in(page, base, demo.read_key)
        page.get_by_label("Period").select_option("last_fiscal_year")
        page.get_by_label("Model").select_option("first_touch")
        page.get_by_role("button", name="Show").click()
        page.wait_for_selector("canvas#trend-revenue[data-rendered=true]")
        for stage in ("pipeline", "revenue"):
            assert painted_pixels(page, f"canvas#trend-{stage}") > 1000
        shown = page.eval_on_selector_all(
            "li.card[data-amount-minor]",
            "cards => cards.map(c => [c.dataset.figure, Number(c.dataset.amountMinor)])",
        )
        summary = httpx.get(
            f"{base}/v1/reports/summary",
            params={"period": "last_fiscal_year", "model": "first_touch"},
            headers={"Authorization": f"Bearer {demo.read_key}"},
        ).json()
        assert {name: amount for name, amount in shown} == {
            f"{stage}.{measure}": summary[stage][measure]["amount_minor"]
            for stage in ("pipeline", "revenue")
            for measure in ("total", "influenced", "sourced", "accelerated", "attributed")
        }
        page.get_by_text("Table: every figure of the period").click()
        assert page.locator("#summary-table").is_visible()
        screenshot(page, "overview")


def test_the_overview_works_by_keyboard_and_at_phone_width(
    site: tuple[str, DemoWorkspace],
) -> None:
    base, demo = site
    with chromium_context(viewport={"width": 390, "height": 844}, is_mobile=True) as browser:
        page = browser.new_page()
        sign_in(page, base, demo.read_key)
        page.wait_for_selector("canvas#trend-pipeline[data-rendered=true]")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.locator("details.table summary").first.focus()
        page.keyboard.press("Enter")
        assert page.locator("details.table").first.evaluate("d => d.open")
        screenshot(page, "overview-phone")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{base}/dashboard/sign-in")
        screenshot(page, "sign-in")


def test_where_it_comes_from_draws_every_chart(site: tuple[str, DemoWorkspace]) -> None:
    base, demo = site
    with chromium_context(viewport={"width": 1280, "height": 900}) as browser:
        page = browser.new_page()
        sign_in(page, base, demo.read_key)
        page.get_by_role("link", name="Where it comes from").click()
        page.wait_for_selector("canvas#models[data-rendered=true]")
        for chart in ("by-category", "by-activity-type", "by-program", "models"):
            assert painted_pixels(page, f"canvas#{chart}") > 1000, chart
        screenshot(page, "sources")


def test_every_other_page_renders_and_the_admin_page_is_for_admins(
    site: tuple[str, DemoWorkspace],
) -> None:
    base, demo = site
    with chromium_context(viewport={"width": 1280, "height": 900}) as browser:
        page = browser.new_page()
        sign_in(page, base, demo.admin_key)
        page.get_by_role("link", name="Does it work").click()
        page.wait_for_selector("canvas#net-retention[data-rendered=true]")
        for chart in ("win-rates", "net-retention"):
            assert painted_pixels(page, f"canvas#{chart}") > 1000, chart
        screenshot(page, "impact")
        page.get_by_role("link", name="One deal").click()
        page.get_by_label("Opportunity name or CRM id").fill("a")
        page.get_by_role("button", name="Find").click()
        page.locator("ul.found a").first.click()
        page.wait_for_selector("canvas[data-rendered=true]")
        assert painted_pixels(page, "canvas[data-rendered=true]") > 500
        screenshot(page, "deal")
        page.get_by_role("link", name="Data quality").click()
        page.wait_for_selector("#members")
        screenshot(page, "quality")
        page.get_by_role("link", name="Admin").click()
        page.wait_for_selector("table[data-report=runs]")
        screenshot(page, "admin")
        sign_out_and_in(page, base, demo.read_key)
        assert page.get_by_role("link", name="Admin").count() == 0
        answer = page.goto(f"{base}/dashboard/admin")
        assert answer is not None and answer.status == 403
        screenshot(page, "admin-read-key")


def sign_out_and_in(page: Any, base: str, key: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/dashboard/sign-in")
    sign_in(page, base, key)
