"""Versions and history from git: tags, snapshots, dates, tombstones and the git environment.

Every test builds a real repository with real commits and tags (see `gitrepo_fixtures`); dates
come from GIT_AUTHOR_DATE / GIT_COMMITTER_DATE so derived times are asserted exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from catalog_fixtures import (
    codes,
    get,
    isolated_git,  # noqa: F401 - autouse
    load,
    with_code,
)
from gitrepo_fixtures import GitCatalog, integration_yaml, isolated_git_env
from integration_catalog.catalog import load_catalog
from integration_catalog.cli import main
from integration_catalog.diagnostics import Severity
from integration_catalog.resolve import Resolved, ShallowRepository

WIDGET = "acme/widget"
WIDGET_YAML = "integrations/acme/widget/integration.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    return GitCatalog(tmp_path / "repo")


# -- helpers ----------------------------------------------------------------------------------


def versions_of(item: Resolved) -> list[str]:
    return [snapshot.version for snapshot in item.versions]


def cli(root: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    result = CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False, env=env)
    print(result.output)  # shown by pytest when the test fails
    return result


def independent_digest(manifest: Any, variables_schema: Any, auth_config: Any) -> str:
    """The documented rule: sha256 of the canonical JSON of the three published fields."""
    content = {"manifest": manifest, "variablesSchema": variables_schema, "authConfig": auth_config}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- tags and versions ------------------------------------------------------------------------


def test_lightweight_and_annotated_tags_both_publish_snapshots(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET, interval=15)
    first = repo.commit("2024-01-10T10:00:00+02:00", author_date="2024-01-09T09:00:00Z")
    repo.tag("acme/widget/v1.0.0")  # lightweight: published at the commit's committer date
    repo.write_integration(WIDGET, interval=30)
    second = repo.commit("2024-01-20T00:00:00Z")
    repo.tag("acme/widget/v1.1.0", annotated_at="2024-02-01T12:00:00-05:00")
    repo.write_integration(WIDGET, name="Widget Sync Next", interval=45)
    repo.commit("2024-03-01T00:00:00Z")  # not tagged: in the working tree only

    result = load(repo)

    assert result.diagnostics == []
    widget = get(result, WIDGET)
    assert widget.current_version == "1.1.0"
    assert [(s.version, s.tag) for s in widget.versions] == [
        ("1.1.0", "acme/widget/v1.1.0"),
        ("1.0.0", "acme/widget/v1.0.0"),
    ]
    newest, oldest = widget.versions
    assert newest.published_at == "2024-02-01T17:00:00Z"  # the tagger date, in UTC
    assert oldest.published_at == "2024-01-10T08:00:00Z"  # committer, not author, date
    # The full sha of the peeled commit, not of the annotated tag object.
    assert (newest.commit, oldest.commit) == (second, first)
    assert repo.sha("refs/tags/acme/widget/v1.1.0") != second
    # Each snapshot is the file at its tag; the record itself is the working tree.
    assert newest.manifest["defaults"] == {"interval": 30}
    assert oldest.manifest["defaults"] == {"interval": 15}
    assert widget.spec.name == "Widget Sync Next"
    assert widget.spec.manifest.defaults == {"interval": 45}


def test_semver_precedence_not_tag_order_decides_current(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    for version in ("1.10.0", "2.0.0-rc.1", "1.9.0"):
        repo.tag(f"acme/widget/v{version}")

    widget = get(load(repo), WIDGET)
    assert widget.current_version == "1.10.0"  # numeric, not string, order; rc is no release
    assert versions_of(widget) == ["2.0.0-rc.1", "1.10.0", "1.9.0"]

    repo.tag("acme/widget/v2.0.0", annotated_at="2024-01-02T00:00:00Z")
    widget = get(load(repo), WIDGET)
    assert widget.current_version == "2.0.0"
    assert versions_of(widget) == ["2.0.0", "2.0.0-rc.1", "1.10.0", "1.9.0"]


def test_prereleases_only_make_the_highest_prerelease_current(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.write_integration("acme/gadget", name="Gadget")
    repo.commit("2024-01-01T00:00:00Z")
    # The precedence example of SemVer 2.0 section 11, tagged out of order.
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta"]
    ordered += ["1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1"]
    for version in ("1.0.0-beta.11", "1.0.0-alpha", "1.0.0-rc.1", "1.0.0-beta.2"):
        repo.tag(f"acme/widget/v{version}")
    for version in ("1.0.0-alpha.beta", "1.0.0-alpha.1", "1.0.0-beta"):
        repo.tag(f"acme/widget/v{version}", annotated_at="2024-01-05T00:00:00Z")
    # Any release beats a higher pre-release.
    for version in ("0.9.0", "1.0.0-rc.1"):
        repo.tag(f"acme/gadget/v{version}")

    result = load(repo)

    assert result.diagnostics == []
    widget = get(result, WIDGET)
    assert widget.current_version == "1.0.0-rc.1"
    assert versions_of(widget) == ordered[::-1]
    gadget = get(result, "acme/gadget")
    assert gadget.current_version == "0.9.0"
    assert versions_of(gadget) == ["1.0.0-rc.1", "0.9.0"]


def test_untagged_integration_is_a_draft(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/other/v1.0.0")  # tags of other integrations are not this one's
    repo.tag("v1.0.0")
    repo.tag("release-1")

    result = load(repo)
    widget = get(result, WIDGET)
    assert widget.current_version is None
    assert widget.versions == ()
    assert codes(result) == ["tag-missing-file"]  # acme/other never existed


def test_tags_not_matching_the_pattern_are_ignored_silently(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    for name in ("v1.0.0", "widget-1.0.0", "acme/widget/1.0.0", "acme/widget/v1.0.0/extra"):
        repo.tag(name)

    result = load(repo)
    assert result.diagnostics == []
    assert get(result, WIDGET).current_version is None


def test_custom_tag_pattern(repo: GitCatalog) -> None:
    repo.write("catalog.yaml", 'tagPattern: "releases/{publisher}/{slug}/{version}"\n')
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("releases/acme/widget/1.2.0")
    repo.tag("acme/widget/v9.0.0")  # the default pattern no longer applies

    result = load(repo)
    assert result.diagnostics == []
    assert versions_of(get(result, WIDGET)) == ["1.2.0"]


def test_invalid_semver_in_a_matching_tag_is_a_warning(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    invalid = ["acme/widget/v1.0", "acme/widget/v01.0.0", "acme/widget/vlatest"]
    invalid += ["acme/widget/v1.0.0-", "acme/widget/v1.0.0-rc.01"]
    for name in invalid:
        repo.tag(name)
    repo.tag("acme/widget/v1.0.0")

    result = load(repo)

    warnings = with_code(result, "tag-invalid-version")
    assert codes(result) == ["tag-invalid-version"] * len(invalid)
    assert all(d.severity is Severity.WARNING and d.path == WIDGET_YAML for d in warnings)
    for name in invalid:
        assert sum(f"`{name}`" in d.message for d in warnings) == 1, name
    assert versions_of(get(result, WIDGET)) == ["1.0.0"]

    run = cli(repo.root, "validate")
    assert run.exit_code == 0
    assert "tag-invalid-version" in run.output
    assert "acme/widget/vlatest" in run.output


def test_tag_on_a_commit_without_the_file_is_a_warning(repo: GitCatalog) -> None:
    before = repo.commit("2024-01-01T00:00:00Z")  # catalog.yaml and publishers.yaml only
    repo.write_integration(WIDGET)
    repo.commit("2024-01-02T00:00:00Z")
    repo.tag("acme/widget/v0.1.0", before)
    repo.tag("acme/widget/v0.2.0", before, annotated_at="2024-01-03T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")
    repo.tag("acme/ghost/v1.0.0")  # an integration that never existed

    result = load(repo)

    missing = with_code(result, "tag-missing-file")
    assert codes(result) == ["tag-missing-file"] * 3
    assert all(d.severity is Severity.WARNING for d in missing)
    messages = " ".join(d.message for d in missing)
    for name in ("acme/widget/v0.1.0", "acme/widget/v0.2.0", "acme/ghost/v1.0.0"):
        assert f"`{name}`" in messages
    assert {d.path for d in missing} == {WIDGET_YAML, "integrations/acme/ghost/integration.yaml"}
    assert versions_of(get(result, WIDGET)) == ["1.0.0"]
    assert result.catalog.get("acme/ghost") is None


def test_tags_differing_only_in_build_metadata_are_an_error(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0+a")
    repo.tag("acme/widget/v1.0.0+b", annotated_at="2024-01-02T00:00:00Z")
    repo.tag("acme/widget/v2.0.0+only")  # one tag with build metadata is fine

    result = load(repo)

    [clash] = result.diagnostics
    assert (clash.code, clash.severity) == ("tag-build-metadata", Severity.ERROR)
    assert (clash.path, clash.line) == (WIDGET_YAML, 1)
    assert "`acme/widget/v1.0.0+a`" in clash.message
    assert "`acme/widget/v1.0.0+b`" in clash.message

    run = cli(repo.root, "validate")
    assert run.exit_code == 1
    assert "tag-build-metadata" in run.output


def test_a_release_and_the_same_release_with_build_metadata_clash(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")
    repo.tag("acme/widget/v1.0.0+build.7")

    [clash] = load(repo).diagnostics
    assert clash.code == "tag-build-metadata"
    assert "`acme/widget/v1.0.0`" in clash.message
    assert "`acme/widget/v1.0.0+build.7`" in clash.message


# -- snapshots --------------------------------------------------------------------------------

UNICODE_YAML = """\
name: "Café Sync"
workspaceId: "ws_acme"
visibility: public
manifest:
  members:
    - key: zeta
      kind: dataset
      description: "Naïve “quotes” — ✓ 日本"
      forkOnInstall: true
    - key: alpha
      kind: workflow
  defaults:
    size: 3
