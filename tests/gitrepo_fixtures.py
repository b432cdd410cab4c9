"""Real temporary git repositories holding a catalog, with dates under the test's control.

Every commit and tag takes its dates from GIT_AUTHOR_DATE / GIT_COMMITTER_DATE, so the times the
catalog derives from history can be asserted exactly. Nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

CATALOG_YAML = 'title: "Test catalog"\n'
PUBLISHERS_YAML = """\
acme:
  name: "Acme"
  trustTiers: [verified_publisher]
"""

# Variables of the environment that would make git read or write somewhere else.
_GIT_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


def isolated_git_env() -> dict[str, str]:
    """The test process's environment without anything that would redirect git, and without
    the user's or the system's git configuration."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
        }
    )
    return env


def integration_yaml(
    name: str = "Widget Sync",
    *,
    description: str = "Keeps widgets in step.",
    interval: int = 15,
    trust_tier: str = "community",
    extra: str = "",
) -> str:
    """A valid `integration.yaml`. Everything that publishing fills in is written out, so the
    published manifest is exactly what is written here."""
    return f"""\
name: "{name}"
description: "{description}"
workspaceId: "ws_acme"
visibility: public
trustTier: {trust_tier}
manifest:
  members:
    - key: sync
      kind: workflow
      description: "Copies widgets."
      forkOnInstall: false
  dependencies: {{}}
  defaults:
    interval: {interval}
variablesSchema:
  type: object
  properties:
    interval:
      type: integer
      default: 15
  required: [interval]
authConfig:
  type: api_key
  authHeaderName: "Authorization"
{extra}"""


class GitCatalog:
    """A catalog (catalog.yaml, publishers.yaml, integrations/) in a real git repository. The
    catalog root may sit below the repository's top level."""

    def __init__(self, toplevel: Path, subdir: str = "", *, init: bool = True) -> None:
        self.toplevel = toplevel
        self.root = toplevel / subdir if subdir else toplevel
        self.root.mkdir(parents=True, exist_ok=True)
        self.write("catalog.yaml", CATALOG_YAML)
        self.write("publishers.yaml", PUBLISHERS_YAML)
        if init:
            self.git("init", "-q", "-b", "main", str(toplevel))
            self.git("config", "user.name", "Config User")
            self.git("config", "user.email", "config@example.com")
            self.git("config", "commit.gpgSign", "false")
            self.git("config", "tag.gpgSign", "false")

    # -- files ------------------------------------------------------------------------------

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def write_integration(self, key: str, text: str | None = None, **fields: Any) -> None:
        body = text if text is not None else integration_yaml(**fields)
        self.write(f"integrations/{key}/integration.yaml", body)

    def remove(self, rel: str) -> None:
        path = self.root / rel
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()

    # -- git ----------------------------------------------------------------------------------

    def git(
        self,
        *args: str,
        author: str = "Alice Author",
        author_date: str | None = None,
        committer_date: str | None = None,
        stdin: str | None = None,
    ) -> str:
        env = isolated_git_env()
        env.update(
            {
                "GIT_AUTHOR_NAME": author,
                "GIT_AUTHOR_EMAIL": "author@example.com",
                "GIT_COMMITTER_NAME": "Carl Committer",
                "GIT_COMMITTER_EMAIL": "committer@example.com",
            }
        )
        if author_date is not None:
            env["GIT_AUTHOR_DATE"] = author_date
        if committer_date is not None:
            env["GIT_COMMITTER_DATE"] = committer_date
        result = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout.strip()

    def commit(
        self,
        date: str,
        *,
        author_date: str | None = None,
        author: str = "Alice Author",
        message: str = "change",
    ) -> str:
        """Commit everything in the catalog root; the full sha of the new commit."""
        self.git("add", "-A", ".")
        self.git(
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
            author=author,
            author_date=author_date or date,
            committer_date=date,
        )
        return self.sha("HEAD")

    def tag(self, name: str, rev: str = "HEAD", *, annotated_at: str | None = None) -> None:
        """A lightweight tag, or an annotated one whose tagger date is `annotated_at`."""
        if annotated_at is None:
            self.git("tag", name, rev)
        else:
            self.git("tag", "-a", "-m", f"release {name}", name, rev, committer_date=annotated_at)

    def sha(self, rev: str) -> str:
        return self.git("rev-parse", "--verify", "--quiet", rev)
