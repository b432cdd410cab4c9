"""Running again on unchanged inputs: `validate` reuses the last run's findings and `build`
keeps the tree it made, while any change to what they read (a file, its mode, a tag, a commit,
an option, the templates, the output tree itself) makes them do the work again. Real
repositories, real files, the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest

from build_support import BASE_URL, REPO_ROOT, build_ok, cli, sample_repo, tree_state
from gitrepo_fixtures import GitCatalog
from integration_catalog import uptodate
from integration_catalog.build import BuildOptions, build
from integration_catalog.catalog import check_catalog, load_catalog
from integration_catalog.gitrepo import refs_fingerprint
from integration_catalog.uptodate import read_inputs, recall, remember

WIDGET = "integrations/aeontel/core-auth/integration.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    return sample_repo(tmp_path / "repo")


def _fresh(root: Path, *only: Path) -> tuple[list[object], int]:
    result = load_catalog(root, only, read_published=False, use_cache=False)
    return list(result.diagnostics), result.files_checked


def _checked(root: Path, *only: Path) -> tuple[tuple[list[object], int], bool]:
    report = check_catalog(root, only)
    return (list(report.diagnostics), report.files_checked), report.reused


def _edit(repo: GitCatalog, name: str = 'Aeontel Core Auth"\nbogus: "1') -> None:
    """Rename the integration; by default adding an unknown field (an error) too."""
    path = repo.root / WIDGET
    path.write_text(path.read_text().replace('name: "Aeontel Core Auth"', f'name: "{name}"', 1))


# -- validate ---------------------------------------------------------------------------------


def test_a_second_validate_reuses_the_first_ones_findings(repo: GitCatalog) -> None:
    first, reused = _checked(repo.root)
    assert not reused
    second, reused = _checked(repo.root)
    assert reused and second == first == _fresh(repo.root)


def test_a_narrowed_validate_is_narrowed_from_the_reused_findings(repo: GitCatalog) -> None:
    _edit(repo)  # an error in one integration, so that narrowing shows
    whole, _ = _checked(repo.root)
    assert any(d.path == WIDGET for d in whole[0])  # type: ignore[attr-defined]
    for only in (
        Path(WIDGET).parent,
        Path(WIDGET),
        Path("integrations/aeontel"),
        Path("integrations/stripe/payments/README.md"),
        Path("catalog.yaml"),
    ):
        narrowed, reused = _checked(repo.root, repo.root / only)
        assert reused and narrowed == _fresh(repo.root, repo.root / only)


@pytest.mark.parametrize(
    "change",
    ["edit", "chmod", "new-file", "remove-readme", "tag", "commit", "settings", "symlink"],
)
def test_any_change_to_what_validate_reads_is_noticed(repo: GitCatalog, change: str) -> None:
    _checked(repo.root)
    readme = repo.root / "integrations/aeontel/core-auth/README.md"
    if change == "edit":
        _edit(repo)
    elif change == "chmod":
        (repo.root / WIDGET).chmod(0o000 if os.geteuid() != 0 else 0o755)
    elif change == "new-file":
        (repo.root / "integrations/aeontel/core-auth/notes.md").write_text("token ghp_" + "a" * 36)
    elif change == "remove-readme":
        readme.unlink()
    elif change == "tag":
        repo.tag("aeontel/core-auth/v9.0.0")
    elif change == "commit":
        repo.git("commit", "--allow-empty", "-m", "empty")
    elif change == "settings":
        path = repo.root / "publishers.yaml"
        path.write_text(path.read_text() + "\n# a comment\n")
    elif change == "symlink":
        readme.unlink()
        readme.symlink_to("/etc/hostname")
    found, reused = _checked(repo.root)
    assert not reused
    assert found == _fresh(repo.root)
    (repo.root / WIDGET).chmod(0o644)


@pytest.mark.parametrize("change", ["edit", "new-file", "tag"])
def test_a_record_of_a_run_during_which_its_inputs_changed_is_not_reused(
    repo: GitCatalog, change: str
) -> None:
    """A run takes the digest of its inputs as it starts and records its findings under it as
    it ends: anything changed in between shows in the next run's digest."""
    inputs = read_inputs(repo.root)
    assert inputs is not None
    if change == "edit":
        _edit(repo)
    elif change == "new-file":
        (repo.root / "integrations/aeontel/core-auth/notes.md").write_text("notes\n")
    else:
        repo.tag("aeontel/core-auth/v9.0.0")
    remember("validate", inputs, {"found": "before the change"})
    now = read_inputs(repo.root)
    assert now is not None and recall("validate", now) is None


