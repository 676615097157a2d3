"""The dashboard in a real browser: headless Chromium (Debian's package) driven by Playwright.

Needs ``pip install playwright`` (in the dev extra; no ``playwright install``: the test
uses the system's /usr/bin/chromium) and ``apt-get install chromium``. Outside CI a
missing one skips with that hint; with CI set it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from benchgate.store.series import Refresh, Series
from benchgate.trend.analyze import analyze
from benchgate.trend.dashboard import build_site, slug
from test_trend import make_series, noise, steps
from test_trend_cli import EVIL

CHROMIUM = os.environ.get("BENCHGATE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = (
    Path(os.environ.get("BENCHGATE_SCREENSHOTS", ""))
    if os.environ.get("BENCHGATE_SCREENSHOTS")
    else None
)


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set: .ci/run must install it)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright  # heavy optional dependency
    except ImportError:
        _missing("playwright is not installed: pip install playwright (or -e '.[dashboard-test]')")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _missing(f"chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def site_series() -> list[Series]:
    reg = make_series(steps([(70, 1000.0), (30, 860.0)], seed=1), key="codec.encode_MBps")
    reg = Series(
        **{
            **reg.__dict__,
            "refreshes": (Refresh(reg.points[20].commit, reg.points[20].time, 1000.0, "deps"),),
        }
    )
    lat = make_series(noise(60, 2, level=5.0), key="codec.latency_ms", higher_is_better=False)
    evil = make_series(noise(40, 3), key=EVIL)
    return [reg, lat, evil]


def test_dashboard_in_chromium(browser: Any, tmp_path: Path) -> None:
    series = site_series()
    site = tmp_path / "site"
    build_site([analyze(s) for s in series], site)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Offline: any request that is not a local file fails the test.
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto((site / "index.html").as_uri())
    links = page.locator("#metrics tbody tr td.key a")
    assert sorted(links.all_inner_texts()) == sorted(s.key for s in series)
    assert page.locator("svg.spark").count() == 3
    assert "WARN" in page.locator("#metrics").inner_text()  # -14% against the baseline
    if SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / "dashboard-index.png"), full_page=True)
    page.fill("#filter", "latency")
    assert page.locator("#metrics tbody tr:visible").count() == 1

    page.goto((site / "metrics" / f"{slug(series[0].key)}.html").as_uri())
    page.wait_for_function("window.benchgatePlot !== undefined")
    assert page.evaluate("window.benchgatePlot.data[0].length") == 100
    assert page.evaluate("window.benchgatePlot.data[1].length") == 100
    markers = page.evaluate("window.benchgateMarkers")
    cps = [m for m in markers if m["kind"] == "change_point"]
    assert [m["index"] for m in cps] == [70] and cps[0]["worse"] is True
    assert [m["index"] for m in markers if m["kind"] == "refresh"] == [20]
    # The marker is drawn inside the plot area.
    width = page.evaluate("window.benchgatePlot.bbox.left + window.benchgatePlot.bbox.width")
    assert 0 < cps[0]["x"] < width
    # Hover over a point: the tooltip names its commit, value and spread.
    over = page.locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tip = page.locator(".tip")
    tip.wait_for(state="visible")
    assert "commit " in tip.inner_text() and "spread " in tip.inner_text()
    shot = (SCREENSHOTS or tmp_path) / "dashboard-metric.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # The page of the hostile key renders its key as text and runs no injected script.
    page.goto((site / "metrics" / f"{slug(EVIL)}.html").as_uri())
    page.wait_for_function("window.benchgatePlot !== undefined")
    assert page.locator("h1").inner_text() == EVIL
    assert page.evaluate("window.benchgatePlot.data[0].length") == 40

    assert errors == []
    assert all(u.startswith("file://") for u in requests), requests
