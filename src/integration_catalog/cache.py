"""A cache of checked files by content, in `.catalog-cache/` under the catalog root.

Published snapshots never change, so a file's parsed and checked form can be kept by its git
blob id and reused by later runs (and by CI, through a cache step). The cache is only ever an
optimisation: it is safe to delete; an entry is used only when its key covers everything its
result depends on (the tool's code, the catalog's settings, the integration and its files, the
content) and its checksum matches; a corrupt, foreign or unreadable entry or database is
ignored and the file is checked afresh."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

CACHE_DIR = ".catalog-cache"
_DB_VERSION = 5
_DB_NAME = f"checked-files-v{_DB_VERSION}.sqlite3"
# Most entries are 1 to 4 KiB: with SQLite's default 4 KiB pages, most pages hold one and
# a half-empty rest. 8 KiB pages make the database a fifth smaller and inserts 40% cheaper.
_PAGE_SIZE = 8192
_BATCH = 500
# `entries`: checked files by content; `blob_ids`: the blob a `<commit>:<path>` names.
_TABLES = ("entries", "blob_ids")


@functools.cache  # the code does not change while it runs
def code_fingerprint() -> str:
    """Changes whenever the package's code does, so no entry outlives the rules that made it."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class CheckCache:
    """Entries are bytes stored under a key, with a checksum of the bytes."""

    def __init__(self, root: Path, scope: str) -> None:
        # What every entry depends on besides its own key, hashed once.
        self._scope = hashlib.sha256(scope.encode()).hexdigest()
        self._db: sqlite3.Connection | None = None
        # Tables that were empty when opened (a first run, in CI without a restored cache):
        # they hold nothing but what this run stores, which it has at hand (a file checked
        # twice in one run, the same content tagged twice, is checked twice), so nothing is
        # looked up in them.
        self._fresh: set[str] = set()
        directory = root / CACHE_DIR
        self._path = directory / _DB_NAME
        try:
            directory.mkdir(exist_ok=True)
            _ignore_in_git(directory)
            _remove_older_databases(directory)
            self._db = sqlite3.connect(self._path, timeout=30)
            self._db.execute(f"PRAGMA page_size={_PAGE_SIZE}")  # for a new database only
            # No waiting for the disk at each commit: a cache torn by a crash is a corrupt
            # database, which is ignored like any other (and then replaced).
            self._db.execute("PRAGMA synchronous=OFF")
            # The same goes for the rollback journal: kept in memory, not written to a file
            # beside the database at every commit (a third of the time of storing a cold
            # run's entries). It still undoes a failed transaction; a run killed while it
            # stores may leave the database torn, which costs entries, never wrong ones: each
            # is checked against its checksum, and a database SQLite finds corrupt is removed.
            self._db.execute("PRAGMA journal_mode=MEMORY")
            for table in _TABLES:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (key BLOB PRIMARY KEY, "
                    "checksum TEXT NOT NULL, value BLOB NOT NULL)"
                )
                if self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None:
                    self._fresh.add(table)
        except (OSError, sqlite3.Error) as error:
            self._failed(error)

    def key(self, *parts: str) -> bytes:
        # (the digest itself: its hex would be twice the size, in the index too)
        return hashlib.sha256("\0".join((self._scope, *parts)).encode()).digest()

    def get_bytes(self, keys: Iterable[bytes], table: str = "entries") -> dict[bytes, bytes]:
        """The stored bytes of each key found whose checksum holds."""
        found: dict[bytes, bytes] = {}
        if self._db is None or _table(table) in self._fresh:
            return found
        wanted = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start : start + _BATCH]
                rows = self._db.execute(
                    f"SELECT key, checksum, value FROM {_table(table)} WHERE key IN "
                    f"({','.join('?' * len(batch))})",
                    batch,
                )
                found.update(_verified(rows))
        except sqlite3.Error as error:
            self._failed(error)
            return {}  # a corrupt database: check everything afresh
        return found

    def put_bytes(self, items: Iterable[tuple[bytes, bytes]], table: str = "entries") -> None:
        if self._db is None:
            return
        rows = [(key, entry_checksum(data), data) for key, data in items]
        try:
            with self._db:
                self._db.executemany(
                    f"INSERT OR REPLACE INTO {_table(table)} (key, checksum, value) "
                    "VALUES (?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as error:
            self._failed(error)

    def _failed(self, error: Exception) -> None:
        """Stop using the database; one that SQLite cannot read (torn, or not a database
        at all) is removed, so that the next run starts a fresh cache instead of ignoring
        this one for good."""
        self.close()
        if getattr(error, "sqlite_errorcode", None) in _UNREADABLE:
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(f"{self._path}{suffix}").unlink()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


_UNREADABLE = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _table(name: str) -> str:
    if name not in _TABLES:  # table names are ours, never input
        raise ValueError(f"no cache table {name!r}")
    return name


def entry_checksum(data: bytes) -> str:
    """Catches corruption (a torn write, a flipped bit); fast enough for every entry."""
    return f"crc32:{zlib.crc32(data):08x}"


def _verified(rows: Iterable[tuple[bytes, str, bytes]]) -> Iterator[tuple[bytes, bytes]]:
    for key, checksum, value in rows:
        if isinstance(value, bytes) and entry_checksum(value) == checksum:
            yield key, value  # else corrupt: ignored, never trusted


def _remove_older_databases(directory: Path) -> None:
    """Databases of earlier versions of the cache are never read again. (A later version's is
    left alone: an older copy of the tool, in a pre-commit hook say, may share the checkout.)"""
    for path in directory.glob("checked-files-v*.sqlite3*"):
        version = re.match(r"checked-files-v([0-9]+)\.sqlite3", path.name)
        if version is not None and int(version[1]) < _DB_VERSION:
            with contextlib.suppress(OSError):
                path.unlink()


def _ignore_in_git(directory: Path) -> None:
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# A cache of checked files; safe to delete.\n*\n")
