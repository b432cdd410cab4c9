"""`catalog build --previous`: published versions are immutable. Each test makes real builds
from a real git repository into temporary directories; the URL form reads a previous build
served by `http.server` on 127.0.0.1.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from catalog_fixtures import (
    DAY,
    cli,
    integration,
    isolated_git,  # noqa: F401 - autouse
    release,
    write,
)
from gitrepo_fixtures import GitCatalog

WIDGET = "acme/widget"
TAG = "acme/widget/v1.0.0"
WIDGET_YAML = "integrations/acme/widget/integration.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    """acme/widget 1.0.0 and acme/gadget 2.0.0 published; acme/hidden unlisted, 1.0.0."""
    repo = GitCatalog(tmp_path / "repo")
    write(repo, WIDGET, integration("Widget", interval=15))
    write(repo, "acme/gadget", integration("Gadget"))
    write(repo, "acme/hidden", integration("Hidden", visibility="unlisted"))
    release(repo, DAY.format(1), TAG, "acme/gadget/v2.0.0", "acme/hidden/v1.0.0")
    return repo


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        del format, args


class _BrokenHandler(_QuietHandler):
    def do_GET(self) -> None:
        self.send_error(500)


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(directory)` -> the http://127.0.0.1:PORT/ URL serving it, until the test ends;
    `serve(directory, _BrokenHandler)` answers every request with HTTP 500."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(directory: Path, kind: type[_QuietHandler] = _QuietHandler) -> str:
        handler = functools.partial(kind, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def build(repo: GitCatalog, out: Path, *args: str) -> Result:
    return cli(repo.root, "build", "--out", str(out), *args)


def tree(path: Path) -> dict[str, bytes]:
    """Every file below `path` with its bytes."""
    return {
        file.relative_to(path).as_posix(): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def diagnostics_of(run: Result) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(run.stdout)["diagnostics"]
    return found


def versions_json(site: Path, key: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (site / f"api/v1/integrations/{key}/versions.json").read_bytes()
    )
    return loaded


def move_tag(repo: GitCatalog, tag: str, date: str) -> str:
    """Commit the work tree and force the tag onto the new commit; the commit's sha."""
    sha = repo.commit(date)
    repo.git("tag", "-f", tag)
    return sha


# -- a directory ------------------------------------------------------------------------------


def test_unchanged_and_growing_catalogs_pass(repo: GitCatalog, tmp_path: Path) -> None:
    first = tmp_path / "first"
    assert build(repo, first).exit_code == 0
    write(repo, WIDGET, integration("Widget", interval=30))
    write(repo, "acme/fresh", integration("Fresh"))
    release(repo, DAY.format(2), "acme/widget/v1.1.0", "acme/fresh/v0.1.0")

    for previous in (first, first / "api" / "v1", first / "api" / "v1" / ""):
        run = build(repo, tmp_path / "second", "--previous", str(previous), "--format", "json")
        assert run.exit_code == 0, previous
        assert diagnostics_of(run) == []
    versions = versions_json(tmp_path / "second", WIDGET)["versions"]
    assert [v["version"] for v in versions] == ["1.1.0", "1.0.0"]