variablesSchema:
  type: object
  required: [size]
  properties:
    size:
      type: integer
      minimum: 1
authConfig:
  type: oauth2
  scopes: ["read", "write"]
  tokenUrl: "https://auth.example/token"
  authorizationUrl: "https://auth.example/authorize"
"""


def test_snapshot_fields_and_digest_follow_the_documented_rule(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET, UNICODE_YAML)
    commit = repo.commit("2024-04-05T06:07:08Z")
    repo.tag("acme/widget/v1.0.0", annotated_at="2024-04-06T00:00:00+09:00")

    [snapshot] = get(load(repo), WIDGET).versions

    # Published fields: defaults filled in, absent optional values left out.
    manifest = {
        "members": [
            {"key": "zeta", "kind": "dataset", "description": "Naïve “quotes” — ✓ 日本"}
            | {"forkOnInstall": True},
            {"key": "alpha", "kind": "workflow", "forkOnInstall": False},
        ],
        "dependencies": {},
        "defaults": {"size": 3},
    }
    variables = {
        "type": "object",
        "required": ["size"],
        "properties": {"size": {"type": "integer", "minimum": 1}},
    }
    auth = {
        "type": "oauth2",
        "scopes": ["read", "write"],
        "authorizationUrl": "https://auth.example/authorize",
        "tokenUrl": "https://auth.example/token",
    }
    expected_digest = independent_digest(manifest, variables, auth)
    documented = {
        "version": "1.0.0",
        "publishedAt": "2024-04-05T15:00:00Z",
        "commit": commit,
        "manifest": manifest,
        "variablesSchema": variables,
        "authConfig": auth,
        "digest": expected_digest,
    }
    published = snapshot.as_json()
    assert {key: published[key] for key in documented} == documented
    # The canonical form is byte-exact: sorted keys, no spaces, UTF-8 not escaped.
    canonical = (
        '{"authConfig":{"authorizationUrl":"https://auth.example/authorize",'
        '"scopes":["read","write"],"tokenUrl":"https://auth.example/token","type":"oauth2"},'
        '"manifest":{"defaults":{"size":3},"dependencies":{},"members":['
        '{"description":"Naïve “quotes” — ✓ 日本","forkOnInstall":true,"key":"zeta",'
        '"kind":"dataset"},{"forkOnInstall":false,"key":"alpha","kind":"workflow"}]},'
        '"variablesSchema":{"properties":{"size":{"minimum":1,"type":"integer"}},'
        '"required":["size"],"type":"object"}}'
    )
    assert expected_digest == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    run = cli(repo.root, "versions", WIDGET, "--format", "json")
    assert run.exit_code == 0
    payload = json.loads(run.stdout)
    assert payload["currentVersion"] == "1.0.0"
    assert payload["versions"] == [snapshot.as_json()]


def test_digest_changes_with_content_only(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET, interval=15)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")
    repo.write_integration(WIDGET, name="Renamed", description="Other words.", interval=15)
    repo.commit("2024-01-02T00:00:00Z")
    repo.tag("acme/widget/v1.0.1")  # name and description are not part of the digest
    repo.write_integration(WIDGET, interval=20)
    repo.commit("2024-01-03T00:00:00Z")
    repo.tag("acme/widget/v1.1.0")

    third, second, first = get(load(repo), WIDGET).versions
    assert first.digest == second.digest != third.digest
    for snapshot in (first, second, third):
        expected = independent_digest(
            snapshot.manifest, snapshot.variables_schema, snapshot.auth_config
        )
        assert snapshot.digest == expected


def test_snapshot_failing_todays_checks_is_kept_with_a_warning(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET, extra='legacyField: "dropped since"\n')
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v0.9.0")  # a field today's format does not know
    repo.write_integration(WIDGET, trust_tier="verified_publisher")
    repo.commit("2024-01-02T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")  # a tier publishers.yaml granted then
    repo.write_integration(WIDGET, "name: [unclosed\n")
    repo.commit("2024-01-03T00:00:00Z")
    repo.tag("acme/widget/v1.0.1-broken")  # not YAML at all: cannot be kept
    repo.write("publishers.yaml", 'acme:\n  name: "Acme"\n')  # the grant is withdrawn
    repo.write_integration(WIDGET)
    repo.commit("2024-01-04T00:00:00Z")

    result = load(repo)

    invalid = with_code(result, "snapshot-invalid")
    assert codes(result) == ["snapshot-invalid"] * 3
    assert all(d.severity is Severity.WARNING and d.path == WIDGET_YAML for d in invalid)
    for name in ("acme/widget/v0.9.0", "acme/widget/v1.0.0", "acme/widget/v1.0.1-broken"):
        assert sum(f"`{name}`" in d.message for d in invalid) == 1, name
    widget = get(result, WIDGET)
    assert versions_of(widget) == ["1.0.0", "0.9.0"]
    assert widget.current_version == "1.0.0"
    assert cli(repo.root, "validate").exit_code == 0  # warnings only


def test_identical_files_of_different_publishers_are_checked_separately(
    repo: GitCatalog,
) -> None:
    # Byte-identical files are one git blob; today's checks still depend on the publisher.
    body = integration_yaml(trust_tier="verified_publisher")
    repo.write_integration("acme/widget", body)  # acme is granted verified_publisher
    repo.write_integration("zeta/widget", body)  # zeta is not in publishers.yaml
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")
    repo.tag("zeta/widget/v1.0.0")

    result = load(repo)

    [invalid] = with_code(result, "snapshot-invalid")
    assert invalid.path == "integrations/zeta/widget/integration.yaml"
    assert "`zeta/widget/v1.0.0`" in invalid.message


# -- dates and authors ------------------------------------------------------------------------


def test_created_and_updated_come_from_the_history_of_the_directory(repo: GitCatalog) -> None:
    repo.commit("2023-12-01T00:00:00Z", author="Early Bird")  # before the integration
    repo.write_integration(WIDGET)
    repo.write_integration("acme/gadget", extra='createdBy: "Gadget Team"\n')
    repo.commit(
        "2024-01-10T12:00:00+01:00", author_date="2024-01-09T08:00:00-03:00", author="Zoë Ünal"
    )
    repo.write("integrations/acme/widget/README.md", "# Widget\n")
    repo.commit("2024-02-01T00:00:00Z", author_date="2024-01-25T00:00:00Z", author="Bob")
    repo.write_integration("acme/gadget", name="Gadget", extra='createdBy: "Gadget Team"\n')
    repo.commit("2024-03-01T00:00:00Z", author="Bob")  # another integration only
    repo.write("catalog.yaml", 'title: "Renamed"\n')
    repo.commit("2024-04-01T00:00:00Z", author="Bob")  # outside integrations/

    result = load(repo)

    assert result.diagnostics == []
    widget = get(result, WIDGET)
    assert widget.created_at == "2024-01-09T11:00:00Z"  # author date of the adding commit
    assert widget.updated_at == "2024-02-01T00:00:00Z"  # committer date of the last change
    assert widget.created_by == "Zoë Ünal"  # author name of the adding commit
    gadget = get(result, "acme/gadget")
    assert gadget.created_by == "Gadget Team"  # the file wins over history
    assert gadget.created_at == "2024-01-09T11:00:00Z"
    assert gadget.updated_at == "2024-03-01T00:00:00Z"
    assert (widget.deleted_at, widget.tombstone) == (None, False)
    # A clean tree takes every date from history, whatever the reference time.
    later = load(repo, source_date_epoch=1800000000)
    assert later.catalog.integrations == result.catalog.integrations


def test_catalog_below_the_repository_top_level(tmp_path: Path) -> None:
    repo = GitCatalog(tmp_path / "mono", "catalogs/market")
    repo.write_integration(WIDGET, interval=15)
    first = repo.commit("2024-01-01T00:00:00Z", author="Ann")
    repo.tag("acme/widget/v1.0.0")
    repo.write_integration(WIDGET, interval=20)
    repo.commit("2024-02-01T00:00:00Z", author="Ben")
    repo.tag("acme/widget/v1.1.0-rc.1", annotated_at="2024-02-02T00:00:00Z")
    # The same relative path outside the catalog root is not part of its history.
    decoy = GitCatalog(tmp_path / "mono", init=False)
    decoy.write_integration(WIDGET)
    decoy.commit("2024-03-01T00:00:00Z", author="Decoy")

    result = load(repo)

    assert result.diagnostics == []
    widget = get(result, WIDGET)
    assert widget.created_at == "2024-01-01T00:00:00Z"
    assert widget.updated_at == "2024-02-01T00:00:00Z"
    assert widget.created_by == "Ann"
    assert widget.current_version == "1.0.0"
    assert [(s.version, s.manifest["defaults"]["interval"]) for s in widget.versions] == [
        ("1.1.0-rc.1", 20),
        ("1.0.0", 15),
    ]
    assert widget.versions[1].commit == first

    repo.write("integrations/acme/widget/README.md", "# new\n")
    dirty = load(repo, source_date_epoch=1800000000)
    assert codes(dirty) == ["git-dirty"]
    assert get(dirty, WIDGET).updated_at == "2027-01-15T08:00:00Z"


# -- tombstones and deletion ------------------------------------------------------------------


def test_deleted_published_integration_stays_as_a_tombstone(repo: GitCatalog) -> None:
    repo.write_integration("acme/old", name="Old One", interval=15)
    repo.commit("2024-01-01T00:00:00Z", author_date="2023-12-31T00:00:00Z", author="Olga")
    repo.tag("acme/old/v1.0.0")
    repo.write_integration("acme/old", name="Old One, Last", interval=30)
    repo.commit("2024-02-01T00:00:00Z")
    repo.tag("acme/old/v1.1.0", annotated_at="2024-02-02T00:00:00Z")
    repo.write_integration("acme/old", name="Never Published")
    repo.commit("2024-03-01T00:00:00Z")
    repo.write_integration(WIDGET)
    repo.remove("integrations/acme/old")
    repo.commit("2024-04-01T10:00:00+02:00", author_date="2024-03-30T00:00:00Z")
    repo.write_integration(WIDGET, name="Later change elsewhere")
    repo.commit("2024-05-01T00:00:00Z")

    result = load(repo)

    assert result.diagnostics == []
    assert [i.key for i in result.catalog.integrations] == ["acme/old", WIDGET]
    old = get(result, "acme/old")
    assert old.tombstone is True
    assert old.deleted_at == "2024-04-01T08:00:00Z"  # committer date of the deleting commit
    assert old.updated_at == "2024-04-01T08:00:00Z"
    assert old.created_at == "2023-12-31T00:00:00Z"
    assert old.created_by == "Olga"
    assert old.spec.name == "Old One, Last"  # the record comes from the last snapshot
    assert old.current_version == "1.1.0"
    assert versions_of(old) == ["1.1.0", "1.0.0"]
    assert not get(result, WIDGET).tombstone

    run = cli(repo.root, "versions", "acme/old")
    assert run.exit_code == 0
    assert run.stdout.splitlines()[0] == "acme/old: current version 1.1.0"


def test_moved_integration_leaves_a_tombstone_behind(repo: GitCatalog) -> None:
    repo.write_integration("acme/old-name")
    repo.write("integrations/acme/old-name/README.md", "# readme\n")
    repo.commit("2024-01-01T00:00:00Z", author="First")
    repo.tag("acme/old-name/v1.0.0")
    repo.git("mv", "integrations/acme/old-name", "integrations/acme/new-name")
    repo.commit("2024-02-01T00:00:00Z", author_date="2024-01-31T00:00:00Z", author="Mover")

    result = load(repo)

    assert result.diagnostics == []
    old, new = get(result, "acme/old-name"), get(result, "acme/new-name")
    assert old.tombstone
    assert (old.deleted_at, old.updated_at) == ("2024-02-01T00:00:00Z", "2024-02-01T00:00:00Z")
    assert old.current_version == "1.0.0"
    assert not new.tombstone
    assert new.current_version is None  # tags name the old directory
    assert (new.created_at, new.created_by) == ("2024-01-31T00:00:00Z", "Mover")


def test_draft_deleted_before_any_tag_disappears(repo: GitCatalog) -> None:
    repo.write_integration("acme/scratch")
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")
    repo.remove("integrations/acme/scratch")
    repo.commit("2024-02-01T00:00:00Z")
    repo.tag("acme/scratch/v1.0.0")  # tagged only after the deletion: the file is not there

    result = load(repo)

    assert [i.key for i in result.catalog.integrations] == [WIDGET]
    assert codes(result) == ["tag-missing-file"]


def test_soft_delete_keeps_the_working_tree_record(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET, name="Widget v1")
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")
    repo.write_integration(
        WIDGET, name="Widget (withdrawn)", extra='deletedAt: "2024-03-01T12:00:00+01:00"\n'
    )
    repo.commit("2024-03-02T00:00:00Z")

    result = load(repo)

    assert result.diagnostics == []
    widget = get(result, WIDGET)
    assert widget.deleted_at == "2024-03-01T11:00:00Z"
    assert widget.tombstone is False
    assert widget.spec.name == "Widget (withdrawn)"  # from the working tree, not the snapshot
    assert widget.updated_at == "2024-03-02T00:00:00Z"
    assert widget.current_version == "1.0.0"
    # The snapshot is the tagged file (a whole spec is kept only for tombstones).
    assert widget.versions[0].commit == repo.sha("acme/widget/v1.0.0^{commit}")


# -- the git environment ----------------------------------------------------------------------


def _dirty_repo(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.write_integration("acme/gadget")
    repo.write_integration("acme/gone")
    repo.commit("2024-01-01T00:00:00Z", author="Ann")
    repo.tag("acme/widget/v1.0.0")
    repo.tag("acme/gone/v1.0.0")
    repo.write("catalog.yaml", 'title: "Later"\n')
    repo.commit("2024-06-01T00:00:00Z")  # HEAD: touches no integration
    # Uncommitted: an edit, a new untracked integration and a deletion.
    repo.write_integration(WIDGET, name="Widget (edited)")
    repo.write_integration("acme/fresh")
    repo.remove("integrations/acme/gone")


def test_dirty_tree_uses_head_time_for_what_history_cannot_give(repo: GitCatalog) -> None:
    _dirty_repo(repo)

    result = load(repo)

    [dirty] = result.diagnostics
    assert (dirty.code, dirty.severity) == ("git-dirty", Severity.WARNING)
    widget = get(result, WIDGET)
    assert widget.spec.name == "Widget (edited)"
    assert widget.versions[0].commit == repo.sha("acme/widget/v1.0.0^{commit}")  # the tagged file
    assert (widget.created_at, widget.created_by) == ("2024-01-01T00:00:00Z", "Ann")
    assert widget.updated_at == "2024-06-01T00:00:00Z"  # HEAD's committer date
    fresh = get(result, "acme/fresh")
    assert (fresh.created_at, fresh.updated_at) == ("2024-06-01T00:00:00Z",) * 2
    assert fresh.current_version is None
    gadget = get(result, "acme/gadget")
    assert gadget.updated_at == "2024-01-01T00:00:00Z"  # clean integrations keep history
    gone = get(result, "acme/gone")
    assert gone.tombstone
    assert gone.deleted_at == "2024-06-01T00:00:00Z"

    run = cli(repo.root, "validate")
    assert run.exit_code == 0
    assert "git-dirty" in run.output


def test_dirty_tree_uses_source_date_epoch_when_set(repo: GitCatalog) -> None:
    _dirty_repo(repo)

    result = load(repo, source_date_epoch=1750000000)

    assert codes(result) == ["git-dirty"]
    assert get(result, WIDGET).updated_at == "2025-06-15T15:06:40Z"
    fresh = get(result, "acme/fresh")
    assert (fresh.created_at, fresh.updated_at) == ("2025-06-15T15:06:40Z",) * 2
    assert get(result, "acme/gone").deleted_at == "2025-06-15T15:06:40Z"
    assert get(result, "acme/gadget").updated_at == "2024-01-01T00:00:00Z"

    run = cli(repo.root, "validate", env={"SOURCE_DATE_EPOCH": "1750000000"})
    assert run.exit_code == 0
    assert cli(repo.root, "validate", env={"SOURCE_DATE_EPOCH": "tomorrow"}).exit_code == 2


def test_staged_but_uncommitted_changes_are_dirty(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.write_integration(WIDGET, name="Staged")
    repo.git("add", "-A")

    result = load(repo, source_date_epoch=1750000000)
    assert codes(result) == ["git-dirty"]
    assert get(result, WIDGET).updated_at == "2025-06-15T15:06:40Z"


def test_outside_a_git_repository_everything_is_a_draft(tmp_path: Path) -> None:
    catalog = GitCatalog(tmp_path / "plain", init=False)
    catalog.write_integration(WIDGET)
    catalog.write_integration("acme/gadget")
    catalog.write_integration("zeta/thing")

    result = load_catalog(catalog.root, source_date_epoch=1700000000)

    [warning] = result.diagnostics
    assert (warning.code, warning.severity) == ("git-no-repository", Severity.WARNING)
    assert [i.key for i in result.catalog.integrations] == ["acme/gadget", WIDGET, "zeta/thing"]
    for item in result.catalog.integrations:
        assert (item.current_version, item.versions) == (None, ())
        assert (item.created_at, item.updated_at) == ("2023-11-14T22:13:20Z",) * 2
        assert not item.tombstone

    run = cli(catalog.root, "validate", env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert run.exit_code == 0
    assert run.output.count("git-no-repository") == 1
    run = cli(catalog.root, "versions", WIDGET)
    assert run.exit_code == 0
    assert run.stdout == "acme/widget: current version none (draft)\n"


def test_repository_without_commits_is_all_drafts(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)

    result = load(repo, source_date_epoch=1700000000)

    assert "git-no-repository" not in codes(result)
    widget = get(result, WIDGET)
    assert (widget.current_version, widget.versions) == (None, ())
    assert (widget.created_at, widget.updated_at) == ("2023-11-14T22:13:20Z",) * 2


def test_shallow_clone_is_refused_unless_allowed(tmp_path: Path, repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")
    repo.write_integration(WIDGET, interval=20)
    repo.commit("2024-02-01T00:00:00Z")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", repo.root.as_uri(), str(clone)],
        check=True,
        env=isolated_git_env(),
        capture_output=True,
    )

    for command in (["validate"], ["versions", WIDGET]):
        run = cli(clone, *command)
        assert run.exit_code == 2, command
        assert "fetch-depth: 0" in run.stderr
    with pytest.raises(ShallowRepository, match="fetch-depth: 0"):
        load_catalog(clone)

    run = cli(clone, "validate", "--allow-shallow")
    assert run.exit_code == 0
    assert cli(clone, "versions", WIDGET, "--allow-shallow").exit_code == 0
    widget = get(load_catalog(clone, allow_shallow=True), WIDGET)
    assert widget.updated_at == "2024-02-01T00:00:00Z"


# -- the `versions` command and reproducibility -----------------------------------------------


def _published_catalog(repo: GitCatalog) -> None:
    """A bit of everything: releases, pre-releases, annotated tags, a tombstone, a soft delete,
    warnings, and an uncommitted change."""
    repo.write_integration(WIDGET, interval=15)
    repo.write_integration("acme/old")
    repo.commit("2024-01-01T00:00:00Z", author="Ann")
    repo.tag("acme/widget/v1.9.0")
    repo.tag("acme/old/v0.1.0-beta.1", annotated_at="2024-01-02T00:00:00Z")
    repo.write_integration(WIDGET, interval=30)
    repo.write_integration("acme/withdrawn", extra='deletedAt: "2024-05-01T00:00:00Z"\n')
    repo.commit("2024-02-01T00:00:00Z", author="Ben")
    repo.tag("acme/widget/v1.10.0", annotated_at="2024-02-03T04:05:06Z")
    repo.tag("acme/widget/v2.0.0-rc.1")
    repo.tag("acme/widget/vnext")
    repo.tag("acme/withdrawn/v3.0.0")
    repo.remove("integrations/acme/old")
    repo.commit("2024-03-01T00:00:00Z", author="Cy")
    repo.write("integrations/acme/widget/README.md", "# uncommitted\n")


def test_versions_command_lists_newest_first_and_marks_current(repo: GitCatalog) -> None:
    _published_catalog(repo)
    widget = get(load(repo), WIDGET)
    commits = {s.version: s.commit for s in widget.versions}

    run = cli(repo.root, "versions", WIDGET)

    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0] == "acme/widget: current version 1.10.0"
    rows = [line.split() for line in lines[1:]]
    assert [row[-4:-2] if row[0] == "*" else row[:2] for row in rows] == [
        ["2.0.0-rc.1", "2024-02-01T00:00:00Z"],
        ["1.10.0", "2024-02-03T04:05:06Z"],
        ["1.9.0", "2024-01-01T00:00:00Z"],
    ]
    assert [line[0] for line in lines[1:]] == [" ", "*", " "]
    for row, snapshot in zip(rows, widget.versions, strict=True):
        assert row[-2] == commits[snapshot.version][:12]
        assert row[-1] == snapshot.digest

    run = cli(repo.root, "versions", WIDGET, "--format", "json")
    assert run.exit_code == 0
    payload = json.loads(run.stdout)
    assert payload["currentVersion"] == "1.10.0"
    assert [v["version"] for v in payload["versions"]] == ["2.0.0-rc.1", "1.10.0", "1.9.0"]
    for entry in payload["versions"]:
        assert entry["commit"] == commits[entry["version"]]
        assert len(entry["commit"]) == 40
        assert entry["digest"] == independent_digest(
            entry["manifest"], entry["variablesSchema"], entry["authConfig"]
        )


def test_versions_command_unknown_integration(repo: GitCatalog) -> None:
    _published_catalog(repo)

    run = cli(repo.root, "versions", "acme/widgte")
    assert run.exit_code == 1
    assert "no integration `acme/widgte`" in run.stderr
    assert "acme/widget" in run.stderr  # a near miss gets a hint
    assert run.stdout == ""

    run = cli(repo.root, "versions", "nobody/nothing", "--format", "json")
    assert run.exit_code == 1
    assert "no integration `nobody/nothing`" in run.stderr
    assert run.stdout == ""


def test_two_runs_give_the_same_results(repo: GitCatalog) -> None:
    _published_catalog(repo)

    first, second = load(repo), load(repo)

    assert first.catalog.integrations == second.catalog.integrations
    assert first.diagnostics == second.diagnostics
    assert sorted(set(codes(first))) == ["git-dirty", "tag-invalid-version"]
    keys = [i.key for i in first.catalog.integrations]
    assert keys == ["acme/old", WIDGET, "acme/withdrawn"]
    for key in keys:
        runs = [cli(repo.root, "versions", key, "--format", "json").stdout for _ in range(2)]
        assert runs[0] == runs[1]
    runs = [cli(repo.root, "validate", "--format", "json").stdout for _ in range(2)]
    assert runs[0] == runs[1]


# -- a constant number of git processes --------------------------------------------------------


def _scaled_catalog(root: Path, count: int) -> GitCatalog:
    """`count` published integrations, one of them deleted, built with few git processes."""
    repo = GitCatalog(root)
    body = integration_yaml()
    for index in range(count):
        repo.write_integration(f"acme/w-{index:03}", body)
    first = repo.commit("2024-01-01T00:00:00Z")
    repo.write_integration("acme/w-001", name="Changed")
    repo.remove("integrations/acme/w-000")
    repo.commit("2024-02-01T00:00:00Z")
    updates = [f"create refs/tags/acme/w-{i:03}/v1.0.0 {first}\n" for i in range(count)]
    updates += [f"create refs/tags/acme/w-{i:03}/v1.1.0-rc.1 {first}\n" for i in range(count)]
    repo.git("update-ref", "--stdin", stdin="".join(updates))
    repo.tag("acme/w-002/v2.0.0", annotated_at="2024-03-01T00:00:00Z")
    repo.tag("acme/w-002/vbad")
    return repo


def _git_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path) -> list[str]:
    """The git subcommands the catalog runs while loading, through a logging `git` on PATH."""
    real_git = shutil.which("git")
    assert real_git is not None
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    wrapper = bindir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> "$GIT_CALL_LOG"\nexec {real_git} "$@"\n')
    wrapper.chmod(0o755)
    log = tmp_path / f"calls-{root.name}.log"
    with monkeypatch.context() as patch:
        patch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        patch.setenv("GIT_CALL_LOG", str(log))
        result = load_catalog(root)
    assert result.catalog.integrations  # the catalog did load, tombstone included
    assert result.catalog.integrations[0].tombstone
    return log.read_text().splitlines()


def test_git_processes_do_not_grow_with_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = _scaled_catalog(tmp_path / "small", 3)
    large = _scaled_catalog(tmp_path / "large", 300)

    small_calls = _git_calls(tmp_path, monkeypatch, small.root)
    large_calls = _git_calls(tmp_path, monkeypatch, large.root)

    assert small_calls  # the wrapper was used
    assert len(large_calls) == len(small_calls)
    assert sorted(large_calls) == sorted(small_calls)
    assert len(small_calls) <= 8
