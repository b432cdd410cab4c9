"""Shared helpers for the policy, secrets, previous-build and diff tests: integration files
with dependencies, visibility and yanks, positions of text in them, and the CLI.

The repositories themselves are real (see `gitrepo_fixtures`); nothing here is mocked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gitrepo_fixtures import GitCatalog
from integration_catalog.catalog import LoadResult, load_catalog
from integration_catalog.cli import main
from integration_catalog.diagnostics import Diagnostic
from integration_catalog.resolve import Resolved

DAY = "2024-01-{:02}T00:00:00Z"


def isolate_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the user's git configuration nor a repository around tmp_path takes part."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`isolate_git` for every test of a module that imports this fixture."""
    isolate_git(tmp_path, monkeypatch)


def integration(
    name: str = "Widget",
    *,
    visibility: str = "public",
    trust_tier: str = "community",
    dependencies: Mapping[str, str] | None = None,
    yanked: Mapping[str, str] | None = None,
    interval: int = 15,
    extra: str = "",
) -> str:
    """A valid `integration.yaml` whose dependencies and yanks are written one per line, so a
    test can find each one's line with `position`."""
    lines = [
        f'name: "{name}"',
        'workspaceId: "ws_1"',
        f"visibility: {visibility}",
        f"trustTier: {trust_tier}",
        "manifest:",
        "  members:",
        "    - key: sync",
        "      kind: workflow",
    ]
    if dependencies:
        lines.append("  dependencies:")
        lines += [f'    {key}: "{spec}"' for key, spec in dependencies.items()]
    lines += [
        "  defaults:",
        f"    interval: {interval}",
        "variablesSchema:",
        "  type: object",
        "  properties:",
        "    interval:",
        "      type: integer",
        "authConfig:",
        "  type: none",
    ]
    if yanked:
        lines.append("yanked:")
        lines += [f'  "{version}": "{reason}"' for version, reason in yanked.items()]
    return "\n".join(lines) + "\n" + extra


def yaml_path(key: str) -> str:
    return f"integrations/{key}/integration.yaml"


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the `occurrence`-th appearance of `needle` in `text`."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def write(repo: GitCatalog, key: str, text: str) -> str:
    """Write an integration and return its text, for `position`."""
    repo.write_integration(key, text)
    return text


def release(repo: GitCatalog, date: str, *tags: str) -> str:
    """Commit everything and put these tags on the commit; the commit's sha."""
    sha = repo.commit(date)
    for tag in tags:
        repo.tag(tag)
    return sha


def load(repo: GitCatalog, **options: Any) -> LoadResult:
    return load_catalog(repo.root, **options)


def get(result: LoadResult, key: str) -> Resolved:
    item = result.catalog.get(key)
    assert item is not None, f"{key} not in {[i.key for i in result.catalog.integrations]}"
    return item


def with_code(result: LoadResult, code: str) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.code == code]


def codes(result: LoadResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def where(diagnostic: Diagnostic) -> tuple[str, int, int]:
    return diagnostic.path, diagnostic.line, diagnostic.column


def cli(root: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    result = CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False, env=env)
    print(result.output)  # shown by pytest when the test fails
    return result


def validate_json(root: Path) -> list[dict[str, Any]]:
    """The diagnostics of `catalog validate --format json`."""
    run = cli(root, "validate", "--format", "json")
    diagnostics: list[dict[str, Any]] = json.loads(run.stdout)["diagnostics"]
    return diagnostics
