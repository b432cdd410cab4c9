"""Time whole processes: wall seconds, peak RSS (from the child's own rusage, through
os.wait4) and how many git processes it started (through a `git` wrapper first on PATH)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

_WRAPPER = """#!/bin/sh
# Counts git processes for the benchmarks: one line per invocation, then the real git.
printf '%s\\n' "$*" >> "$BENCH_GIT_LOG"
exec {git} "$@"
"""


@dataclass(frozen=True)
class Sample:
    """One run of one process."""

    seconds: float
    peak_rss_mb: float  # of the process and the descendants it waited for, whichever was largest
    git_processes: int
    exit_code: int
    timed_out: bool = False
    cpu_seconds: float = 0.0  # user + system, the process and its waited-for descendants
    tree_pss_mb: float = 0.0  # the largest sum of PSS over the process tree, sampled


@dataclass
class Step:
    """The runs of one measurement, e.g. `catalog validate` with a cold cache."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    elapsed: float = 0.0  # wall seconds for the whole step, preparation included
    note: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        return max(s.peak_rss_mb for s in self.samples)

    @property
    def tree_pss_mb(self) -> float:
        return max(s.tree_pss_mb for s in self.samples)

    @property
    def git_processes(self) -> int:
        return max(s.git_processes for s in self.samples)

    @property
    def failed(self) -> list[Sample]:
        return [s for s in self.samples if s.exit_code != 0]


class GitCounter:
    """A directory with a `git` script that logs each call and execs the real git."""

    def __init__(self, directory: Path) -> None:
        real = shutil.which("git")
        if real is None:
            raise SystemExit("git is not installed")
        self.real_git = str(Path(real).resolve())
        self.bin = directory / "bin"
        self.log = directory / "git-calls.log"
        self.bin.mkdir(parents=True, exist_ok=True)
        wrapper = self.bin / "git"
        wrapper.write_text(_WRAPPER.format(git=self.real_git))
        wrapper.chmod(0o755)
        self.log.touch()

    def env(self, base: dict[str, str]) -> dict[str, str]:
        path = f"{self.bin}{os.pathsep}{base.get('PATH', '')}"
        return {**base, "PATH": path, "BENCH_GIT_LOG": str(self.log)}

    def count(self) -> int:
        with self.log.open("rb") as handle:
            return sum(1 for _ in handle)


@dataclass(frozen=True)
class Runner:
    """Runs commands in one environment, with the output going to a log file."""

    env: dict[str, str]
    counter: GitCounter
    log: Path
    timeout: float

    def run(self, args: Sequence[str], cwd: Path) -> Sample:
        before = self.counter.count()
        with self.log.open("ab") as out:
            out.write(f"\n$ (cd {cwd} && {_shown(args)})\n".encode())
            out.flush()
            sample = timed_process(args, cwd, self.env, out.fileno(), self.timeout)
        return replace(sample, git_processes=self.counter.count() - before)


def _shown(args: Sequence[str], limit: int = 8) -> str:
    more = f" ... and {len(args) - limit} more" if len(args) > limit else ""
    return " ".join(args[:limit]) + more


def timed_process(
    args: Sequence[str], cwd: Path, env: dict[str, str], output: int, timeout: float
) -> Sample:
    """Start a process and reap it with os.wait4, which reports its own resource usage."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(args), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output
    )
    done = threading.Event()
    killed = threading.Event()

    def kill() -> None:
        if not done.is_set():
            killed.set()
            process.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    sampler = TreeSampler(process.pid)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    timer.cancel()
    sampler.stop.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    rss = usage.ru_maxrss / 1024
    tree = sampler.peak_kb / 1024
    return Sample(seconds, rss, 0, process.returncode, killed.is_set(), cpu, tree)


class TreeSampler(threading.Thread):
    """Samples the memory of a process and all its descendants together (the sum of their PSS,
    so pages shared by forked workers count once). wait4's peak RSS is that of the largest
    single process, which says little when the work is spread over worker processes. A
    sample walks every process's page tables (4 ms of CPU for a 370 MB process): sampled
    every 0.05 s, it took about a tenth of a core from the build it measured."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while True:
            total = sum(_pss_kb(pid) for pid in _process_tree(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            if self.stop.wait(self.interval):
                return


def _process_tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue
    return found


def _pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0  # gone already, or not Linux
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0
