"""Worker processes, forked from the process that runs the build: they start at once, with the
code already imported (and, unlike spawned ones, never run the caller's main module again: a
script without a main guard would start a build of its own). A build forks them before it
loads the catalog, and sends them what each task needs (see `Workers`)."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
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
    # Ctrl-C is the building process's to handle: it stops the workers once they finish
    # what they are doing (instead of each printing a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Workers:
    """A run's worker processes, forked once (by `pool`) and shared by its stages: a build
    checks the files on them, then makes the output (`catalog serve` keeps one set for all
    its builds). Forked before the catalog is loaded, while this process is small, they
    share none of its memory: a process that reads an object copies the memory page it is
    on, so workers forked later would copy the catalog they read, and this process the pages
    it goes on using, which the workers still hold."""

    def __init__(self, count: int | None = None) -> None:
        self.count = count or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    @property
    def forked(self) -> bool:
        """Whether the workers are forked: from then on this process may run threads."""
        return self._pool is not None

    def pool(self) -> ProcessPoolExecutor:
        """The workers, forked now if they are not yet (no thread of this process may be
        running then)."""
        if self._pool is None:
            self._pool = fork_pool(self.count)
            self._pool.submit(int).result()  # a pool forks at its first task: now
        return self._pool

    def close(self) -> None:
        """Stop the workers, without waiting for work not started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def give_back_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's malloc_trim; nothing elsewhere).
    Loading a catalog frees much more than it keeps: without this, the freed pages would
    stay counted as this process's memory for the rest of the run."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # (this process's own symbols)
    if trim is not None:
        trim(0)
