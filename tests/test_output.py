"""The output tree is replaced atomically: failed, interrupted and concurrent builds, writer
errors, refused output directories, a missing git, a corrupt repository, and the carry-over of
unchanged files. Real repositories, real files, real processes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from build_support import (
    bin_without_git,
    build_ok,
    catalog_command,
    cli,
    leftovers,
    many_repo,
    read_tree,
    run_catalog,
    sample_repo,
    subprocess_env,
    tree_state,
)
from gitrepo_fixtures import GitCatalog, integration_yaml
from integration_catalog import build, output, site
from integration_catalog.build import _alternating
from integration_catalog.cache import CACHE_DIR
from integration_catalog.gitrepo import BlobReader, GitError
from integration_catalog.output import (
    MARKER,
    Deferred,
    Made,
    OutputError,
    OutputFile,
    tree_digest,
    write_tree,
)
from integration_catalog.site.render import template_dir
from integration_catalog.workers import Workers

DAY1, DAY2, DAY3 = "2024-02-01T10:00:00Z", "2024-02-02T10:00:00Z", "2024-02-03T10:00:00Z"


def _small_repo(path: Path) -> GitCatalog:
    repo = GitCatalog(path)
    for key, interval in (("acme/alpha", 1), ("acme/beta", 2), ("acme/gamma", 3)):
        repo.write_integration(key, name=key.title(), interval=interval)
    repo.commit(DAY1)
    for key in ("acme/alpha", "acme/beta", "acme/gamma"):
        repo.tag(f"{key}/v1.0.0")
    return repo


@pytest.fixture
def small(tmp_path: Path) -> GitCatalog:
    return _small_repo(tmp_path / "repo")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> GitCatalog:
    """A few hundred integrations: a build that takes long enough to be interrupted."""
    return many_repo(tmp_path_factory.mktemp("big") / "repo", 300)


def _surroundings(out: Path) -> dict[str, object]:
    """Everything beside and below `out`, with contents, times and inodes."""
    return {
        "beside": sorted(p.name for p in out.parent.iterdir() if not p.name.endswith(".lock")),
        "tree": tree_state(out) if out.exists() else None,
    }


# -- a failed build writes nothing -------------------------------------------------------------


def test_a_build_with_errors_leaves_the_previous_output_untouched(
    small: GitCatalog, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_ok(small.root, out)
    before = _surroundings(out)
    small.write_integration("acme/beta", integration_yaml("Beta", extra="surprise: 1\n"))
    small.commit(DAY2)
    result = cli(small.root, "build", "--out", str(out))
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert _surroundings(out) == before
    assert leftovers(out) == []


def test_a_first_build_with_errors_creates_no_directory(small: GitCatalog, tmp_path: Path) -> None:
    small.write_integration("acme/beta", "name: [unclosed\n")
    out = tmp_path / "never" / "site"
    assert cli(small.root, "build", "--out", str(out)).exit_code == 1
    assert not out.exists()


def _with_unknown_dependency(repo: GitCatalog, key: str) -> None:
    """An error only the rules over the whole catalog find: the file is fine on its own."""
    text = integration_yaml("Beta").replace(
        "  dependencies: {}\n", '  dependencies:\n    acme/nowhere: "^1.0.0"\n'
    )
    repo.write_integration(key, text)
    repo.commit(DAY2)


# A build applies those rules while the workers make its first files: before the last one is
# listed, or after it (a catalog with fewer files than are made first).
@pytest.mark.parametrize("judged_after", [1, 100_000])
def test_a_build_the_rules_over_the_catalog_reject_leaves_the_previous_output_untouched(
    small: GitCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, judged_after: int
) -> None:
    monkeypatch.setattr(build, "_JUDGED_AFTER", judged_after)
    monkeypatch.setattr(output, "_CHUNK", 2)  # files still being made when the rules say no
    out = tmp_path / "site"
    build_ok(small.root, out)
    before = _surroundings(out)
    _with_unknown_dependency(small, "acme/beta")
    result = cli(small.root, "build", "--out", str(out))
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    validated = cli(small.root, "validate")
    assert validated.exit_code == 1
    found = [line for line in result.output.splitlines() if "dependency-unknown" in line]
    assert found
    assert found == [line for line in validated.output.splitlines() if "dependency-unknown" in line]
    time.sleep(0.2)  # (what a worker wrote after the tree was removed would show now)
    assert _surroundings(out) == before
    assert leftovers(out) == []


def test_a_first_build_the_rules_reject_creates_no_tree(
    small: GitCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "_JUDGED_AFTER", 1)
    _with_unknown_dependency(small, "acme/beta")
    beside = tmp_path / "beside" / "site"
    beside.parent.mkdir()
    assert cli(small.root, "build", "--out", str(beside)).exit_code == 1
    assert not beside.exists()
    assert leftovers(beside) == []
    # Into a directory that does not exist yet, the rules are applied first: none is created.
    never = tmp_path / "never" / "site"
    assert cli(small.root, "build", "--out", str(never)).exit_code == 1
    assert not never.parent.exists()


# -- write_tree and its writer failing ---------------------------------------------------------


def _files(count: int, *, fail_after: int | None = None) -> Iterator[tuple[str, bytes]]:
    for number in range(count):
        if fail_after is not None and number == fail_after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        yield f"dir{number % 3}/file{number}.txt", f"new {number}\n".encode()


def test_write_tree_writes_a_tree_with_its_marker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert write_tree(out, _files(7)) == 7
    tree = read_tree(out)
    assert tree.pop(MARKER).startswith(b"{")
    assert tree == {f"dir{n % 3}/file{n}.txt": f"new {n}\n".encode() for n in range(7)}
    assert leftovers(out) == []


def test_a_rebuild_replaces_the_tree_and_removes_the_previous_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, [("old.txt", b"old\n"), ("dir/old.txt", b"old\n")])
    seen: list[list[str]] = []
    write_tree(out, _files(4), after=lambda tree, _: seen.append(sorted(read_tree(tree))))
    assert seen == [sorted([MARKER, *(f"dir{n % 3}/file{n}.txt" for n in range(4))])]
    assert sorted(read_tree(out)) == seen[0]
    assert leftovers(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_a_writer_error_part_way_leaves_the_previous_tree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, [("keep.txt", b"old\n"), ("dir0/file0.txt", b"old 0\n")])
    before = _surroundings(out)
    with pytest.raises(OutputError, match="No space left on device") as raised:
        write_tree(out, _files(50, fail_after=20))
    assert "previous output is unchanged" in str(raised.value)
    assert _surroundings(out) == before
    assert leftovers(out) == []
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_a_writer_error_on_the_first_build_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OutputError):
        write_tree(out, _files(10, fail_after=3))
    assert not out.exists()
    assert leftovers(out) == []


def test_a_path_outside_the_tree_is_refused_and_cleaned_up(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, [("a.txt", b"a\n")])
    before = _surroundings(out)
    with pytest.raises(ValueError, match="outside the output tree"):
        write_tree(out, [("b.txt", b"b\n"), ("../escape.txt", b"x\n")])
    assert not (tmp_path / "escape.txt").exists()
    assert _surroundings(out) == before
    assert leftovers(out) == []


# What this process has when the workers fork: they must not depend on anything made later.
_STATE = "at the fork"


def _made_from(value: str, number: int) -> Made:
    return Made(f"{value}-{number}", partial(_content_of, value, number))


def _content_of(value: str, number: int) -> bytes:
    # says which process rendered it, and what it had inherited
    return f"{value} {number} {_STATE.replace(' ', '-')} {os.getpid()}\n".encode()


def _deferred_files(count: int) -> Iterator[OutputFile]:
    for value in ("first", "second"):
        for number in range(count):
            yield Deferred(f"{value}/{number}.txt", partial(_made_from, value, number))


def test_deferred_files_are_made_on_the_workers_given_with_all_they_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "_CHUNK", 8)
    monkeypatch.setattr(output, "_PARALLEL_FROM", 4)
    out = tmp_path / "out"
    digests: list[str] = []
    with Workers(2) as workers:
        workers.pool()  # forked now: what the files are made of comes later
        monkeypatch.setattr(sys.modules[__name__], "_STATE", "changed since")
        written = write_tree(out, _deferred_files(20), workers, lambda _, d: digests.append(d()))
        assert written == 40
        # (worked out in parts by the workers, the digest is the one a look at the tree gives)
        assert digests == [tree_digest(out)]
        tree = read_tree(out)
        del tree[MARKER]
        pids = set()
        for path, content in tree.items():
            value, number, state, pid = content.decode().split()
            assert (path, state) == (f"{value}/{number}.txt", "at-the-fork")
            pids.add(pid)
        assert len(tree) == 40
        assert str(os.getpid()) not in pids
        # The workers go on: the next tree is made on them too. Made again with the same
        # fingerprints, every file is carried over, not rendered again.
        assert workers.forked
        inodes = {path: (out / path).stat().st_ino for path in tree}
        write_tree(out, _deferred_files(20), workers)
        assert {path: (out / path).stat().st_ino for path in tree} == inodes
        assert {k: v for k, v in read_tree(out).items() if k != MARKER} == tree


def _failing_made(number: int) -> Made:
    if number == 2:
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    time.sleep(0.02)  # the others are still being made when the failure is seen
    return _made_from("file", number)


def test_a_failed_tree_waits_for_the_files_being_made_and_keeps_the_workers_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "_CHUNK", 2)  # many chunks, on both workers at once
    monkeypatch.setattr(output, "_PARALLEL_FROM", 4)
    out = tmp_path / "out"
    write_tree(out, [("old.txt", b"old\n")])
    before = _surroundings(out)
    files = [Deferred(f"{n}.txt", partial(_failing_made, n)) for n in range(40)]
    with Workers(2) as workers:
        workers.pool()
        with pytest.raises(OutputError, match="previous output is unchanged"):
            write_tree(out, files, workers)
        time.sleep(0.3)  # (what a worker wrote after the tree was removed would show now)
        assert _surroundings(out) == before
        assert leftovers(out) == []
        # The workers go on (`catalog serve` keeps them, with its threads running, so they
        # could not be forked again).
        assert workers.forked
        assert write_tree(out, _deferred_files(4), workers) == 8


def test_templates_edited_between_builds_of_one_process_are_used(tmp_path: Path) -> None:
    # `catalog serve` builds again in the same process when a template changes: a compiled
    # template must not outlive its file (the new pages' fingerprints name the new ones).
    repo = sample_repo(tmp_path / "repo")
    shutil.copytree(template_dir(tmp_path / "nowhere"), repo.root / "templates")
    out = tmp_path / "out"
    build_ok(repo.root, out, workers=1)
    base = repo.root / "templates" / "base.html"
    base.write_text(base.read_text().replace("</body>", "<!-- edited --></body>"))
    build_ok(repo.root, out, workers=1)
    fresh = tmp_path / "fresh"
    build_ok(repo.root, fresh, workers=1)
    assert b"<!-- edited -->" in (out / "404.html").read_bytes()
    assert read_tree(out) == read_tree(fresh)


def test_templates_that_cannot_be_read_fail_the_build_as_an_environment_problem(
    small: GitCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    build_ok(small.root, out)
    before = tree_state(out)

    def unreadable(directory: Path) -> None:
        raise PermissionError(13, "Permission denied", str(directory / "static"))

    monkeypatch.setattr(site, "assets", unreadable)
    # another base URL, so that the build runs (a traceback would raise here)
    result = cli(small.root, "build", "--out", str(out), "--base-url", "https://x.example/")
    assert result.exit_code == 2, result.output
    assert "reading the site's templates failed: Permission denied" in result.output
    assert tree_state(out) == before
    assert leftovers(out) == []


def test_stale_temporary_trees_of_killed_builds_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for stale in (".out.tmp-99999999", ".out.old-99999999"):
        (tmp_path / stale / "sub").mkdir(parents=True)
        (tmp_path / stale / "sub" / "f").write_bytes(b"partial")
    (tmp_path / ".other.tmp-1").mkdir()  # another output's: left alone
    write_tree(out, [("a.txt", b"a\n")])
    assert leftovers(out) == []
    assert (tmp_path / ".other.tmp-1").is_dir()


def test_stale_trees_are_found_by_the_exact_name(tmp_path: Path) -> None:
    """A name with glob characters matches only itself: its own stale tree goes, and another
    output's staging tree (a build running under another lock) is left alone."""
    (tmp_path / ".out[1].tmp-99999999").mkdir()
    (tmp_path / ".site.tmp-12345").mkdir()
    write_tree(tmp_path / "out[1]", [("a.txt", b"a\n")])
    write_tree(tmp_path / "s*e", [("a.txt", b"a\n")])
    assert not (tmp_path / ".out[1].tmp-99999999").exists()
    assert (tmp_path / ".site.tmp-12345").is_dir()


