"""`catalog serve`: a real server on 127.0.0.1 that rebuilds when a source file changes."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitrepo_fixtures import GitCatalog
from integration_catalog import serve as serve_module
from integration_catalog.build import BuildResult
from integration_catalog.cli import main
from integration_catalog.serve import ServeOptions, serve, snapshot, start_server
from integration_catalog.site.render import template_dir


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(condition: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def catalog(tmp_path: Path) -> GitCatalog:
    repo = GitCatalog(tmp_path / "catalog")
    repo.write(
        "integrations/acme/widgets/integration.yaml",
        'name: "Widget Sync"\nworkspaceId: "ws"\nvisibility: public\n',
    )
    repo.commit("2025-01-01T00:00:00Z")
    repo.tag("acme/widgets/v1.0.0")
    return repo


def test_serve_builds_serves_and_rebuilds_on_change(catalog: GitCatalog, tmp_path: Path) -> None:
    urls: list[str] = []
    outcomes: list[BuildResult | Exception] = []
    stop = threading.Event()
    options = ServeOptions(root=catalog.root, out=tmp_path / "out", port=0)
    thread = threading.Thread(target=serve, args=(options, outcomes.append, urls.append, stop))
    thread.start()
    try:
        wait_for(lambda: urls)
        (url,) = urls
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        status, home = fetch(url)
        assert status == 200 and "Widget Sync" in home
        status, page = fetch(url + "integrations/acme/widgets/")
        assert status == 200 and "<h1>Widget Sync</h1>" in page
        status, missing = fetch(url + "no/such/page/")
        assert status == 404 and "Page not found" in missing
        assert url + "sitemap.xml" in fetch(url + "robots.txt")[1]

        catalog.write(
            "integrations/acme/widgets/integration.yaml",
            'name: "Widget Sync Pro"\nworkspaceId: "ws"\nvisibility: public\n',
        )
        wait_for(lambda: "Widget Sync Pro" in fetch(url + "integrations/acme/widgets/")[1])

        catalog.write("integrations/acme/widgets/integration.yaml", "name: [broken\n")
        wait_for(lambda: isinstance(outcomes[-1], BuildResult) and outcomes[-1].written is None)
        assert "Widget Sync Pro" in fetch(url + "integrations/acme/widgets/")[1]  # still served
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_snapshot_watches_the_sources_and_templates(catalog: GitCatalog) -> None:
    watched = snapshot(catalog.root)
    assert str(catalog.root / "catalog.yaml") in watched
    assert str(catalog.root / "integrations/acme/widgets/integration.yaml") in watched
    assert any(path.endswith("templates/base.html") for path in watched)


def test_the_server_serves_a_prefix_only(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("home")
    (tmp_path / "404.html").write_text("not here")
    server = start_server(tmp_path, 0, prefix="/docs/")
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert fetch(base + "/docs/") == (200, "home")
        assert fetch(base + "/index.html") == (404, "not here")
    finally:
        server.shutdown()
        server.server_close()


def test_the_serve_command_parses_its_options(
    catalog: GitCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[ServeOptions] = []

    def fake(options: ServeOptions, report: object, announce: object) -> None:
        seen.append(options)

    monkeypatch.setattr(serve_module, "serve", fake)
    result = CliRunner().invoke(
        main,
        ["--root", str(catalog.root), "serve", "--port", "8123", "--out", "preview"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert seen == [
        ServeOptions(root=catalog.root.resolve(), out=catalog.root.resolve() / "preview", port=8123)
    ]


def _worker_pids() -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def test_serve_keeps_its_workers_through_a_failed_rebuild(
    catalog: GitCatalog, tmp_path: Path
) -> None:
    # Its server's threads run: workers forked now could inherit a lock a thread holds.
    templates = catalog.root / "templates"
    shutil.copytree(template_dir(tmp_path / "nowhere"), templates)
    page = templates / "integration.html"
    outcomes: list[BuildResult | Exception] = []
    urls: list[str] = []
    stop = threading.Event()
    options = ServeOptions(root=catalog.root, out=tmp_path / "out", port=0)
    thread = threading.Thread(target=serve, args=(options, outcomes.append, urls.append, stop))
    before = _worker_pids()
    thread.start()
    try:
        wait_for(lambda: urls)
        workers = _worker_pids() - before
        assert workers  # (one set, forked before the server started)
        original = page.read_text()
        page.write_text(original.replace("</h1>", "{{ no_such_value }}</h1>", 1))
        wait_for(lambda: len(outcomes) > 1)
        assert isinstance(outcomes[-1], Exception)  # made on a worker, which failed
        page.write_text(original.replace("</h1>", " (edited)</h1>", 1))
        wait_for(lambda: isinstance(outcomes[-1], BuildResult))
        assert "(edited)" in fetch(urls[0] + "integrations/acme/widgets/")[1]
        assert _worker_pids() - before == workers
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
