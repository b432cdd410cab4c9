"""Write the output tree atomically: everything goes into a temporary directory beside the
target, which then takes the target's place in one step. A failed or interrupted build leaves
the previous tree as it was, and no temporary directory behind."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import gc
import glob
import hashlib
import json
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

# A file the build puts in every tree it makes, so it never replaces a directory it did not make.
MARKER = ".catalog-build"
_MARKER_NOTE = "This directory is written by `catalog build`; it is replaced on every build."


class OutputError(Exception):
    """The output directory cannot be used or written (an environment problem)."""


def check_out_dir(out: Path, root: Path) -> None:
    """Refuse an output directory that would destroy something: the catalog root, a directory
    holding the sources, a file, or a non-empty directory the build did not make."""
    out, root = out.resolve(), root.resolve()
    if out == root or root.is_relative_to(out):
        raise OutputError(
            f"--out {out} holds the catalog itself; choose a directory inside it, such as `site`"
        )
    if out.is_relative_to(root / "integrations") or out.is_relative_to(root / "templates"):
        raise OutputError(f"--out {out} is inside the catalog's sources")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a directory")
    if out.is_dir() and not (out / MARKER).is_file() and any(out.iterdir()):
        raise OutputError(
            f"--out {out} is not empty and was not made by `catalog build`; "
            "it is left alone (remove it or choose another directory)"
        )


def _safe_relative(path: str) -> str:
    """A relative path that stays inside the output tree, or an error (a bug, never input)."""
    parts = path.split("/")
    if not path or "\\" in path or "\0" in path or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"refusing to write outside the output tree: {path!r}")
    return path


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Builds into the same directory take turns instead of racing."""
    lock_path = out.parent / f".{out.name}.lock"
    try:
        handle = lock_path.open("a")
    except OSError as error:
        raise OutputError(f"cannot write beside {out}: {error.strerror} ({lock_path})") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_tree(
    out: Path,
    files: Iterable[OutputFile],
    workers: int | None = None,
    after: Callable[[Path], None] | None = None,
) -> int:
    """Write every (relative path, content) pair into a fresh tree and swap it in for `out`;
    then call `after(out)`, still holding the lock. Returns the number of files written."""
    out = out.resolve()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {out.parent}: {error.strerror}") from None
    with _lock(out):
        _remove_stale(out)
        staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
        try:
            count = _write_all(staging, out, files, workers or os.cpu_count() or 1)
            previous = _swap_in(staging, out)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise OutputError(
                f"writing {out} failed: {error.strerror or error}; the previous output is unchanged"
            ) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        # Before `after` looks at the new tree: unlinking the previous tree's hard links
        # changes the change time of the files carried over from it.
        shutil.rmtree(previous, ignore_errors=True)
        if after is not None:
            after(out)
    return count


def _remove_stale(out: Path) -> None:
    """Temporary trees of builds that were killed (the lock says none is running now)."""
    for stale in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{glob.escape(out.name)}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)


@dataclass(frozen=True)
class Deferred:
    """A file rendered only if its inputs changed since the previous build: `fingerprint`
    names everything the content depends on. `render` must be picklable (a module-level
    function with its arguments bound, for example): large builds render on other processes."""

    path: str
    fingerprint: str
    render: Callable[[], bytes]


OutputFile = tuple[str, bytes] | Deferred