def test_moved_tag_is_refused_and_the_previous_output_is_untouched(
    repo: GitCatalog, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    assert build(repo, site).exit_code == 0
    before = tree(site)
    published = repo.sha(TAG)
    write(repo, WIDGET, integration("Widget", interval=99))  # different published content
    moved = move_tag(repo, TAG, DAY.format(3))

    run = build(repo, site, "--previous", str(site))

    assert run.exit_code == 1
    assert f"{WIDGET_YAML}:1:1: error[published-version-changed]" in run.stdout
    assert (
        f"published version 1.0.0 (tag `{TAG}`) changed: it was commit {published[:12]} and is "
        f"now {moved[:12]}, with different content"
    ) in run.stdout
    assert f"move the tag back to {published}" in run.stdout
    assert f"--allow-republish {TAG}" in run.stdout
    assert "nothing was written" in run.stderr
    assert tree(site) == before  # byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "repo", "site"]

    run = build(repo, site, "--previous", str(site), "--format", "json")
    [changed] = diagnostics_of(run)
    assert (changed["code"], changed["path"], changed["line"], changed["column"]) == (
        "published-version-changed",
        WIDGET_YAML,
        1,
        1,
    )
    assert changed["severity"] == "error"
    assert tree(site) == before

    # Accepting another tag does not help; accepting this one does.
    other = build(repo, site, "--previous", str(site), "--allow-republish", "acme/gadget/v2.0.0")
    assert other.exit_code == 1
    assert tree(site) == before
    run = build(repo, site, "--previous", str(site), "--allow-republish", TAG)
    assert run.exit_code == 0
    [republished] = versions_json(site, WIDGET)["versions"]
    assert republished["commit"] == moved
    assert republished["manifest"]["defaults"] == {"interval": 99}


def test_a_tag_moved_to_identical_content_is_accepted(repo: GitCatalog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert build(repo, site).exit_code == 0
    write(repo, WIDGET, integration("Widget renamed", interval=15))  # name is not in the digest
    moved = move_tag(repo, TAG, DAY.format(3))

    run = build(repo, tmp_path / "next", "--previous", str(site), "--format", "json")

    assert run.exit_code == 0
    assert diagnostics_of(run) == []
    assert versions_json(tmp_path / "next", WIDGET)["versions"][0]["commit"] == moved


def test_deleted_tag_is_refused(repo: GitCatalog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert build(repo, site).exit_code == 0
    before = tree(site)
    commit = repo.sha("acme/gadget/v2.0.0")
    repo.git("tag", "-d", "acme/gadget/v2.0.0")

    run = build(repo, site, "--previous", str(site))

    assert run.exit_code == 1
    assert "integrations/acme/gadget/integration.yaml:1:1: error[published-version-removed]" in (
        run.stdout
    )
    assert (
        f"published version 2.0.0 (tag `acme/gadget/v2.0.0`, commit {commit[:12]}) is gone: "
        "its tag was deleted"
    ) in run.stdout
    assert f"restore the tag at {commit}, or yank the version instead" in run.stdout
    assert tree(site) == before

    run = build(repo, site, "--previous", str(site), "--allow-republish", "acme/gadget/v2.0.0")
    assert run.exit_code == 0
    assert versions_json(site, "acme/gadget")["versions"] == []


def test_yanking_instead_of_deleting_is_accepted(repo: GitCatalog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert build(repo, site).exit_code == 0
    write(repo, WIDGET, integration("Widget", yanked={"1.0.0": "breaks token refresh"}))
    release(repo, DAY.format(2))

    run = build(repo, tmp_path / "next", "--previous", str(site))

    assert run.exit_code == 0
    document = versions_json(tmp_path / "next", WIDGET)
    assert document["currentVersion"] is None
    assert document["versions"][0]["yanked"] == {"reason": "breaks token refresh"}


def test_published_integration_may_not_vanish_without_a_tombstone(
    repo: GitCatalog, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    assert build(repo, site).exit_code == 0
    before = tree(site)
    repo.remove("integrations/acme/gadget")
    release(repo, DAY.format(2))

    # Its tag still publishes it: it stays as a tombstone, which is fine.
    run = build(repo, tmp_path / "tombstone", "--previous", str(site))
    assert run.exit_code == 0
    record = json.loads((tmp_path / "tombstone/api/v1/integrations/acme/gadget.json").read_bytes())
    assert record["deletedAt"] == "2024-01-02T00:00:00Z"

    repo.git("tag", "-d", "acme/gadget/v2.0.0")  # now nothing is left of it
    run = build(repo, site, "--previous", str(site), "--format", "json")

    assert run.exit_code == 1
    [removed] = diagnostics_of(run)
    assert (removed["code"], removed["path"], removed["line"], removed["column"]) == (
        "published-integration-removed",
        "integrations/acme/gadget/integration.yaml",
        1,
        1,
    )
    assert removed["message"] == (
        "`acme/gadget` had published versions (2.0.0) and has disappeared without a tombstone "
        "(removed, or made private)"
    )
    assert "deletedAt" in removed["hint"]
    assert tree(site) == before


def test_a_previous_directory_that_is_no_build(repo: GitCatalog, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    run = build(repo, tmp_path / "site", "--previous", str(tmp_path / "empty"))

    assert run.exit_code == 2
    assert "holds no api/v1/integrations.json" in run.stderr
    assert not (tmp_path / "site").exists()


# -- a URL ------------------------------------------------------------------------------------


def test_previous_site_served_over_http(repo: GitCatalog, tmp_path: Path, serve: Any) -> None:
    deployed = tmp_path / "www"
    assert build(repo, deployed / "catalog").exit_code == 0
    before = tree(deployed)
    base_url = serve(deployed) + "catalog"  # the site lives below the server's root

    run = build(repo, tmp_path / "same", "--previous", base_url, "--format", "json")
    assert run.exit_code == 0
    assert diagnostics_of(run) == []

    write(repo, WIDGET, integration("Widget", interval=42))
    moved = move_tag(repo, TAG, DAY.format(3))
    # The unlisted integration is in no listing; today's catalog names it, so it is compared.
    write(repo, "acme/hidden", integration("Hidden", visibility="unlisted", interval=7))
    move_tag(repo, "acme/hidden/v1.0.0", DAY.format(4))

    for url in (base_url, base_url + "/"):
        run = build(repo, tmp_path / "next", "--previous", url, "--format", "json")
        assert run.exit_code == 1
        found = diagnostics_of(run)
        assert [(d["code"], d["path"]) for d in found] == [
            ("published-version-changed", "integrations/acme/hidden/integration.yaml"),
            ("published-version-changed", WIDGET_YAML),
        ]
        assert f"is now {moved[:12]}" in found[1]["message"]
        assert not (tmp_path / "next").exists()
    assert tree(deployed) == before

    run = build(
        repo,
        tmp_path / "next",
        "--previous",
        base_url,
        "--allow-republish",
        TAG,
        "--allow-republish",
        "acme/hidden/v1.0.0",
    )
    assert run.exit_code == 0


def test_integration_removed_from_the_served_site(
    repo: GitCatalog, tmp_path: Path, serve: Any
) -> None:
    assert build(repo, tmp_path / "www").exit_code == 0
    url = serve(tmp_path / "www")
    repo.remove("integrations/acme/gadget")
    release(repo, DAY.format(2))
    repo.git("tag", "-d", "acme/gadget/v2.0.0")

    run = build(repo, tmp_path / "next", "--previous", url, "--format", "json")

    assert run.exit_code == 1
    assert [d["code"] for d in diagnostics_of(run)] == ["published-integration-removed"]


def test_nothing_published_at_the_url_yet(repo: GitCatalog, tmp_path: Path, serve: Any) -> None:
    (tmp_path / "www").mkdir()
    url = serve(tmp_path / "www")

    run = build(repo, tmp_path / "site", "--previous", url)

    assert run.exit_code == 0
    assert "catalog.yaml:1:1: warning[previous-not-found]" in run.stdout
    assert f"nothing is published at {url} yet" in run.stdout
    assert (tmp_path / "site/api/v1/integrations.json").is_file()


def test_an_unreachable_url_is_an_environment_error(repo: GitCatalog, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there

    run = build(repo, tmp_path / "site", "--previous", f"http://127.0.0.1:{port}/")

    assert run.exit_code == 2
    assert "cannot read http://127.0.0.1:" in run.stderr
    assert not (tmp_path / "site").exists()


def test_a_failing_server_is_an_environment_error(
    repo: GitCatalog, tmp_path: Path, serve: Any
) -> None:
    assert build(repo, tmp_path / "www").exit_code == 0
    url = serve(tmp_path / "www", _BrokenHandler)

    run = build(repo, tmp_path / "site", "--previous", url)

    assert run.exit_code == 2
    assert f"catalog: {url}api/v1/integrations.json: HTTP 500" in run.stderr
    assert not (tmp_path / "site").exists()