@pytest.mark.parametrize("change", ["tag", "commit"])
def test_a_git_change_made_and_undone_while_a_run_ran_leaves_no_record(
    repo: GitCatalog, change: str
) -> None:
    """git's state, unlike a file's change time, can go back: a run that saw a tag (or a
    commit) that is gone again must not leave findings for the state it started from."""
    inputs = read_inputs(repo.root)
    assert inputs is not None
    if change == "tag":
        repo.tag("aeontel/core-auth/v9.0.0")
    else:
        repo.git("commit", "--allow-empty", "-m", "made while the run ran")
    remember("validate", inputs, {"found": "with the change"})
    if change == "tag":
        repo.git("tag", "-d", "aeontel/core-auth/v9.0.0")
    else:
        repo.git("reset", "--soft", "HEAD^")
    now = read_inputs(repo.root)
    assert now is not None and now.key == inputs.key  # the state the run started from
    assert recall("validate", now) is None


def test_git_asked_again_once_all_it_says_was_read_is_what_counts(repo: GitCatalog) -> None:
    """A build asks git again as soon as it has read all git says, not as it ends: a tag made
    after it started and gone again before it ended still leaves no record."""
    inputs = read_inputs(repo.root)
    assert inputs is not None
    repo.tag("aeontel/core-auth/v9.0.0")
    asked: Future[bytes | None] = Future()
    asked.set_result(refs_fingerprint(repo.root))
    repo.git("tag", "-d", "aeontel/core-auth/v9.0.0")
    remember("validate", inputs, {"found": "with the change"}, asked)
    now = read_inputs(repo.root)
    assert now is not None and now.key == inputs.key
    assert recall("validate", now) is None


def test_a_damaged_record_is_not_trusted(repo: GitCatalog) -> None:
    _checked(repo.root)
    [record] = (repo.root / ".catalog-cache" / "runs").glob("validate.json")
    data = json.loads(record.read_text())
    data["body"] = data["body"].replace('"files":', '"files":1')
    record.write_text(json.dumps(data))
    found, reused = _checked(repo.root)
    assert not reused and found == _fresh(repo.root)


def test_the_cli_prints_the_same_either_way(repo: GitCatalog) -> None:
    _edit(repo)
    first = cli(repo.root, "validate", "--format", "json")
    second = cli(repo.root, "validate", "--format", "json")
    assert (first.exit_code, first.stdout) == (second.exit_code, second.stdout)
    assert first.exit_code == 1


# -- build ------------------------------------------------------------------------------------


