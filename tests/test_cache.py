"""The check cache in `.catalog-cache/` and the process pool: neither may change a result. A
cached, an uncached and a parallel run agree; a damaged entry or database is ignored; entries
written by one run are read by the next. Real repositories and a real SQLite file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import lz4.block
import pytest

from build_support import build_ok, many_repo, read_tree
from gitrepo_fixtures import GitCatalog, integration_yaml
from integration_catalog import catalog, filecheck, output, resolve
from integration_catalog.cache import CACHE_DIR, CheckCache, entry_checksum
from integration_catalog.catalog import LoadResult, load_catalog
from integration_catalog.versions import pack_published, unpack_published

COUNT = 70  # integrations: with their snapshots, well above the pool's threshold
CHANGED = (3, 17, 29, 41, 58)  # released again with an unknown format (a warning)
DAY2 = "2024-04-01T08:00:00Z"
Outcome = tuple[object, ...]


def _with_unknown_format(number: int) -> str:
    text = integration_yaml(f"App {number:03}", interval=number + 100)
    return text.replace("      default: 15\n", "      default: 15\n      format: colour\n")


def _outcome(result: LoadResult) -> Outcome:
    """Everything a load found that does not depend on where the repository is."""
    catalog = result.catalog
    return (result.diagnostics, catalog.integrations, catalog.reference_time, result.files_checked)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> GitCatalog:
    """The repository after a first run that filled its cache."""
    repo = many_repo(tmp_path_factory.mktemp("cache") / "repo", COUNT)
    for number in CHANGED:
        repo.write_integration(f"acme/app-{number:03}", _with_unknown_format(number))
    repo.commit(DAY2, message="second releases")
    for number in CHANGED:
        repo.tag(f"acme/app-{number:03}/v1.1.0")
    shutil.rmtree(repo.root / CACHE_DIR, ignore_errors=True)
    load_catalog(repo.root)
    return repo


@pytest.fixture(scope="module")
def clean(template: GitCatalog) -> Outcome:
    """What a run without any cache finds (the same in every copy of the repository)."""
    return _outcome(load_catalog(template.root, use_cache=False))


@pytest.fixture
def repo(template: GitCatalog, tmp_path: Path) -> GitCatalog:
    """A private copy of the repository: history, tags and the filled cache."""
    shutil.copytree(template.toplevel, tmp_path / "repo", symlinks=True)
    copy = GitCatalog(tmp_path / "repo", init=False)  # rewrites the same settings files
    assert _db(copy.root).is_file()
    return copy


def _db(root: Path) -> Path:
    found = sorted((root / CACHE_DIR).glob("*.sqlite3"))
    assert len(found) == 1, found
    return found[0]


def _rows(root: Path) -> list[tuple[int, bytes, str, bytes]]:
    db = sqlite3.connect(_db(root))
    try:
        return db.execute("SELECT rowid, key, checksum, value FROM entries ORDER BY key").fetchall()
    finally:
        db.close()


def _update(root: Path, sql: str, *params: object) -> int:
    db = sqlite3.connect(_db(root))
    try:
        with db:
            changed: int = db.execute(sql, params).rowcount
        return changed
    finally:
        db.close()


def _row_of(root: Path, needle: bytes) -> tuple[int, str, str, bytes]:
    """The one entry whose value mentions `needle`."""
    found = [row for row in _rows(root) if needle in row[3]]
    assert len(found) == 1, [row[1] for row in found]
    return found[0]


def _distinct_blobs(repo: GitCatalog) -> int:
    """(integration, blob) pairs among the work tree and every tagged version."""
    pairs = set()
    for path in (repo.root / "integrations").glob("*/*/integration.yaml"):
        rel = path.relative_to(repo.root).as_posix()
        pairs.add((rel, repo.git("hash-object", rel)))
    for tag in repo.git("tag", "--list").split():
        rel = f"integrations/{tag.rsplit('/', 1)[0]}/integration.yaml"
        pairs.add((rel, repo.git("rev-parse", f"{tag}:{rel}")))
    return len(pairs)


# -- the cache changes nothing ------------------------------------------------------------------


def test_builds_with_a_cold_a_warm_and_no_cache_are_byte_identical(
    repo: GitCatalog, tmp_path: Path
) -> None:
    shutil.rmtree(repo.root / CACHE_DIR)
    cold = build_ok(repo.root, tmp_path / "cold")
    warnings = [d for d in cold.diagnostics if d.code == "schema-unknown-format"]
    assert len(warnings) == len(CHANGED)
    assert _rows(repo.root)
    build_ok(repo.root, tmp_path / "warm")
    shutil.rmtree(repo.root / CACHE_DIR)
    build_ok(repo.root, tmp_path / "none")
    trees = [read_tree(tmp_path / name) for name in ("cold", "warm", "none")]
    assert len(trees[0]) > 3 * COUNT
    assert trees[0] == trees[1] == trees[2]


def test_loads_with_and_without_the_cache_agree(repo: GitCatalog, clean: Outcome) -> None:
    shutil.rmtree(repo.root / CACHE_DIR)
    uncached = load_catalog(repo.root, use_cache=False)
    assert not (repo.root / CACHE_DIR).exists()  # use_cache=False leaves no trace
    assert _outcome(uncached) == clean
    assert _outcome(load_catalog(repo.root)) == clean  # cold
    assert _outcome(load_catalog(repo.root)) == clean  # warm
    assert len(uncached.catalog.integrations) == COUNT
    assert sum(len(i.versions) for i in uncached.catalog.integrations) == COUNT + len(CHANGED)


def test_the_cache_stays_out_of_git(repo: GitCatalog) -> None:
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    result = load_catalog(repo.root)
    assert "git-dirty" not in [d.code for d in result.diagnostics]


# -- entries are written once and read afterwards ----------------------------------------------


def test_every_checked_file_has_one_valid_entry(repo: GitCatalog) -> None:
    rows = _rows(repo.root)
    # A tagged file identical to the work tree's is checked (and stored) once.
    assert len(rows) == _distinct_blobs(repo) == COUNT + len(CHANGED)
    for _, _, checksum, value in rows:
        assert entry_checksum(value) == checksum
        header, _, packed = value.partition(b"\n")
        fields = json.loads(header)
        assert set(fields) == {"diagnostics", "spec", "dependencies", "slim", "packed"}
        assert fields["packed"] is True
        content, *parts = unpack_published(packed)  # the published fields, as canonical JSON
        assert json.loads(content) == {
            name: json.loads(part)
            for name, part in zip(("authConfig", "manifest", "variablesSchema"), parts, strict=True)
        }


def test_a_second_run_reads_every_entry_and_rewrites_none(repo: GitCatalog, clean: Outcome) -> None:
    before = _rows(repo.root)
    assert _outcome(load_catalog(repo.root)) == clean
    assert _rows(repo.root) == before  # same rowids: nothing was replaced, every lookup hit


def test_a_well_formed_entry_is_used_as_is(repo: GitCatalog) -> None:
    """The proof that a later run reads the entries: one rewritten consistently (value and
    checksum) shows in the result. The cache is trusted local state, as in any build cache."""
    rowid, _, _, value = _row_of(repo.root, b"App 011")
    forged = value.replace(b"App 011", b"App XYZ")
    _update(
        repo.root,
        "UPDATE entries SET value = ?, checksum = ? WHERE rowid = ?",
        forged,
        entry_checksum(forged),
        rowid,
    )
    item = load_catalog(repo.root).catalog.get("acme/app-011")
    assert item is not None
    assert item.spec.name == "App XYZ"


# -- damage is detected and ignored -------------------------------------------------------------


def test_a_changed_value_is_detected_and_the_file_checked_again(
    repo: GitCatalog, clean: Outcome
) -> None:
    rowid, key, checksum, value = _row_of(repo.root, b"App 011")
    damaged = value.replace(b"App 011", b"App XYZ")  # still valid JSON, checksum not updated
    assert _update(repo.root, "UPDATE entries SET value = ? WHERE rowid = ?", damaged, rowid) == 1
    assert _outcome(load_catalog(repo.root)) == clean
    repaired = [row for row in _rows(repo.root) if row[1] == key]
    assert [(r[2], r[3]) for r in repaired] == [(checksum, value)]  # written afresh


def test_a_flipped_byte_anywhere_is_detected(repo: GitCatalog, clean: Outcome) -> None:
    flipped = []
    for rowid, _, _, value in _rows(repo.root):
        middle = len(value) // 2
        changed = value[:middle] + bytes([value[middle] ^ 0x01]) + value[middle + 1 :]
        flipped.append((changed, rowid))
    db = sqlite3.connect(_db(repo.root))
    try:
        with db:
            db.executemany("UPDATE entries SET value = ? WHERE rowid = ?", flipped)
    finally:
        db.close()
    assert _outcome(load_catalog(repo.root)) == clean


_PACKED = pack_published({}, {}, {})
_PACKED_CONTENT = b'{"authConfig":{},"manifest":{},"variablesSchema":{}}'


def _packed(content: bytes, length: int | None = None) -> bytes:
    """`content` packed behind the lengths of two empty parts and (unless given) its own."""
    stated = len(content) if length is None else length
    return struct.pack(">III", 2, 2, stated) + lz4.block.compress(content, store_size=False)


def _entry(content: bytes = _PACKED, **header: object) -> bytes:
    """A cache entry: its JSON line (these fields, over sound defaults), then the content."""
    fields = {"diagnostics": [], "spec": None, "dependencies": [], "slim": False, "packed": True}
    return json.dumps({**fields, **header}).encode() + b"\n" + content


@pytest.mark.parametrize(
    "value",
    [
        b"{}\n",
        b"[1, 2, 3]\n",
        b'"text"\n',
        _entry(diagnostics=[{"path": 1}]),
        _entry(packed=5),
        _entry(diagnostics="none"),
        _entry(content=_PACKED[:12] + b"not lz4"),
        _entry(content=b"\0\0\0"),  # no lengths
        _entry(content=struct.pack(">II", 3, 2) + _PACKED[8:]),  # lengths that do not fit
        _entry(content=_packed(b'{"authConfig":{},"manifest":{},"variablesSchema":}')),
        _entry(packed=False),  # says there is no content, yet has some
        _entry().replace(b"\n", b" "),  # no line of its own
        b"\xff\xfe not json\n" + _PACKED,
        _entry(content=_packed(b"not json")),
        _entry(content=_packed(b"[1]")),
        _entry(content=_PACKED[:-4]),  # cut short
        _entry(content=_packed(_PACKED_CONTENT, len(_PACKED_CONTENT) + 1)),  # shorter than said
        _entry(content=_packed(b'{"authConfig":{' + b" " * (20 << 20) + b"}}")),
        _entry(content=_packed(_PACKED_CONTENT, 1 << 31)),  # says it is huge
        _entry(dependencies={"ab": 1}),
        _entry(dependencies=[["a", 1]]),
        _entry(spec=5),
    ],
    ids=[
        "empty",
        "list",
        "string",
        "bad-diagnostic",
        "bad-packed-flag",
        "bad-diagnostics",
        "bad-content",
        "no-lengths",
        "lengths-not-fitting",
        "part-not-an-object",
        "stray-content",
        "no-header-line",
        "bytes",
        "content-not-json",
        "content-not-the-fields",
        "content-cut-short",
        "content-shorter-than-said",
        "content-too-large",
        "content-said-to-be-huge",
        "dependencies-mapping",
        "dependency-not-text",
        "spec-not-text",
    ],
)
def test_entries_of_the_wrong_shape_are_ignored(
    repo: GitCatalog, clean: Outcome, value: bytes
) -> None:
    checksum = entry_checksum(value)
    changed = _update(repo.root, "UPDATE entries SET value = ?, checksum = ?", value, checksum)
    assert changed == COUNT + len(CHANGED)
    assert _outcome(load_catalog(repo.root)) == clean


def test_an_entry_whose_spec_cannot_be_read_is_ignored(repo: GitCatalog, clean: Outcome) -> None:
    value = _entry(spec="not json")
    checksum = entry_checksum(value)
    _update(repo.root, "UPDATE entries SET value = ?, checksum = ?", value, checksum)
    assert _outcome(load_catalog(repo.root)) == clean


def test_a_garbage_database_file_is_ignored(repo: GitCatalog, clean: Outcome) -> None:
    db = _db(repo.root)
    db.write_bytes(bytes(range(256)) * (db.stat().st_size // 256 + 1))
    assert _outcome(load_catalog(repo.root)) == clean
    assert not db.exists()  # removed, so that the next run starts afresh
    assert _outcome(load_catalog(repo.root, workers=2)) == clean
    assert len(_rows(repo.root)) == _distinct_blobs(repo)  # a fresh cache, filled again


def test_a_database_cut_short_is_ignored(repo: GitCatalog, clean: Outcome) -> None:
    db = _db(repo.root)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    assert _outcome(load_catalog(repo.root)) == clean


def test_a_foreign_database_is_ignored(repo: GitCatalog, clean: Outcome) -> None:
    db = sqlite3.connect(_db(repo.root))
    try:
        with db:
            db.execute("DROP TABLE entries")
            db.execute("CREATE TABLE entries (name TEXT, size INTEGER)")
            db.execute("INSERT INTO entries VALUES ('x', 1)")
    finally:
        db.close()
    assert _outcome(load_catalog(repo.root)) == clean


def test_a_cache_directory_that_cannot_be_used_is_ignored(repo: GitCatalog, clean: Outcome) -> None:
    shutil.rmtree(repo.root / CACHE_DIR)
    (repo.root / CACHE_DIR).write_text("a file where the directory should be\n")
    assert _outcome(load_catalog(repo.root)) == clean


def test_databases_of_older_versions_are_removed(repo: GitCatalog, clean: Outcome) -> None:
    directory = repo.root / CACHE_DIR
    older = [directory / f"checked-files-v3.sqlite3{end}" for end in ("", "-journal")]
    newer = directory / "checked-files-v40.sqlite3"  # another copy of the tool's, left alone
    for path in (*older, newer):
        path.write_bytes(b"a cache of another version")
    assert _outcome(load_catalog(repo.root)) == clean
    assert not any(path.exists() for path in older)
    assert newer.read_bytes() == b"a cache of another version"
    assert len([path for path in directory.glob("*.sqlite3") if path != newer]) == 1


def test_the_database_has_pages_that_fit_its_entries(repo: GitCatalog) -> None:
    db = sqlite3.connect(_db(repo.root))
    try:
        assert db.execute("PRAGMA page_size").fetchone() == (8192,)
    finally:
        db.close()


# -- the process pool ---------------------------------------------------------------------------


def test_a_parallel_load_equals_a_single_process_one(repo: GitCatalog) -> None:
    # Errors and warnings of several kinds, in the work tree, beside the clean files.
    repo.write_integration("acme/app-005", integration_yaml("Five", extra="surprise: 1\n"))
    repo.write_integration("acme/app-006", "name: [unclosed\n")
    repo.write_integration("acme/app-007", integration_yaml("Seven", trust_tier="first_party"))
    repo.write_integration("acme/app-008", _with_unknown_format(8))
    files = len(list((repo.root / "integrations").glob("*/*/integration.yaml")))
    assert files > filecheck._PARALLEL_FROM

    serial = load_catalog(repo.root, workers=1, use_cache=False)
    parallel = load_catalog(repo.root, workers=2, use_cache=False)
    assert _outcome(parallel) == _outcome(serial)
    codes = {d.code for d in serial.diagnostics}
    assert {"schema-unknown-format", "git-dirty"} <= codes
    assert len([d for d in serial.diagnostics if d.severity.value == "error"]) >= 3
    # The pool filling the cache, a single process reading it: still the same.
    shutil.rmtree(repo.root / CACHE_DIR)
    load_catalog(repo.root, workers=2)
    assert _outcome(load_catalog(repo.root, workers=1)) == _outcome(serial)


@pytest.mark.parametrize(("chunk", "parallel_from"), [(1, 64), (3, 1), (16, 1)])
def test_published_versions_in_small_chunks_give_the_same_catalog(
    repo: GitCatalog,
    clean: Outcome,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
    parallel_from: int,
) -> None:
    # Many chunks in flight, on the pool or not: each chunk's snapshots are made as it
    # finishes, and a tagged file the tree holds takes the tree's check (the tree itself
    # read and checked in batches of a few files).
    monkeypatch.setattr(resolve, "_CHUNK", chunk)
    monkeypatch.setattr(catalog, "_TREE_BATCH", 5)
    monkeypatch.setattr(filecheck, "_PARALLEL_FROM", parallel_from)
    shutil.rmtree(repo.root / CACHE_DIR)
    assert _outcome(load_catalog(repo.root, workers=2)) == clean  # cold
    assert len(_rows(repo.root)) == _distinct_blobs(repo)  # each blob checked once
    assert _outcome(load_catalog(repo.root, workers=2)) == clean  # warm
    assert _outcome(load_catalog(repo.root, workers=2, use_cache=False)) == clean


def test_a_parallel_build_equals_a_single_process_one(repo: GitCatalog, tmp_path: Path) -> None:
    shutil.rmtree(repo.root / CACHE_DIR)
    serial = build_ok(repo.root, tmp_path / "serial", workers=1)
    shutil.rmtree(repo.root / CACHE_DIR)
    parallel = build_ok(repo.root, tmp_path / "parallel", workers=2)
    pages = [p for p in read_tree(tmp_path / "serial") if p.endswith("index.html")]
    assert len(pages) > output._PARALLEL_FROM  # so the pages were rendered on the workers
    assert read_tree(tmp_path / "parallel") == read_tree(tmp_path / "serial")
    assert parallel.diagnostics == serial.diagnostics


def test_a_script_without_a_main_guard_can_build_in_parallel(
    repo: GitCatalog, tmp_path: Path
) -> None:
    # Worker processes must not run the caller's main module again (as spawned ones would:
    # each would start a build of its own and wait for the first one's lock).
    script = tmp_path / "build_it.py"
    script.write_text(
        "from pathlib import Path\n"
        "from integration_catalog.build import BuildOptions, build\n"
        f"result = build(Path({str(repo.root)!r}), "
        f"BuildOptions(out=Path({str(tmp_path / 'site')!r}), workers=2))\n"
        "print(result.written)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > output._PARALLEL_FROM


@pytest.mark.parametrize(
    "value",
    [b"not an id", b'"' + b"0" * 40 + b'"', b"0" * 39, b"G" * 40, b"0" * 41],
    ids=["text", "json", "short", "not-hex", "long"],
)
def test_stored_blob_ids_of_the_wrong_shape_are_ignored(
    repo: GitCatalog, clean: Outcome, value: bytes
) -> None:
    changed = _update(
        repo.root, "UPDATE blob_ids SET value = ?, checksum = ?", value, entry_checksum(value)
    )
    assert changed == COUNT + len(CHANGED)  # one per tag
    assert _outcome(load_catalog(repo.root)) == clean


def test_a_wrong_stored_blob_id_with_a_bad_checksum_is_ignored(
    repo: GitCatalog, clean: Outcome
) -> None:
    # a well-formed id of another blob, but the checksum is that of the real answer
    changed = _update(repo.root, "UPDATE blob_ids SET value = ?", b"0" * 40)
    assert changed == COUNT + len(CHANGED)
    assert _outcome(load_catalog(repo.root)) == clean


def test_a_deleted_integration_gets_its_whole_snapshot_despite_slim_entries(
    repo: GitCatalog,
) -> None:
    """While an integration exists its published versions are cached slim (no spec); once it
    is deleted, its record is built from a whole snapshot, checked afresh."""
    slim = [row for row in _rows(repo.root) if b'"slim":true' in row[3]]
    assert slim  # the first run stored published versions slim
    repo.remove("integrations/acme/app-011")
    repo.commit("2024-05-01T08:00:00Z", message="delete app-011")
    cached = load_catalog(repo.root)
    uncached = load_catalog(repo.root, use_cache=False)
    assert _outcome(cached) == _outcome(uncached)
    tombstone = cached.catalog.get("acme/app-011")
    assert tombstone is not None and tombstone.tombstone
    assert tombstone.spec.name == "App 011"


@pytest.mark.parametrize(
    "value",
    [
        b'{"diagnostics":[],"spec":"{}","content":"{}","dependencies":[],"slim":true}',
        b'{"diagnostics":[],"spec":null,"content":null,"dependencies":[],"slim":true}',
    ],
    ids=["slim-with-spec", "slim-without-content"],
)
def test_slim_entries_that_do_not_hold_up_are_ignored(
    repo: GitCatalog, clean: Outcome, value: bytes
) -> None:
    checksum = entry_checksum(value)
    changed = _update(
        repo.root,
        "UPDATE entries SET value = ?, checksum = ? WHERE instr(value, ?) > 0",
        value,
        checksum,
        b'"slim":true',
    )
    assert changed > 0
    assert _outcome(load_catalog(repo.root)) == clean


def test_a_new_database_is_not_asked_and_a_later_run_finds_everything(tmp_path: Path) -> None:
    """A first run looks nothing up in an empty table (what it stores there, it has at hand);
    a later run finds everything stored before it, also by another run meanwhile."""
    first = CheckCache(tmp_path, "scope")
    one, two, three = (first.key(name) for name in ("one", "two", "three"))
    first.put_bytes([(one, b"1")])
    first.put_bytes([(two, b"2")], "blob_ids")
    assert first.get_bytes([one, two]) == {}
    assert first.get_bytes([one, two], "blob_ids") == {}
    first.close()

    later = CheckCache(tmp_path, "scope")
    beside = CheckCache(tmp_path, "scope")  # another run, storing while this one runs
    beside.put_bytes([(three, b"3")])
    assert later.get_bytes([one, two, three]) == {one: b"1", three: b"3"}
    assert later.get_bytes([one, two], "blob_ids") == {two: b"2"}
    for cache in (later, beside):
        cache.close()


@pytest.mark.parametrize("limit", [0, 16 << 20])
def test_packed_content_larger_than_it_can_be_is_refused(limit: int) -> None:
    """Nothing is made room for on a length that no packed form this small can hold."""
    for length in (1 << 31, 10**9, 255 * len(_PACKED[12:]) + 1):
        with pytest.raises(ValueError, match="too large"):
            unpack_published(struct.pack(">III", 2, 2, length) + _PACKED[12:], limit)
    assert unpack_published(_PACKED, limit)[0] == _PACKED_CONTENT
