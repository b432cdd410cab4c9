"""Browser tests: the sample catalog built once per session into a real git repository, served
by a real http.server on 127.0.0.1, and driven with Playwright through Debian's chromium.

Without /usr/bin/chromium the tests are skipped, unless CI is set: then they fail."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from browsing import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PREFIX, Site, Tab, make_sample, new_tab
from click.testing import CliRunner
from playwright.sync_api import Browser, Playwright, sync_playwright

from integration_catalog.cli import main
from integration_catalog.serve import start_server


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample(tmp_path_factory.mktemp("sample") / "catalog")


def _build(root: Path, out: Path, base_url: str) -> None:
    result = CliRunner().invoke(
        main,
        ["--root", str(root), "build", "--out", str(out), "--base-url", base_url],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def site(sample_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample site at the root of a server."""
    out = tmp_path_factory.mktemp("site") / "out"
    server = start_server(out, 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    _build(sample_catalog, out, url)
    yield Site(url, out)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def prefixed_site(sample_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample site built for /some/prefix/ and served from the directory above it."""
    parent = tmp_path_factory.mktemp("served")
    server = start_server(parent, 0)
    url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    out = parent / PREFIX.strip("/")
    _build(sample_catalog, out, url)
    yield Site(url, out)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing: `apt-get install chromium`")
        pytest.skip(f"{CHROMIUM} is not installed (`apt-get install chromium`); in CI this fails")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, so fixtures know whether it failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def open_tab(
    browser: Browser, site: Site, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Tab]]:
    """Opens tabs; on failure each one leaves a screenshot in tests/_artifacts/."""
    tabs: list[Tab] = []
    icons = site.icons()

    def open_(**options: object) -> Tab:
        tab = new_tab(browser, icons, **options)  # type: ignore[arg-type]
        tabs.append(tab)
        return tab

    yield open_
    failed = any(r.failed for r in request.node.stash.get(REPORTS, {}).values())
    for number, tab in enumerate(tabs):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            tab.page.screenshot(path=str(ARTIFACTS / f"{name}-{number}.png"), full_page=True)
        tab.context.close()


@pytest.fixture
def tab(open_tab: Callable[..., Tab]) -> Tab:
    return open_tab()
