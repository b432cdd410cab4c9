"""Write the output tree atomically: everything goes into a temporary directory beside the
target, which then takes the target's place in one step. A failed or interrupted build leaves
the previous tree as it was, and no temporary directory behind."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import glob
import hashlib
import json
import os
import shutil
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .workers import Workers

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
    workers: int | Workers | None = None,
    after: Callable[[Path, Callable[[], str]], None] | None = None,
) -> int:
    """Write every (relative path, content) pair into a fresh tree and swap it in for `out`;
    then call `after(out, digest)`, still holding the lock, where `digest()` is
    `tree_digest(out)` (worked out faster than it could be alone: the workers that wrote the
    tree worked out parts of it). Deferred files are made on `workers`: the caller's, or as
    many processes as are asked for (one per core by default). Returns the number of files
    written."""
    out = out.resolve()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {out.parent}: {error.strerror}") from None
    with _lock(out):
        _remove_stale(out)
        staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
        try:
            count, parts = _write_all(staging, out, files, workers)
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
            after(out, partial(tree_digest, out, parts))
    return count


def _remove_stale(out: Path) -> None:
    """Temporary trees of builds that were killed (the lock says none is running now)."""
    for stale in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{glob.escape(out.name)}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)


@dataclass(frozen=True)
class Made:
    """A deferred file worked out: what its content depends on, and how to render it."""

    fingerprint: str  # names everything the content depends on
    render: Callable[[], bytes]


@dataclass(frozen=True)
class Deferred:
    """A file rendered only if its inputs changed since the previous build. `make` works out
    its fingerprint and how to render it. Large builds make files on worker processes, forked
    before the catalog was loaded: `make` is pickled (a module-level function with its
    arguments bound, for example), and must carry all it needs."""

    path: str
    make: Callable[[], Made]


OutputFile = tuple[str, bytes] | Deferred


def _previous_fingerprints(out: Path) -> dict[str, str]:
    try:
        recorded = json.loads((out / MARKER).read_bytes())
        fingerprints = recorded["fingerprints"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return fingerprints if isinstance(fingerprints, dict) else {}


def tree_digest(directory: Path, parts: Mapping[str, str] | None = None) -> str:
    """A digest of every entry of the tree but the marker: path, kind, mode, size, change
    times, inode and a link's target, so that any change to the tree since shows. What is
    below each top-level directory counts by its own digest (`_subtree_digest`), so that the
    large ones can be worked out at once on several processes: `parts` holds those already
    worked out, by name. Raises OSError when the tree changes while it is read."""
    digest = hashlib.sha256()
    _digest_entries(digest.update, str(directory), "", parts or {})
    return digest.hexdigest()


def _subtree_digest(path: str, rel: str) -> str:
    """The digest of what is below the directory `path` (at `rel` in the tree)."""
    digest = hashlib.sha256()
    _digest_entries(digest.update, path, rel + "/")
    return digest.hexdigest()


def _digest_entries(
    update: Callable[[bytes], None],
    path: str,
    rel: str,
    parts: Mapping[str, str] | None = None,
) -> None:
    """Each entry of the directory `path` (at `rel` in the tree), in name order, and what is
    below it. At the top (`parts` given), the marker is left out and a directory counts by
    its digest."""
    with os.scandir(path) as found:
        entries = sorted(found, key=lambda entry: entry.name)
    for entry in entries:
        if parts is not None and entry.name == MARKER:
            continue
        info = entry.stat(follow_symlinks=False)
        name = rel + entry.name
        line = (
            f"{name}\0{info.st_mode} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} "
            f"{info.st_ino}\n"
        )
        update(line.encode("utf-8", "surrogateescape"))
        if stat.S_ISLNK(info.st_mode):
            update(os.fsencode(Path(entry.path).readlink()) + b"\n")
        elif stat.S_ISDIR(info.st_mode) and parts is not None:
            below = parts.get(name) or _subtree_digest(entry.path, name)
            update(below.encode() + b"\n")
        elif stat.S_ISDIR(info.st_mode):
            _digest_entries(update, entry.path, name + "/")


def output_path(entry: OutputFile) -> str:
    return entry.path if isinstance(entry, Deferred) else entry[0]


def rendered(entries: Iterable[OutputFile]) -> Iterator[tuple[str, bytes]]:
    """Every file with its content, deferred ones rendered (for callers that want bytes)."""
    for entry in entries:
        yield (entry.path, entry.make().render()) if isinstance(entry, Deferred) else entry


def _write_all(
    staging: Path, out: Path, files: Iterable[OutputFile], workers: int | Workers | None
) -> tuple[int, dict[str, str]]:
    """Write the new tree. A file whose content (or, for a deferred one, whose inputs) did
    not change is carried over from the previous tree as a hard link: same bytes, same
    modification time, so deploy tools that sync by time or checksum upload nothing. Deferred
    files are made on `workers` processes. Returns the number of files, and the digests of
    the top-level directories (`tree_digest`) where the workers could work them out."""
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    carry = out.is_dir()  # a first build has nothing to carry over: no look at each old path
    previous = _previous_fingerprints(out) if carry else {}
    pending: list[tuple[str, _Job]] = []
    count = 0
    writer = _Writer()
    renderer = _Renderer(workers, writer)
    try:
        for entry in files:
            rel = _safe_relative(output_path(entry))
            target = f"{staging}/{rel}"
            old = f"{out}/{rel}" if carry else None
            count += 1
            if isinstance(entry, Deferred):
                pending.append((rel, (target, old, previous.get(rel), entry.make)))
                if len(pending) >= _CHUNK:
                    renderer.submit(pending)
            elif not (
                old is not None
                and _same_file(Path(old), entry[1])
                and _carry_over(Path(old), Path(target))
            ):
                writer.write(target, entry[1])
        renderer.submit(pending)
        renderer.finish()
        writer.finish()
        # A first tree holds no links to a previous one, whose removal would change their
        # change times: what is below each top-level directory is as the next build finds it.
        parts = {} if carry else renderer.digests(staging)
    finally:
        renderer.close()
        writer.finish()
    marker = {
        "builtBy": "integration-catalog",
        "note": _MARKER_NOTE,
        "fingerprints": dict(sorted(renderer.fingerprints.items())),
    }
    (staging / MARKER).write_bytes(json.dumps(marker, indent=1).encode() + b"\n")
    return count, parts


class _Writer:
    """Creates files on a few threads. On a journaling file system each creation mostly
    waits for the disk, and files in different directories can be created at once."""

    _THREADS = 4
    _IN_FLIGHT = 512  # bounded: the bytes waiting to be written stay few

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._waiting: deque[Future[None]] = deque()

    def write(self, target: str, data: bytes) -> None:
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


# A deferred file to make: where it goes, where the previous tree has it (None on a first
# build), its fingerprint there, and its `make`.
_Job = tuple[str, str | None, str | None, Callable[[], Made]]


class _Renderer:
    """Makes deferred files, and writes or carries them over, on worker processes while the
    build goes on with the next ones; collects their fingerprints. Workers not yet forked
    are forked at the first batch large enough to share (after the writing threads stop: no
    thread may run when a process forks). Each file's `make` reaches the workers pickled,
    and only its fingerprint comes back."""

    def __init__(self, workers: int | Workers | None, writer: _Writer) -> None:
        self._own = not isinstance(workers, Workers)
        self._workers = workers if isinstance(workers, Workers) else Workers(workers)
        self._writer = writer
        self._running: deque[tuple[list[str], Future[list[str]]]] = deque()
        self.fingerprints: dict[str, str] = {}

    def submit(self, pending: list[tuple[str, _Job]]) -> None:
        batch = list(pending)
        pending.clear()
        if not batch:
            return
        forked = self._workers.forked
        if not forked and (self._workers.count <= 1 or len(batch) < _PARALLEL_FROM):
            for rel, job in batch:
                self.fingerprints[rel] = _make(job, self._writer.write)
            return
        if not forked:
            self._writer.finish()
        pool = self._workers.pool()
        for start in range(0, len(batch), _CHUNK):
            chunk = batch[start : start + _CHUNK]
            made = pool.submit(_make_all_here, [job for _, job in chunk])
            self._running.append(([rel for rel, _ in chunk], made))

    def _wait_oldest(self) -> None:
        rels, made = self._running[0]
        fingerprints = made.result()  # raises the first error
        self._running.popleft()
        self.fingerprints.update(zip(rels, fingerprints, strict=True))

    def finish(self) -> None:
        """Wait for every batch still being made."""
        while self._running:
            self._wait_oldest()

    def digests(self, tree: Path) -> dict[str, str]:
        """The `_subtree_digest` of each top-level directory of `tree`, worked out on the
        workers, each taking the next as it is done; nothing when there are none."""
        if not self._workers.forked:
            return {}
        try:
            with os.scandir(tree) as found:
                names = sorted(e.name for e in found if e.is_dir(follow_symlinks=False))
            paths = [str(tree / name) for name in names]
            digests = self._workers.pool().map(_subtree_digest, paths, names)
            return dict(zip(names, digests, strict=True))
        except Exception:  # a worker lost, say: a digest is no reason to fail the build
            return {}  # worked out again where it is needed (which says what is wrong)

    def close(self) -> None:
        """Stop its own workers (after `finish`). When files are still being made (the tree
        failed), wait for those started and drop the others: none may go on writing into a
        tree that is being removed. Workers it was given go on."""
        for _, made in self._running:
            made.cancel()
        wait([made for _, made in self._running])
        self._running.clear()
        if self._own:
            self._workers.close()


# A path written twice is a bug: fail loudly (O_EXCL).
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def _write_new(target: str, data: bytes) -> None:
    # (os calls on a str: a Path and a file object for each of 30,000 files cost more than
    # the writing does)
    try:
        fd = os.open(target, _NEW_FILE, 0o666)
    except FileNotFoundError:  # the first file of its directory (made here, on a thread)
        os.makedirs(os.path.dirname(target), exist_ok=True)  # noqa: PTH103, PTH120
        fd = os.open(target, _NEW_FILE, 0o666)
    try:
        rest = memoryview(data)
        while rest:  # (one write, unless the system takes less)
            rest = rest[os.write(fd, rest) :]
    finally:
        os.close(fd)


_PARALLEL_FROM = 64
# Files a worker makes at a time, handed out as soon as there are as many: the workers start
# on the first while the next are listed.
_CHUNK = 128


def _make(job: _Job, write: Callable[[str, bytes], None]) -> str:
    """Make a deferred file: carry it over if its fingerprint did not change, else render
    and `write` it. Returns the fingerprint."""
    target, old, previous, make = job
    made = make()
    if old is None or previous != made.fingerprint or not _carry_over(Path(old), Path(target)):
        write(target, made.render())
    return made.fingerprint


def _make_all_here(jobs: list[_Job]) -> list[str]:
    """`_make` on a worker, which writes the files it renders."""
    return [_make(job, _write_new) for job in jobs]


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
