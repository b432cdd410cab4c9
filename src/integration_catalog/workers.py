"""Worker processes: forked from the process that runs the build, so they inherit what it has
loaded instead of being sent it (and, unlike spawned ones, never run the caller's main module
again: a script without a main guard would start a build of its own)."""

from __future__ import annotations

import gc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def fork_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes, forked at its first task. No thread of this process may
    be running then."""
    return ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=_start)


def _start() -> None:
    # What a worker inherits stays as it is: the cycle collector would walk every inherited
    # object, and so copy every page of them. The worker's own cycles are collected, even
    # where the build's process has stopped collecting.
    gc.freeze()
    gc.enable()
