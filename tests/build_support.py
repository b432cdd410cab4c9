"""Shared helpers for the build, output and cache tests: the sample catalog in a real temporary
git repository, catalogs of many integrations, snapshots of output trees, and the CLI run in a
real subprocess.

Repositories are real (see `gitrepo_fixtures`); nothing here is mocked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from gitrepo_fixtures import GitCatalog, isolated_git_env
from integration_catalog.build import BuildOptions, BuildResult, build
from integration_catalog.cli import main
from integration_catalog.diagnostics import Severity

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
BASE_URL = "https://catalog.example.test/market/"

# The sample's releases: every dependency of the sample resolves against them. An annotated
# tag carries its own date; a lightweight one takes the commit's.
SAMPLE_TAGS: tuple[tuple[str, str | None], ...] = (
    ("aeontel/core-auth/v1.0.0", None),
    ("aeontel/core-auth/v1.1.0", None),
    ("aeontel/core-auth/v1.2.0", "2025-04-02T10:00:00Z"),
    ("aeontel/slack-alerts/v1.0.0", None),
    ("aeontel/slack-alerts/v1.2.0", "2025-04-20T10:00:00Z"),
    ("brightloop/nps-surveys/v1.0.0", "2025-05-01T10:00:00Z"),
    ("datapipe/warehouse-loader/v1.0.0", None),
    ("hubspot/crm-contacts/v1.0.0", None),
    ("hubspot/crm-contacts/v1.1.0", "2025-03-10T10:00:00Z"),
    ("hubspot/crm-contacts/v2.0.0-rc.1", "2025-05-12T10:00:00Z"),
    ("jdoe/github-issues/v0.1.0-beta.1", None),
    ("northwind/invoice-ocr/v1.1.0", None),
    ("pagerduty/incident-bridge/v1.0.0", None),
    ("stripe/legacy-checkout/v1.0.0", None),
    ("stripe/payments/v1.0.0", None),
    ("stripe/payments/v1.1.0", "2025-04-15T10:00:00Z"),
    ("stripe/payments/v2.0.0-rc.1", "2025-05-20T10:00:00Z"),
)
SAMPLE_DATE = "2025-01-10T09:00:00Z"


def copy_sample(repo: GitCatalog) -> None:
    """This repository's sample catalog (settings and integrations) into `repo`."""
    for name in ("catalog.yaml", "publishers.yaml"):
        shutil.copy(REPO_ROOT / name, repo.root / name)
    shutil.copytree(REPO_ROOT / "integrations", repo.root / "integrations", dirs_exist_ok=True)


def sample_repo(path: Path) -> GitCatalog:
    """The sample catalog committed once and tagged with its releases."""
    repo = GitCatalog(path)
    copy_sample(repo)
    repo.commit(SAMPLE_DATE, message="sample")
    for name, annotated_at in SAMPLE_TAGS:
        repo.tag(name, annotated_at=annotated_at)
    return repo


def many_repo(path: Path, count: int, *, date: str = "2024-03-01T08:00:00Z") -> GitCatalog:
    """`count` valid integrations of publisher `acme` (`acme/app-000`, ...), committed and each
    tagged v1.0.0 with one lightweight tag, written in a single git call."""
    repo = GitCatalog(path)
    for number in range(count):
        repo.write_integration(
            f"acme/app-{number:03}",
            name=f"App {number:03}",
            description=f"Integration number {number} of a large catalog.",
            interval=number + 1,
        )
    sha = repo.commit(date, message="many")
    refs = "".join(f"create refs/tags/acme/app-{n:03}/v1.0.0 {sha}\n" for n in range(count))
    repo.git("update-ref", "--stdin", stdin=refs)
    return repo


def build_ok(root: Path, out: Path, **options: object) -> BuildResult:
    """A build that must succeed; the errors are shown when it does not."""
    result = build(root, BuildOptions(out=out, **options))  # type: ignore[arg-type]
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert result.written is not None, errors
    return result


def read_tree(top: Path) -> dict[str, bytes]:
    """Every file below `top` (hidden ones too), by its relative POSIX path."""
    return {
        path.relative_to(top).as_posix(): path.read_bytes()
        for path in sorted(top.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@dataclass(frozen=True)
class FileState:
    data: bytes
    mtime_ns: int
    inode: int


def tree_state(top: Path) -> dict[str, FileState]:
    """Content, modification time and inode of every entry below `top` (directories too, with
    empty content), to tell an untouched tree from a rewritten one."""
    state: dict[str, FileState] = {}
    for path in sorted(top.rglob("*")):
        info = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        state[path.relative_to(top).as_posix()] = FileState(data, info.st_mtime_ns, info.st_ino)
    return state


def leftovers(out: Path) -> list[str]:
    """Temporary trees a build left beside `out`."""
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith((f".{out.name}.tmp-", f".{out.name}.old-"))
    )


def cli(root: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """`catalog --root ROOT ARGS...` in this process; output printed for a failing test."""
    environment: dict[str, str | None] = {"SOURCE_DATE_EPOCH": None, "GITHUB_ACTIONS": None}
    environment.update(env or {})
    result = CliRunner().invoke(
        main, ["--root", str(root), *args], catch_exceptions=False, env=environment
    )
    print(result.output)
    return result


def catalog_command(root: Path, *args: str) -> list[str]:
    """The command line of `catalog` run by the venv's own interpreter."""
    return [sys.executable, "-m", "integration_catalog", "--root", str(root), *args]


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = isolated_git_env()
    for name in ("SOURCE_DATE_EPOCH", "GITHUB_ACTIONS"):
        env.pop(name, None)
    env.update(overrides)
    return env


def run_catalog(
    root: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        catalog_command(root, *args),
        env=dict(env) if env is not None else subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=root,
    )
    print(result.stdout, result.stderr)
    return result


def bin_without_git(directory: Path) -> Path:
    """A directory for PATH holding a `python` (the venv's) and no git."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "python").symlink_to(sys.executable)
    assert shutil.which("git", path=str(directory)) is None
    return directory
