"""The publisher workflow: `catalog new`, `catalog schema` and `catalog release`, on real temporary
git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from gitrepo_fixtures import GitCatalog
from integration_catalog.cli import main
from integration_catalog.release import ReleaseRefused, next_version
from integration_catalog.schemas import schema_files

REPO_ROOT = Path(__file__).resolve().parent.parent


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    catalog = GitCatalog(tmp_path / "repo")
    catalog.commit("2024-01-01T00:00:00Z")
    return catalog


# -- catalog new ---------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["oauth2", "api_key", "none"])
def test_new_writes_an_integration_that_validates_as_written(repo: GitCatalog, auth: str) -> None:
    made = run(repo.root, "new", "acme/crm-sync", "--auth", auth, "--name", "Acme CRM Sync")

    assert made.exit_code == 0, made.output
    directory = repo.root / "integrations/acme/crm-sync"
    text = (directory / "integration.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../../schema/")
    assert yaml.safe_load(text)["authConfig"]["type"] == auth
    assert yaml.safe_load(text)["name"] == "Acme CRM Sync"
    assert (directory / "README.md").read_text().startswith("# Acme CRM Sync")
    checked = run(repo.root, "validate", "--format", "json", "integrations/acme/crm-sync")
    found = json.loads(checked.stdout)["diagnostics"]
    assert [d for d in found if d["severity"] == "error"] == []
    assert checked.exit_code == 0


def test_new_without_a_terminal_publishes_nothing_by_accident(repo: GitCatalog) -> None:
    made = run(repo.root, "new", "acme/quiet")

    assert made.exit_code == 0
    fields = yaml.safe_load((repo.root / "integrations/acme/quiet/integration.yaml").read_text())
    assert (fields["visibility"], fields["authConfig"]) == ("private", {"type": "none"})
    assert fields["name"] == "Quiet"
    assert "visibility: private" in made.output


def test_new_refuses_to_overwrite(repo: GitCatalog) -> None:
    run(repo.root, "new", "acme/crm-sync", "--auth", "none")
    target = repo.root / "integrations/acme/crm-sync/integration.yaml"
    target.write_text("edited\n")

    again = run(repo.root, "new", "acme/crm-sync", "--auth", "none")

    assert again.exit_code == 1
    assert "error[integration-exists]" in again.output
    assert target.read_text() == "edited\n"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Acme/crm", "publisher `Acme` is not lowercase kebab-case"),
        ("acme/crm_sync", "slug `crm_sync` is not lowercase kebab-case"),
        ("acme/nul", "slug `nul` is reserved by Windows"),
        ("acme", "slug `` is not lowercase kebab-case"),
    ],
)
def test_new_rejects_a_bad_name(repo: GitCatalog, name: str, problem: str) -> None:
    made = run(repo.root, "new", name, "--auth", "none")

    assert made.exit_code == 1
    assert "error[path-invalid]" in made.output
    assert problem in made.output
    assert not (repo.root / "integrations").exists()


# -- catalog schema ------------------------------------------------------------------------------


def test_committed_editor_schemas_are_current() -> None:
    committed = {path.name: path.read_bytes() for path in (REPO_ROOT / "schema").glob("*.json")}

    assert committed == schema_files(), "run `catalog schema` and commit schema/"


def test_schema_check_reports_a_stale_file(tmp_path: Path, repo: GitCatalog) -> None:
    out = tmp_path / "schema"
    assert run(repo.root, "schema", "--out", str(out)).exit_code == 0
    assert run(repo.root, "schema", "--out", str(out), "--check").exit_code == 0
    (out / "catalog.schema.json").write_text("{}\n")

    stale = run(repo.root, "schema", "--out", str(out), "--check")

    assert stale.exit_code == 1
    assert "catalog.schema.json is out of date" in stale.output


def test_editor_schema_accepts_the_sample_catalog() -> None:
    schema = json.loads(schema_files()["integration.schema.json"])
    validator = Draft202012Validator(schema)
    for path in sorted((REPO_ROOT / "integrations").glob("*/*/integration.yaml")):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path


# -- catalog release -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "existing", "pre", "expected"),
    [
        ("patch", [], None, "0.0.1"),
        ("minor", ["1.0.0", "1.1.0"], None, "1.2.0"),
        ("major", ["1.0.0", "1.10.0", "2.0.0-rc.1"], None, "2.0.0"),
        ("major", ["1.1.0", "2.0.0-rc.1"], "rc", "2.0.0-rc.2"),
        ("minor", ["1.0.0"], "beta", "1.1.0-beta.1"),
        ("1.5.0", ["1.0.0"], None, "1.5.0"),
        ("v1.5.0", ["1.0.0"], None, "1.5.0"),
    ],
)
def test_next_version(requested: str, existing: list[str], pre: str | None, expected: str) -> None:
    assert next_version(requested, existing, pre) == expected


@pytest.mark.parametrize(
    ("requested", "existing", "pre"),
    [
        ("1.0.0", ["1.0.0"], None),
        ("0.9.0", ["1.0.0"], None),
        ("minor", ["1.1.0", "2.0.0-rc.1"], None),  # 1.2.0 is below the pre-release
        ("1.2.3-rc.1", [], "rc"),
        ("latest", [], None),
    ],
)
def test_next_version_refuses(requested: str, existing: list[str], pre: str | None) -> None:
    with pytest.raises(ReleaseRefused):
        next_version(requested, existing, pre)


def _published_widget(repo: GitCatalog) -> None:
    repo.write_integration("acme/widget")
    repo.commit("2024-01-02T00:00:00Z")
    repo.tag("acme/widget/v1.0.0")


def test_release_tags_the_next_version_at_head(repo: GitCatalog) -> None:
    _published_widget(repo)

    released = run(repo.root, "release", "acme/widget", "minor", "--message", "Widgets 1.1")

    assert released.exit_code == 0, released.output
    assert "tagged acme/widget/v1.1.0" in released.output
    assert "git push origin acme/widget/v1.1.0" in released.output
    kind = repo.git("cat-file", "-t", "acme/widget/v1.1.0").strip()
    assert kind == "tag"  # annotated
    assert repo.sha("acme/widget/v1.1.0^{commit}") == repo.sha("HEAD")
    assert "Widgets 1.1" in repo.git("tag", "-l", "--format=%(contents)", "acme/widget/v1.1.0")
    listed = run(repo.root, "versions", "acme/widget", "--format", "json")
    assert json.loads(listed.stdout)["currentVersion"] == "1.1.0"


def test_release_refuses_a_dirty_integration(repo: GitCatalog) -> None:
    _published_widget(repo)
    repo.write_integration("acme/widget", name="Edited")

    refused = run(repo.root, "release", "acme/widget", "patch")

    assert refused.exit_code == 1
    assert "uncommitted changes in integrations/acme/widget/" in refused.output
    assert "acme/widget/v1.0.1" not in repo.git("tag", "-l")


def test_release_refuses_a_version_that_is_not_greater(repo: GitCatalog) -> None:
    _published_widget(repo)

    refused = run(repo.root, "release", "acme/widget", "1.0.0")

    assert refused.exit_code == 1
    assert "not greater than every published version" in refused.output
    assert repo.git("tag", "-l").split() == ["acme/widget/v1.0.0"]


def test_release_refuses_an_invalid_catalog(repo: GitCatalog) -> None:
    _published_widget(repo)
    repo.write("integrations/acme/broken/integration.yaml", "name: [\n")
    repo.commit("2024-01-03T00:00:00Z")

    refused = run(repo.root, "release", "acme/widget", "patch")

    assert refused.exit_code == 1
    assert "error[yaml-syntax]" in refused.output
    assert repo.git("tag", "-l").split() == ["acme/widget/v1.0.0"]


def test_release_of_an_unknown_integration(repo: GitCatalog) -> None:
    _published_widget(repo)

    refused = run(repo.root, "release", "acme/widgt", "patch")

    assert refused.exit_code == 1
    assert "did you mean `acme/widget`" in refused.output
