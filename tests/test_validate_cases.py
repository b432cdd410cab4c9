"""Example catalogs run through `catalog validate` under every output format.

Each directory in tests/cases/ is one case: an `integration.yaml` (placed at
integrations/acme/crm/) or a `catalog/` tree, laid over the base catalog of validate_support, and
`expect.yaml` naming the exit code and every diagnostic as (path, line, column, severity, code),
optionally with text its message or hint must contain. Cases that are bytes rather than text
(encodings, control characters, huge files) or need a symlink or a directory are built in
GENERATED below. The diagnostics must match exactly: nothing missing, nothing extra.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_catalog.diagnostics import CODES
from integration_catalog.yamlload import MAX_FILE_BYTES
from validate_support import (
    FORMATS,
    INTEGRATION,
    VALID_INTEGRATION,
    FileContent,
    Found,
    MakeCatalog,
    parse_output,
    validate,
)

CASES_DIR = Path(__file__).parent / "cases"

# The codes of `catalog validate` that these cases must cover, every one.
VALIDATE_CODES = frozenset(
    {
        "file-too-large",
        "file-encoding",
        "file-control-character",
        "file-empty",
        "file-unreadable",
        "file-symlink",
        "yaml-syntax",
        "yaml-tab-indent",
        "yaml-multiple-documents",
        "yaml-too-deep",
        "yaml-anchor",
        "yaml-tag",
        "yaml-duplicate-key",
        "yaml-non-string-key",
        "yaml-ambiguous-value",
        "yaml-root-not-mapping",
        "field-unknown",
        "field-missing",
        "field-type",
        "field-invalid",
        "field-derived",
        "path-mismatch",
        "path-invalid",
        "layout-unexpected",
        "icon-conflict",
        "member-duplicate",
        "dependency-invalid",
        "schema-invalid",
        "schema-remote-ref",
        "schema-root-type",
        "schema-required-unknown",
        "default-invalid",
        "default-unknown",
        "trust-tier-not-granted",
        "catalog-config",
    }
)
# A catalog in tmp_path is not a git repository, which every run reports; the history rules
# have their own tests (test_git_history.py).
IGNORED_CODES = frozenset({"git-no-repository"})


@dataclass(frozen=True)
class Expected:
    code: str
    line: int
    column: int
    path: str = INTEGRATION
    severity: str = "error"
    message: str | None = None  # text the message must contain
    hint: str | None = None  # text the hint must contain

    @property
    def key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.severity, self.code)


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, FileContent]
    expected: list[Expected]
    exit_code: int
    setup: Callable[[Path], None] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.name


def _load_case(directory: Path) -> Case:
    spec: dict[str, Any] = yaml.safe_load((directory / "expect.yaml").read_text("utf-8"))
    files: dict[str, FileContent] = dict.fromkeys(spec.get("absent", []))
    single = directory / "integration.yaml"
    if single.exists():
        files[INTEGRATION] = single.read_bytes()
    tree = directory / "catalog"
    if tree.is_dir():
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                files[path.relative_to(tree).as_posix()] = path.read_bytes()
    expected = [Expected(**item) for item in spec["diagnostics"]]
    return Case(directory.name, files, expected, spec["exit"])


FILE_CASES = [_load_case(d) for d in sorted(CASES_DIR.iterdir()) if d.is_dir()]


# -- cases built in code ---------------------------------------------------------------------


def _symlink_integration(root: Path) -> None:
    outside = root.parent / "outside.yaml"
    outside.write_text(VALID_INTEGRATION)
    link = root / "integrations/acme/link"
    link.mkdir(parents=True)
    (link / "integration.yaml").symlink_to(outside)


def _symlink_publishers(root: Path) -> None:
    (root / "real-publishers.yaml").write_text("acme:\n  name: Acme\n")
    (root / "publishers.yaml").symlink_to(root / "real-publishers.yaml")


def _publishers_is_a_directory(root: Path) -> None:
    (root / "publishers.yaml" / "acme.yaml").parent.mkdir()
    (root / "publishers.yaml" / "acme.yaml").write_text("name: Acme\n")


def _integration_is_a_directory(root: Path) -> None:
    (root / "integrations/acme/dir/integration.yaml").mkdir(parents=True)
    (root / "integrations/acme/dir/integration.yaml/x.yaml").write_text(VALID_INTEGRATION)


def _e(code: str, line: int, column: int, **more: Any) -> Expected:
    return Expected(code, line, column, **more)


GENERATED = [
    Case(
        "file-encoding-latin1",
        {INTEGRATION: b'name: "CRM sync"\nworkspaceId: "ws-1"\ndescription: "Caf\xe9 data"\n'},
        [_e("file-encoding", 3, 18, message="byte 0xe9", hint="Latin-1")],
        1,
    ),
    Case(
        # columns count characters, so the two-byte é before the bad byte is one column
        "file-encoding-after-multibyte",
        {INTEGRATION: 'name: "CRM"\ndescription: "é'.encode() + b'\xff"\n'},
        [_e("file-encoding", 2, 16, message="byte 0xff")],
        1,
    ),
    Case(
        "file-encoding-utf16",
        {INTEGRATION: VALID_INTEGRATION.encode("utf-16")},
        [_e("file-encoding", 1, 1, message="UTF-16")],
        1,
    ),
    Case(
        "file-bom-is-fine",
        {INTEGRATION: b"\xef\xbb\xbf" + VALID_INTEGRATION.encode()},
        [],
        0,
    ),
    Case(
        "file-control-character",
        {
            INTEGRATION: (
                'name: "CRM\x07 sync"\nworkspaceId: "ws-1"\n'
                'visibility: public\ndescription: "a \u202eevil"\ncreatedBy: "x\x00"\n'
            ).encode()
        },
        [
            _e("file-control-character", 1, 11, message="U+0007"),
            _e("file-control-character", 4, 17, message="U+202E"),
            _e("file-control-character", 5, 14, message="U+0000"),
        ],
        1,
    ),
    Case(
        "file-too-large-5mb",
        {INTEGRATION: VALID_INTEGRATION.encode() + b"#" * (5 * 1024 * 1024) + b"\n"},
        [_e("file-too-large", 1, 1, message="the limit is 262,144")],
        1,
    ),
    Case(
        "file-too-large-by-one-byte",
        {INTEGRATION: VALID_INTEGRATION.encode().ljust(MAX_FILE_BYTES + 1, b"\n")},
        [_e("file-too-large", 1, 1, message=f"{MAX_FILE_BYTES + 1:,} bytes")],
        1,
    ),
    Case(
        "file-at-the-size-limit",
        {INTEGRATION: VALID_INTEGRATION.encode().ljust(MAX_FILE_BYTES, b"\n")},
        [],
        0,
    ),
    Case(
        # 50,000 levels: refused at the 65th collection (the root mapping and 64 lists, the
        # 64th `[` being at column 6 + 64), and nothing recurses
        "yaml-too-deep-50000",
        {INTEGRATION: b"name: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"},
        [_e("yaml-too-deep", 1, 70)],
        1,
    ),
    Case(
        "yaml-too-deep-unclosed-50000",
        {INTEGRATION: b"[" * 50_000},
        [_e("yaml-too-deep", 1, 65)],
        1,
    ),
    Case(
        # libyaml places the end of a file without a final newline on a line that does not
        # exist; the error is reported at the end of the last line instead
        "yaml-syntax-at-end-without-newline",
        {INTEGRATION: b'workspaceId: "ws-1"\nname: [unclosed'},
        [_e("yaml-syntax", 2, 16)],
        1,
    ),
    Case(
        "file-symlink-integration",
        {},
        [_e("file-symlink", 1, 1, path="integrations/acme/link/integration.yaml")],
        1,
        _symlink_integration,
    ),
    Case(
        "file-symlink-publishers",
        {"publishers.yaml": None, INTEGRATION: VALID_INTEGRATION},
        [_e("file-symlink", 1, 1, path="publishers.yaml")],
        1,
        _symlink_publishers,
    ),
    Case(
        "file-unreadable-publishers-directory",
        {"publishers.yaml": None, INTEGRATION: VALID_INTEGRATION},
        [_e("file-unreadable", 1, 1, path="publishers.yaml")],
        1,
        _publishers_is_a_directory,
    ),
    Case(
        "file-unreadable-integration-directory",
        {},
        [_e("file-unreadable", 1, 1, path="integrations/acme/dir/integration.yaml")],
        1,
        _integration_is_a_directory,
    ),
]

ALL_CASES = FILE_CASES + GENERATED


def _check(case: Case, root: Path, output_format: str) -> None:
    result = validate(root, output_format=output_format)
    shown = f"{case.name} [{output_format}] exit {result.exit_code}:\n{result.output}"
    out = parse_output(output_format, result.stdout)
    found = [d for d in out.diagnostics if d.code not in IGNORED_CODES]
    got = sorted((d.path, d.line, d.column, d.severity, d.code) for d in found)
    assert got == sorted(e.key for e in case.expected), shown
    unmatched = list(found)
    for want in case.expected:
        match = next((d for d in unmatched if _satisfies(d, want)), None)
        assert match is not None, f"no diagnostic with the message or hint of {want}\n{shown}"
        unmatched.remove(match)
    assert out.errors == sum(d.severity == "error" for d in out.diagnostics), shown
    assert out.warnings == sum(d.severity == "warning" for d in out.diagnostics), shown
    assert result.exit_code == case.exit_code, shown
    assert result.stderr == "", shown


def _satisfies(found: Found, want: Expected) -> bool:
    return (
        (found.path, found.line, found.column, found.severity, found.code) == want.key
        and (want.message is None or want.message in found.message)
        and (want.hint is None or want.hint in (found.hint or ""))
    )


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("case", ALL_CASES, ids=str)
def test_case(case: Case, output_format: str, make_catalog: MakeCatalog) -> None:
    root = make_catalog(case.files)
    if case.setup is not None:
        case.setup(root)
    _check(case, root, output_format)


def test_case_names_are_unique() -> None:
    names = [case.name for case in ALL_CASES]
    assert len(names) == len(set(names))


def test_every_validate_code_has_a_failing_case() -> None:
    assert set(CODES) >= VALIDATE_CODES, VALIDATE_CODES - set(CODES)
    covered = {e.code for case in ALL_CASES for e in case.expected}
    assert VALIDATE_CODES - covered == set()
    assert covered <= set(CODES), covered - set(CODES)


def test_every_code_is_documented() -> None:
    """diagnostics.py promises docs/diagnostics.md documents every code."""
    docs = Path(__file__).parents[1] / "docs" / "diagnostics.md"
    if not docs.is_file():
        pytest.skip("docs/diagnostics.md is not written yet")
    text = docs.read_text("utf-8")
    missing = [c for c in CODES if not re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
    assert missing == []


def test_every_expected_line_exists_in_its_file() -> None:
    """A guard on the cases themselves: a position past the end of its file is a typo."""
    for case in ALL_CASES:
        for want in case.expected:
            content = case.files.get(want.path)
            if isinstance(content, bytes):
                assert want.line <= content.count(b"\n") + 1, (case.name, want)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_unreadable(make_catalog: MakeCatalog) -> None:
    root = make_catalog({INTEGRATION: VALID_INTEGRATION})
    (root / INTEGRATION).chmod(0)
    case = Case("unreadable", {}, [_e("file-unreadable", 1, 1)], 1)
    _check(case, root, "json")