def _previous_fingerprints(out: Path) -> dict[str, str]:
    try:
        recorded = json.loads((out / MARKER).read_bytes())
        fingerprints = recorded["fingerprints"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return fingerprints if isinstance(fingerprints, dict) else {}


def tree_digest(directory: Path) -> str:
    """A digest of every entry of the tree but the marker: path, kind, mode, size, change
    times, inode and a link's target, so that any change to the tree since shows. Raises
    OSError when the tree changes while it is read."""
    digest = hashlib.sha256()

    def fail(error: OSError) -> None:
        raise error

    for current, dirs, names in os.walk(directory, onerror=fail):
        dirs.sort()
        here = Path(current)
        for name in sorted([*dirs, *names]):
            if here == directory and name == MARKER:
                continue
            path = here / name
            info = path.lstat()
            rel = path.relative_to(directory).as_posix()
            times = f"{info.st_mtime_ns} {info.st_ctime_ns}"
            line = f"{rel}\0{info.st_mode} {info.st_size} {times} {info.st_ino}\n"
            digest.update(line.encode("utf-8", "surrogateescape"))
            if path.is_symlink():
                digest.update(os.fsencode(path.readlink()) + b"\n")
    return digest.hexdigest()


def output_path(entry: OutputFile) -> str:
    return entry.path if isinstance(entry, Deferred) else entry[0]


def rendered(entries: Iterable[OutputFile]) -> Iterator[tuple[str, bytes]]:
    """Every file with its content, deferred ones rendered (for callers that want bytes)."""
    for entry in entries:
        yield (entry.path, entry.render()) if isinstance(entry, Deferred) else entry


def _write_all(staging: Path, out: Path, files: Iterable[OutputFile], workers: int) -> int:
    """Write the new tree. A file whose content (or, for a deferred one, whose inputs) did
    not change is carried over from the previous tree as a hard link: same bytes, same
    modification time, so deploy tools that sync by time or checksum upload nothing. Deferred
    files that must be rendered are rendered on `workers` processes."""
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    carry = out.is_dir()  # a first build has nothing to carry over: no look at each old path
    previous = _previous_fingerprints(out) if carry else {}
    fingerprints: dict[str, str] = {}
    pending: list[tuple[Deferred, Path]] = []
    count = 0
    writer = _Writer()
    renderer = _Renderer(workers, writer)
    try:
        for entry in files:
            rel = _safe_relative(output_path(entry))
            target, old = Path(f"{staging}/{rel}"), Path(f"{out}/{rel}")
            count += 1
            if isinstance(entry, Deferred):
                fingerprints[rel] = entry.fingerprint
                if previous.get(rel) != entry.fingerprint or not (
                    carry and _carry_over(old, target)
                ):
                    pending.append((entry, target))
                    if len(pending) >= _BATCH:  # bounded: never every page in memory at once
                        renderer.submit(pending)
            elif not (carry and _same_file(old, entry[1]) and _carry_over(old, target)):
                writer.write(target, entry[1])
        renderer.submit(pending)
        renderer.finish()
    finally:
        renderer.close()
        writer.finish()
    marker = {
        "builtBy": "integration-catalog",
        "note": _MARKER_NOTE,
        "fingerprints": dict(sorted(fingerprints.items())),
    }
    (staging / MARKER).write_bytes(json.dumps(marker, indent=1).encode() + b"\n")
    return count


class _Writer:
    """Creates files on a few threads. On a journaling file system each creation mostly
    waits for the disk, and files in different directories can be created at once."""

    _THREADS = 4
    _IN_FLIGHT = 512  # bounded: the bytes waiting to be written stay few

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._waiting: deque[Future[None]] = deque()

    def write(self, target: Path, data: bytes) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._THREADS, thread_name_prefix="catalog-write")
        self._waiting.append(self._pool.submit(_write_new, target, data))
        while len(self._waiting) > self._IN_FLIGHT:
            self._waiting.popleft().result()  # raises the first write's error

    def finish(self) -> None:
        """Wait for every write (raising the first error) and stop the threads: before a
        worker process forks, and at the end."""
        try:
            while self._waiting:
                self._waiting.popleft().result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            self._waiting.clear()


class _Renderer:
    """Renders deferred files, and writes them, on worker processes while the build goes on
    making the next ones. The pool is forked once per build, at the first batch (after the
    writing threads stop: no thread may run when a process forks); each deferred file's
    render function reaches the workers pickled, so they touch little of what they inherit.
    (Fresh workers, spawned, would re-run the caller's main module, where a script without a
    main guard would start a build of its own.) At most `_IN_FLIGHT` batches are waiting at
    a time, so the pages held in memory stay few."""

    _IN_FLIGHT = 2

    def __init__(self, workers: int, writer: _Writer) -> None:
        self._workers, self._writer = workers, writer
        self._pool: ProcessPoolExecutor | None = None
        self._running: deque[Iterator[None]] = deque()

    def submit(self, pending: list[tuple[Deferred, Path]]) -> None:
        batch = list(pending)
        pending.clear()
        if self._pool is None and (self._workers <= 1 or len(batch) < _PARALLEL_FROM):
            for entry, target in batch:
                self._writer.write(target, entry.render())
            return
        if self._pool is None:
            self._writer.finish()
            # gc.freeze: the cycle collector would walk (and so copy) every inherited page
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=get_context("fork"), initializer=gc.freeze
            )
        jobs = [(str(target), entry.render) for entry, target in batch]
        self._running.append(self._pool.map(_render_to, jobs, chunksize=16))
        while len(self._running) > self._IN_FLIGHT:
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        for _ in self._running.popleft():
            pass  # raises the first error of the batch

    def finish(self) -> None:
        """Wait for every batch still being rendered."""
        while self._running:
            self._wait_oldest()

    def close(self) -> None:
        """Stop the workers (after `finish`, or without waiting when the build failed)."""
        self._running.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _write_new(target: Path, data: bytes) -> None:
    try:
        handle = target.open("xb")  # a path written twice is a bug: fail loudly
    except FileNotFoundError:  # the first file of its directory (made here, on a thread)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = target.open("xb")
    with handle:
        handle.write(data)


_PARALLEL_FROM = 64
_BATCH = 1024


def _render_to(job: tuple[str, Callable[[], bytes]]) -> None:
    target, render = job
    _write_new(Path(target), render())


def _same_file(old: Path, data: bytes) -> bool:
    try:
        if old.is_symlink() or old.stat().st_size != len(data):
            return False
        return old.read_bytes() == data
    except OSError:
        return False


def _carry_over(old: Path, target: Path) -> bool:
    try:
        if old.is_symlink() or not old.is_file():
            return False
        try:
            os.link(old, target)
        except FileNotFoundError:  # the first file of its directory
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(old, target)
    except OSError:
        return False  # another file system, or links not allowed: write it instead
    return True


def _swap_in(staging: Path, out: Path) -> Path:
    """Put the new tree in place; returns where the previous one is now (for the caller to
    remove; nothing may be there)."""
    if not out.exists():
        staging.rename(out)
        return staging
    if _exchange(staging, out):
        return staging  # now the previous tree
    # No atomic exchange here: two renames, with the old tree kept until the new one is in.
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(old)
    try:
        staging.rename(out)
    except OSError:
        old.rename(out)
        raise
    return old


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step with Linux's renameat2(RENAME_EXCHANGE); False where the
    system has no such call."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))
