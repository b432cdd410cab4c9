"""Worker processes are forked: they inherit the build's memory, frozen, and collect their own
reference cycles even where the build's process stopped collecting them (it turns its collector
back on when the build ends)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from build_support import cli, sample_repo
from integration_catalog.workers import fork_pool


def _state(_: int) -> tuple[int, bool, int]:
    return os.getpid(), gc.isenabled(), gc.get_freeze_count()


def test_workers_collect_their_own_cycles_and_leave_what_they_inherit_frozen() -> None:
    enabled = gc.isenabled()
    gc.disable()  # as `catalog build` does in its own process
    try:
        with fork_pool(2) as pool:
            states = list(pool.map(_state, range(4)))
    finally:
        if enabled:
            gc.enable()
    assert all(pid != os.getpid() for pid, _, _ in states)
    assert all(collecting for _, collecting, _ in states)
    assert all(frozen > 0 for _, _, frozen in states)


def test_the_collector_is_back_on_after_a_build_or_a_validation_in_this_process(
    tmp_path: Path,
) -> None:
    repo = sample_repo(tmp_path / "repo")
    assert gc.isenabled()
    assert cli(repo.root, "build", "--out", str(tmp_path / "out")).exit_code == 0
    assert gc.isenabled()
    assert cli(repo.root, "validate").exit_code == 0
    assert gc.isenabled()
