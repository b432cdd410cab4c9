"""Every command the README shows works as written, in order, in a fresh clone of this
repository (the sample catalog with its release tags restored from the bundle).

`make site` and `make test` are the two commands CI itself runs; they are left out here (the
second would run this very test). `git push` needs a remote and is left out too. A
`python3 -m http.server` line is started in the background on a free port, which the lines after
it use instead of the README's port."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitrepo_fixtures import isolated_git_env

REPO = Path(__file__).resolve().parent.parent
SKIPPED = ("make ", "git push ")


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readme_shows_the_commands_this_test_runs() -> None:
    commands = readme_commands()
    assert "make site" in commands and "make test" in commands
    assert any(c.startswith(".venv/bin/catalog new ") for c in commands)
    assert any(c.startswith(".venv/bin/catalog release ") for c in commands)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "clone"
    env = isolated_git_env()
    subprocess.run(
        ["git", "clone", "--quiet", "--no-tags", str(REPO), str(target)], check=True, env=env
    )
    for name in ("user.name", "user.email"):
        subprocess.run(
            ["git", "config", name, "README Test" if name == "user.name" else "readme@example.com"],
            cwd=target,
            check=True,
            env=env,
        )
    subprocess.run(
        [
            "git",
            "fetch",
            "--quiet",
            "--no-write-fetch-head",
            "sample-releases.bundle",
            "refs/tags/*:refs/tags/*",
        ],
        cwd=target,
        check=True,
        env=env,
    )
    (target / ".venv").symlink_to(Path(sys.executable).parent.parent)
    yield target
    shutil.rmtree(target, ignore_errors=True)


def test_every_readme_command_works_as_written(clone: Path) -> None:
    env = {
        **isolated_git_env(),
        "GIT_AUTHOR_NAME": "README Test",
        "GIT_COMMITTER_NAME": "README Test",
        "GIT_AUTHOR_EMAIL": "readme@example.com",
        "GIT_COMMITTER_EMAIL": "readme@example.com",
    }
    env.pop("GITHUB_ACTIONS", None)
    first = subprocess.run(
        [".venv/bin/catalog", "build", "--out", "site"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stdout + first.stderr  # what `make site` leaves
    port, servers = _free_port(), []
    try:
        for written in readme_commands():
            if written.startswith(SKIPPED):
                continue
            command = written.replace("localhost:8000", f"localhost:{port}")
            if command.startswith("python3 -m http.server"):
                servers.append(_serve(command.replace(" 8000", f" {port}"), clone, port))
                continue
            if command.startswith("curl ") and shutil.which("curl") is None:
                continue
            done = subprocess.run(
                command,
                shell=True,
                cwd=clone,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def _serve(command: str, cwd: Path, port: int) -> subprocess.Popen[bytes]:
    command = command.replace("python3 ", f"{sys.executable} ", 1) + " --bind 127.0.0.1"
    server = subprocess.Popen(
        command.split(),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    server.terminate()
    raise AssertionError(f"`{command}` did not start serving")
