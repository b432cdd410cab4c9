"""Whether a run's inputs are the same as last time, so that what it found then still holds.

A run reads the code and its libraries, the files under the catalog root (`catalog.yaml`,
`publishers.yaml`, everything under `integrations/`), and git (HEAD, the history it reaches,
the tags). The digest here covers all of them (files by their metadata, as git's index does,
and by content while their metadata is too recent to trust); running `validate` or `build`
again with the same digest reuses the previous findings (and, for a build, the previous output
tree), as make does. Outside a git repository there is no digest: times come from the clock."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from . import DISTRIBUTION
from .cache import CACHE_DIR, code_fingerprint, entry_checksum
from .config import CATALOG_FILE, PUBLISHERS_FILE
from .gitrepo import refs_fingerprint
from .source import INTEGRATIONS_DIR, Listing

_RUNS_DIR = "runs"


@dataclass(frozen=True)
class Inputs:
    """Everything a run reads, as of one moment. `key` covers it, files by their metadata;
    `racy` holds the content digest of each file changed so recently (in the last two
    seconds) that a later change could leave the same metadata, the clock ticking coarsely."""

    root: Path
    settings: tuple[str, ...]
    key: str
    racy: dict[str, str]
    refs: bytes  # what git said (`refs_fingerprint`)


def read_inputs(root: Path, *settings: str, listing: Listing | None = None) -> Inputs | None:
    """What a run reads, with `settings` (the options that shape its result); None when the
    catalog is not in a git repository. What it finds under integrations/ goes to `listing`
    (see `source.Listing`), so that the run need not walk the files again."""
    with ThreadPoolExecutor(1) as pool:  # git answers while the files are looked at
        asked = pool.submit(refs_fingerprint, root)
        recent_files: dict[str, str] = {}
        recent = time.time_ns() - _RACY_NS
        files = [
            chunk
            for name in (CATALOG_FILE, PUBLISHERS_FILE, ".mailmap", INTEGRATIONS_DIR)
            for chunk in _entries(
                f"{root}/{name}",
                name,
                recent,
                recent_files,
                listing if name == INTEGRATIONS_DIR else None,
            )
        ]
        refs = asked.result()
    if refs is None:
        return None
    racy = {rel: _content_digest(path) for rel, path in recent_files.items()}
    digest = hashlib.sha256()
    for part in (code_fingerprint(), sys.version, *_library_versions(), *settings):
        digest.update(part.encode() + b"\0")
    digest.update(refs)
    for chunk in files:
        digest.update(chunk)
    return Inputs(root, settings, digest.hexdigest(), racy, refs)


def _library_versions() -> list[str]:
    """The installed version of each library this package depends on at run time: their
    behaviour shapes findings and output."""
    found = []
    for requirement in metadata.requires(DISTRIBUTION) or []:
        if "extra ==" in requirement:
            continue  # test and benchmark tools
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return found


_RACY_NS = 2_000_000_000


def _entries(
    path: str,
    rel: str,
    recent: int,
    recent_files: dict[str, str],
    listing: Listing | None = None,
) -> list[bytes]:
    """Each entry at and below `path`, depth first in name order: its path, kind, mode, size,
    inode and change times (as git's index and make use them), a link's target; regular
    files changed since `recent` go to `recent_files` (their path in the tree, and where they
    are), and every directory listed below `path` to `listing`. (A loop, not recursion: a
    generator per level costs more than the stat calls.)"""
    found: list[bytes] = []
    top = rel
    unsure: set[str] = set()  # listed directories with an entry that could not be looked at
    waiting = [(path, rel)]
    while waiting:
        path, rel = waiting.pop()
        try:
            info = os.lstat(path)
        except OSError as error:
            found.append(f"{rel}\0absent {error.errno}\n".encode())
            if rel != top:
                unsure.add(rel.rpartition("/")[0])
            continue
        if listing is not None and rel != top:
            # (the names of a directory are taken in order, each before what is below it)
            parent, _, name = rel.rpartition("/")
            listing[parent].append((name, info.st_mode))
        header = (
            f"{rel}\0{info.st_mode} {info.st_size} {info.st_ino} {info.st_mtime_ns} "
            f"{info.st_ctime_ns}\n"
        )
        found.append(header.encode("utf-8", "surrogateescape"))
        if stat.S_ISDIR(info.st_mode):
            try:
                with os.scandir(path) as entries:
                    names = sorted(entry.name for entry in entries)
            except OSError as error:
                found.append(f"unreadable {error.errno}\n".encode())
                continue
            if listing is not None:
                listing[rel] = []
            # the first name is taken next, and all below it before the second
            waiting.extend((f"{path}/{name}", f"{rel}/{name}") for name in reversed(names))
        elif stat.S_ISLNK(info.st_mode):
            with contextlib.suppress(OSError):
                found.append(os.fsencode(Path(path).readlink()))
        elif stat.S_ISREG(info.st_mode) and max(info.st_mtime_ns, info.st_ctime_ns) >= recent:
            recent_files[rel] = path  # never opened unless regular: a FIFO would block
    if listing is not None:
        # (a directory that can be read but not searched, or an entry gone meanwhile: a
        # look at the directory itself lists it as it is)
        for directory in unsure:
            listing.pop(directory, None)
    return found


def _content_digest(path: str) -> str:
    try:
        with Path(path).open("rb") as handle:  # a piece at a time: a file may be huge
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        return f"unreadable {error.errno}"


def recall(name: str, inputs: Inputs) -> dict[str, Any] | None:
    """What the last run called `name` recorded, if it read the same inputs and its record
    is intact."""
    try:
        path = inputs.root / CACHE_DIR / _RUNS_DIR / f"{name}.json"
        record = json.loads(path.read_bytes())
        body = record["body"]
        if record["checksum"] != entry_checksum(body.encode()) or record["key"] != inputs.key:
            return None
        racy = record["racy"]
        # A file that was recent when the record was made (or is now) may have changed since
        # without its metadata showing it: its content decides.
        if set(inputs.racy) - set(racy):
            return None
        root = inputs.root
        if any(_content_digest(f"{root}/{rel}") != content for rel, content in racy.items()):
            return None
        value = json.loads(body)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return value if isinstance(value, dict) else None


class GitAskedAgain:
    """git's state asked again for the record of a run that read `inputs` (see `remember`).
    Called once all that git says has been read, it asks on a thread of its own, while the
    run goes on (so no process may be forked after); `answer` is what it asked, if anything.
    Outside git there is no record, and nothing is asked."""

    def __init__(self, inputs: Inputs | None) -> None:
        self._inputs = inputs
        self._thread = ThreadPoolExecutor(1)
        self.answer: Future[bytes | None] | None = None

    def __call__(self) -> None:
        if self._inputs is not None and self.answer is None:
            self.answer = self._thread.submit(refs_fingerprint, self._inputs.root)

    def __enter__(self) -> GitAskedAgain:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.shutdown()


def remember(
    name: str,
    inputs: Inputs,
    value: dict[str, Any] | Callable[[], dict[str, Any]],
    asked: Future[bytes | None] | None = None,
) -> None:
    """Record what a run that read `inputs` found (`value`, or what it returns: worked out
    while git is asked, as a build's output tree is), unless what it reads changed while it
    ran (then the next run does the work again). Files need no second walk: a change to one
    moves its change time forward, so the next run's digest differs anyway, and a file
    changed within the clock's tick (maybe with its metadata as it was) is compared by
    content. git's state can go back (a tag made and deleted again, a commit reset), so git
    is asked again (`refs_fingerprint`): now, or in `asked`, once all that git says was read.
    A cache that cannot be written is no error."""
    if asked is not None:
        refs = asked.result()
        value = value() if callable(value) else value
    elif callable(value):
        with ThreadPoolExecutor(1) as pool:
            asked = pool.submit(refs_fingerprint, inputs.root)
            value = value()
            refs = asked.result()
    else:
        refs = refs_fingerprint(inputs.root)
    if refs != inputs.refs:
        return
    root = inputs.root
    if any(_content_digest(f"{root}/{rel}") != content for rel, content in inputs.racy.items()):
        return
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    record = {
        "key": inputs.key,
        "racy": inputs.racy,
        "checksum": entry_checksum(body.encode()),
        "body": body,
    }
    directory = root / CACHE_DIR / _RUNS_DIR
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(record))
        temporary.replace(directory / f"{name}.json")