def test_a_second_build_keeps_the_tree_untouched(repo: GitCatalog, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = build_ok(repo.root, out)
    assert not first.up_to_date and first.written
    before = tree_state(out)
    second = build_ok(repo.root, out)
    assert second.up_to_date and second.written == 0
    assert (second.integrations, second.versions) == (first.integrations, first.versions)
    assert second.diagnostics == first.diagnostics
    assert tree_state(out) == before  # bytes, modification times and inodes
    run = cli(repo.root, "build", "--out", str(out))
    assert run.exit_code == 0 and "is up to date" in run.output


def test_a_slow_git_does_not_see_the_tree_being_written(
    repo: GitCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git is asked again on a thread; the tree is written only once it has answered, so that
    an output directory inside the repository (whose staging tree beside it is not ignored)
    is not in what git reports, and the build after keeps the tree."""
    repo.write(".gitignore", "/site/\n/.*.lock\n")  # as this repository ignores them
    repo.commit("2024-03-01T10:00:00Z")
    asked_with = uptodate.refs_fingerprint

    def slow(root: Path) -> bytes | None:
        # answers only once the tree is being written, when that comes first (for 1 s)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and not list(root.glob(".site.tmp-*")):
            time.sleep(0.01)
        return asked_with(root)

    monkeypatch.setattr(uptodate, "refs_fingerprint", slow)
    out = repo.root / "site"
    assert not build_ok(repo.root, out).up_to_date
    assert build_ok(repo.root, out).up_to_date


def test_a_rebuild_is_kept_by_the_build_after_it(repo: GitCatalog, tmp_path: Path) -> None:
    # The second build carries most files over from the first as hard links, and removes the
    # first tree: the record it leaves must be of its tree as it stays.
    out = tmp_path / "site"
    build_ok(repo.root, out)
    _edit(repo, "Aeontel Core Auth 2")
    rebuilt = build_ok(repo.root, out)
    assert not rebuilt.up_to_date
    before = tree_state(out)
    third = build_ok(repo.root, out)
    assert third.up_to_date and third.written == 0
    assert tree_state(out) == before


@pytest.mark.parametrize(
    "change",
    ["edit", "tag", "base-url", "templates", "touched", "removed", "added", "empty-directory"],
)
def test_a_build_runs_again_when_anything_it_depends_on_changed(
    repo: GitCatalog, tmp_path: Path, change: str
) -> None:
    out = tmp_path / "site"
    build_ok(repo.root, out)
    options: dict[str, object] = {}
    page = out / "index.html"
    if change == "edit":
        _edit(repo, "Aeontel Core Auth 2")
    elif change == "tag":
        repo.tag("aeontel/core-auth/v9.0.0")
    elif change == "base-url":
        options["base_url"] = BASE_URL
    elif change == "templates":
        shutil.copytree(REPO_ROOT / "templates", repo.root / "templates")
        base = repo.root / "templates" / "base.html"
        base.write_text(base.read_text() + "\n{# changed #}\n")
    elif change == "touched":
        os.utime(page, ns=(1, 1))
    elif change == "removed":
        page.unlink()
    elif change == "added":
        (out / "extra.txt").write_text("not made by the build")
    elif change == "empty-directory":
        (out / "extra").mkdir()
    result = build(repo.root, BuildOptions(out=out, **options))  # type: ignore[arg-type]
    assert not result.up_to_date and result.written
    reference = tmp_path / "reference"
    build_ok(repo.root, reference, **options)
    assert {p: s.data for p, s in tree_state(out).items()} == {
        p: s.data for p, s in tree_state(reference).items()
    }


def test_a_build_with_previous_always_runs(repo: GitCatalog, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_ok(repo.root, out)
    result = build_ok(repo.root, tmp_path / "site", previous=str(out))
    assert not result.up_to_date


def test_a_change_that_keeps_size_and_modification_time_is_noticed(repo: GitCatalog) -> None:
    path = repo.root / WIDGET
    _checked(repo.root)
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace("trustTier: first_party", "trustTier: first_pxrty", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    found, reused = _checked(repo.root)
    assert not reused and found == _fresh(repo.root)
    assert any(d.path == WIDGET for d in found[0])  # type: ignore[attr-defined]


def test_findings_made_while_files_were_recent_are_reused_once_they_settle(
    repo: GitCatalog,
) -> None:
    """Right after files change their times cannot be trusted, so their content is compared;
    the record made then still serves once the times can be trusted."""
    _edit(repo, "Aeontel Core Auth 3")
    first, reused = _checked(repo.root)  # the edited file is recent: compared by content
    assert not reused
    again, reused = _checked(repo.root)
    assert reused and again == first
    time.sleep(2.2)  # the edited file's times are now old enough to trust
    settled, reused = _checked(repo.root)
    assert reused and settled == first == _fresh(repo.root)


def test_what_git_status_reports_is_part_of_the_inputs(repo: GitCatalog) -> None:
    """Ignore rules, index flags and attributes decide what `git status` reports dirty."""
    (repo.root / "integrations/aeontel/core-auth/notes.tmp").write_text("scratch\n")
    first, _ = _checked(repo.root)
    assert "git-dirty" in [d.code for d in first[0]]  # type: ignore[attr-defined]
    exclude = repo.root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("*.tmp\n")
    found, reused = _checked(repo.root)
    assert not reused and found == _fresh(repo.root)
    assert "git-dirty" not in [d.code for d in found[0]]  # type: ignore[attr-defined]


def test_a_file_recent_when_recorded_is_compared_by_content_even_once_settled(
    repo: GitCatalog,
) -> None:
    """A record made while a file was recent holds its content digest; a later change that
    left the same metadata (a coarse clock) must still be noticed, so the content decides."""
    _edit(repo, "Aeontel Core Auth 4")
    _checked(repo.root)
    record = json.loads((repo.root / ".catalog-cache/runs/validate.json").read_text())
    assert WIDGET in record["racy"]
    now = read_inputs(repo.root, "ignored")
    assert now is not None
    settled = replace(now, key=record["key"], racy={})  # the same metadata, no longer recent
    assert recall("validate", settled) is not None
    path = repo.root / WIDGET
    path.write_text(path.read_text().replace("Core Auth 4", "Core Auth 5"))  # same size
    assert recall("validate", settled) is None