# -- SIGKILL in the middle of a real build -----------------------------------------------------


def test_sigkill_during_a_build_keeps_the_previous_site(big: GitCatalog, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_ok(big.root, out)
    before = _surroundings(out)
    big.write_integration("acme/app-000", integration_yaml("Changed", interval=999))
    big.commit(DAY2)

    process = subprocess.Popen(
        catalog_command(big.root, "build", "--out", str(out)),
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staging = tmp_path / f".site.tmp-{process.pid}"
    deadline = time.monotonic() + 60
    try:
        while not staging.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        assert staging.exists(), "the build finished or stalled before its staging tree appeared"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert _surroundings(out)["tree"] == before["tree"]
    assert json.loads((out / "api/v1/integrations/acme/app-000.json").read_bytes())["name"] == (
        "App 000"
    )

    rebuilt = run_catalog(big.root, "build", "--out", str(out))
    assert rebuilt.returncode == 0
    assert leftovers(out) == []
    record = json.loads((out / "api/v1/integrations/acme/app-000.json").read_bytes())
    assert record["name"] == "Changed"
    assert len(list((out / "api/v1/integrations/acme").glob("*.json"))) == 300


# -- output directories that are refused -------------------------------------------------------


def _refused(root: Path, out: Path, watched: list[Path]) -> str:
    before = [tree_state(p) if p.is_dir() else p.read_bytes() for p in watched]
    result = cli(root, "build", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert [tree_state(p) if p.is_dir() else p.read_bytes() for p in watched] == before
    assert "Traceback" not in result.output
    return result.output


def test_out_that_is_a_file_is_refused(small: GitCatalog, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    message = _refused(small.root, target, [target, small.root])
    assert "is a file" in message


def test_out_that_is_the_catalog_root_is_refused(small: GitCatalog) -> None:
    message = _refused(small.root, small.root, [small.root])
    assert "holds the catalog" in message


def test_out_that_holds_the_catalog_is_refused(small: GitCatalog, tmp_path: Path) -> None:
    message = _refused(small.root, tmp_path, [tmp_path])
    assert "holds the catalog" in message


@pytest.mark.parametrize("inside", ["integrations", "integrations/acme", "integrations/new/dir"])
def test_out_among_the_sources_is_refused(small: GitCatalog, inside: str) -> None:
    message = _refused(small.root, small.root / inside, [small.root])
    assert "sources" in message
    assert not (small.root / "integrations" / "new").exists()


def test_a_symlink_to_the_root_is_refused(small: GitCatalog, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(small.root)
    message = _refused(small.root, link, [small.root])
    assert "holds the catalog" in message


def test_a_foreign_non_empty_directory_is_refused(small: GitCatalog, tmp_path: Path) -> None:
    foreign = tmp_path / "documents"
    (foreign / "deep").mkdir(parents=True)
    (foreign / "thesis.txt").write_text("years of work\n")
    (foreign / "deep" / "data.bin").write_bytes(b"\x00\x01")
    message = _refused(small.root, foreign, [foreign])
    assert "not empty and was not made by `catalog build`" in message


def test_an_empty_directory_and_a_previous_build_are_accepted(
    small: GitCatalog, tmp_path: Path
) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert cli(small.root, "build", "--out", str(out)).exit_code == 0
    assert (out / MARKER).is_file()
    assert cli(small.root, "build", "--out", str(out)).exit_code == 0


# -- concurrent builds -------------------------------------------------------------------------


def test_two_builds_at_once_both_succeed_and_agree(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path / "repo")
    reference = tmp_path / "reference"
    build_ok(repo.root, reference)
    build_ok(repo.root, tmp_path / "warm")  # the cache is shared: both runs start alike

    out = tmp_path / "site"
    processes = [
        subprocess.Popen(
            catalog_command(repo.root, "build", "--out", str(out)),
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outcomes
    assert read_tree(out) == read_tree(reference)
    assert leftovers(out) == []


# -- the environment ---------------------------------------------------------------------------


def test_git_missing_from_path_is_an_environment_error(small: GitCatalog, tmp_path: Path) -> None:
    path = bin_without_git(tmp_path / "bin")
    out = tmp_path / "site"
    result = run_catalog(small.root, "build", "--out", str(out), env=subprocess_env(PATH=str(path)))
    assert result.returncode == 2
    assert "git" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def _corrupt_tagged(repo: GitCatalog, spec: str) -> str:
    """Overwrite the loose object that `spec` names at the tag `acme/beta/v1.0.0`, once the
    work tree and the newest commit no longer hold it; returns the tagged commit."""
    tagged = repo.git("rev-parse", f"acme/beta/v1.0.0:{spec}")
    repo.write_integration("acme/beta", integration_yaml("Beta", interval=22))
    repo.commit(DAY2)
    obj = repo.toplevel / ".git" / "objects" / tagged[:2] / tagged[2:]
    assert obj.is_file(), f"the tagged {spec} is not a loose object"
    obj.chmod(0o644)
    obj.write_bytes(b"this is not a zlib stream" * 8)
    return repo.git("rev-parse", "acme/beta/v1.0.0^{commit}")


def _corrupt_tagged_blob(repo: GitCatalog) -> str:
    return _corrupt_tagged(repo, "integrations/acme/beta/integration.yaml")


def _corrupt_tagged_tree(repo: GitCatalog) -> str:
    return _corrupt_tagged(repo, "integrations/acme/beta")


@pytest.mark.parametrize(
    "corrupt", [_corrupt_tagged_blob, _corrupt_tagged_tree], ids=["blob", "tree"]
)
def test_a_corrupt_object_is_a_clear_error(
    small: GitCatalog, tmp_path: Path, corrupt: Callable[[GitCatalog], object]
) -> None:
    out = tmp_path / "site"
    build_ok(small.root, out)
    before = _surroundings(out)
    corrupt(small)
    # A checked file is cached by content, so a corrupt object is noticed when git must read
    # it: on a machine (or CI run) without the cache.
    shutil.rmtree(small.root / CACHE_DIR)
    result = run_catalog(small.root, "build", "--out", str(out))
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode != 0, "the build succeeded on a corrupt repository"
    assert "corrupt" in result.stderr
    assert _surroundings(out) == before
    assert leftovers(out) == []


# -- carry-over of unchanged files -------------------------------------------------------------


def test_a_rebuild_keeps_unchanged_files_and_replaces_changed_ones(
    small: GitCatalog, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    epoch = 1717200000
    build_ok(small.root, out, source_date_epoch=epoch)
    first = tree_state(out)
    build_ok(small.root, out, source_date_epoch=epoch)
    second = tree_state(out)
    files = [rel for rel in first if (out / rel).is_file() and rel != MARKER]
    assert len(files) > 20
    for rel in files:
        assert second[rel] == first[rel], rel  # same bytes, same mtime, same inode
    assert (out / "api/v1/integrations.json").stat().st_nlink == 1  # the old tree is gone

    small.write_integration("acme/beta", integration_yaml("Beta Renamed", interval=2))
    small.commit(DAY3)
    build_ok(small.root, out, source_date_epoch=epoch)
    third = tree_state(out)
    for rel in (
        "api/v1/integrations/acme/beta.json",
        "integrations/acme/beta/index.html",
        "api/v1/integrations.json",
    ):
        assert third[rel].data != second[rel].data, rel
        assert third[rel].inode != second[rel].inode, rel
    for rel in (
        "api/v1/integrations/acme/alpha.json",
        "api/v1/integrations/acme/alpha/versions.json",
        "integrations/acme/alpha/index.html",
        "api/v1/integrations/acme/beta/versions.json",  # the release did not change
        "api/v1/integrations/acme/gamma.json",
        "api/v1/schema/integration.schema.json",
        "api/v1/types.d.ts",
    ):
        assert third[rel] == second[rel], rel
    assert read_tree(out) == read_tree(_fresh_build(small, tmp_path / "fresh", epoch))


def _fresh_build(repo: GitCatalog, out: Path, epoch: int) -> Path:
    build_ok(repo.root, out, source_date_epoch=epoch)
    return out


def test_the_api_and_the_site_are_written_in_turn() -> None:
    """Records are made in the building process and pages on workers: the build takes a
    file of each in turn, every file once, the rest of the longer stream at the end."""
    api = [(f"api/{n}.json", b"{}") for n in range(3)]
    pages = [(f"p/{n}.html", b"") for n in range(5)]
    taken = [path for path, _ in _alternating(iter(api), iter(pages))]
    assert taken == [
        "api/0.json",
        "p/0.html",
        "api/1.json",
        "p/1.html",
        "api/2.json",
        "p/2.html",
        "p/3.html",
        "p/4.html",
    ]


def test_reading_history_through_a_corrupt_tree_is_a_clear_error(small: GitCatalog) -> None:
    """The blob ids of tagged files are found by walking the trees: one that is listed but
    cannot be read stops the build, rather than passing for a file that is not there."""
    commit = _corrupt_tagged_tree(small)
    with BlobReader(small.root) as reader:
        assert reader.ids([f"{commit}:integrations/acme/alpha/integration.yaml"])[0]
        with pytest.raises(GitError, match="corrupt"):
            reader.ids([f"{commit}:integrations/acme/beta/integration.yaml"])


def _git_blob_ids(repo: GitCatalog, names: list[str]) -> list[str | None]:
    """What git itself names `<commit>:<path>`, where that is a blob."""
    found: list[str | None] = []
    for name in names:
        kind = subprocess.run(
            ["git", "cat-file", "-t", name],
            cwd=repo.root,
            capture_output=True,
            text=True,
            check=False,  # a missing path fails
        ).stdout.strip()
        found.append(repo.git("rev-parse", name) if kind == "blob" else None)
    return found


_PATHS = (
    "integrations/acme/alpha/integration.yaml",
    "integrations/acme/alpha/link.yaml",  # a link to a file
    "integrations/acme/alpha",
    "integrations/acme/alpha/missing.yaml",
    "integrations/acme/alpha/integration.yaml/x",  # through a file
    "integrations/acme/linked/integration.yaml",  # through a link to a directory
    "integrations/acme/sub",  # a submodule
    "integrations/acme/sub/integration.yaml",  # into a submodule
    "integrations/nobody/none/integration.yaml",
    "catalog.yaml",
)


def test_blob_ids_are_the_ones_git_names(small: GitCatalog) -> None:
    """`ids` walks the trees itself: it must answer as git does for every kind of path."""
    (small.root / "integrations/acme/alpha/link.yaml").symlink_to("integration.yaml")
    (small.root / "integrations/acme/linked").symlink_to("alpha")
    small.commit(DAY2)
    small.git(
        "update-index", "--add", "--cacheinfo", f"160000,{small.sha('HEAD')},integrations/acme/sub"
    )
    small.git("commit", "-q", "-m", "a submodule", committer_date="2024-03-01T00:00:00Z")
    commits = {small.git("rev-parse", rev) for rev in ("HEAD", "HEAD~1", "HEAD~2")}
    names = [f"{commit}:{path}" for commit in sorted(commits) for path in _PATHS]
    expected = _git_blob_ids(small, names)
    assert any(expected) and None in expected
    with BlobReader(small.root) as reader:
        assert reader.ids(names) == expected


def test_blob_ids_in_a_sha256_repository(tmp_path: Path) -> None:
    repo = GitCatalog(tmp_path / "repo", init=False)
    repo.git("init", "-q", "--object-format=sha256")
    repo.write_integration("acme/alpha")
    repo.commit(DAY2)
    names = [f"{repo.sha('HEAD')}:{path}" for path in _PATHS]
    expected = _git_blob_ids(repo, names)
    assert len(expected[0] or "") == 64
    with BlobReader(repo.root) as reader:
        assert reader.ids(names) == expected


def test_a_directory_mode_written_with_a_leading_zero_is_a_directory(small: GitCatalog) -> None:
    """Old tools wrote `040000`; git reads modes as numbers, and so does the walk."""

    def run(*args: str, stdin: bytes) -> str:
        done = subprocess.run(args, cwd=small.root, input=stdin, capture_output=True, check=True)
        return done.stdout.decode().strip()

    def swapped(tree: str, name: str, oid: str) -> bytes:  # ls-tree's lines, `name` replaced
        lines = small.git("ls-tree", tree).splitlines()
        return "".join(
            f"{line.rsplit(' ', 1)[0]} {oid}\t{name}\n"
            if line.endswith(f"\t{name}")
            else line + "\n"
            for line in lines
        ).encode()

    raw = b"".join(  # integrations/acme, its directories written `040000`
        (b"040000" if kind == "tree" else mode.encode())
        + b" "
        + name.encode()
        + b"\0"
        + bytes.fromhex(oid)
        for mode, kind, oid, name in (
            (*line.split("\t")[0].split(" "), line.split("\t")[1])
            for line in small.git("ls-tree", "HEAD:integrations/acme").splitlines()
        )
    )
    acme = run("git", "hash-object", "-t", "tree", "-w", "--literally", "--stdin", stdin=raw)
    integrations = run("git", "mktree", stdin=swapped("HEAD:integrations", "acme", acme))
    root = run("git", "mktree", stdin=swapped("HEAD", "integrations", integrations))
    commit = run("git", "commit-tree", root, "-m", "padded modes", stdin=b"")
    path = "integrations/acme/alpha/integration.yaml"
    with BlobReader(small.root) as reader:
        assert reader.ids([f"{commit}:{path}"]) == [small.git("rev-parse", f"HEAD:{path}")]
