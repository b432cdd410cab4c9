"""Hostile input: every case of tests/hostile/ and of GENERATED below is run through
`catalog validate` under every output format and must give exactly its diagnostics and exit
code, in bounded time, without a Python traceback anywhere in the output.

The case format is the one of tests/cases/ (read by test_validate_cases), with one more key:
`xfail` marks a known src bug (see tests/hostile/README.md). Git cases run on real temporary
repositories further down; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from catalog_fixtures import (
    cli,
    isolated_git,  # noqa: F401 - autouse
)
from gitrepo_fixtures import GitCatalog, integration_yaml, isolated_git_env
from integration_catalog.diagnostics import CODES
from integration_catalog.source import MAX_README_BYTES
from integration_catalog.yamlload import MAX_FILE_BYTES, load_yaml
from test_validate_cases import IGNORED_CODES, Case, Expected, _load_case, _satisfies
from validate_support import (
    FORMATS,
    INTEGRATION,
    VALID_INTEGRATION,
    FileContent,
    Found,
    MakeCatalog,
    parse_output,
    validate,
    write_catalog,
)

HOSTILE_DIR = Path(__file__).parent / "hostile"
TIME_LIMIT = 10.0  # seconds for one whole `catalog validate`, whatever the input
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \".+\", line \d+", re.M)
CRM_DIR = "integrations/acme/crm"
ICON = f"{CRM_DIR}/icon.svg"
README = f"{CRM_DIR}/README.md"


def _e(code: str, line: int, column: int, **more: Any) -> Expected:
    return Expected(code, line, column, **more)


def _shown(text: str) -> str:
    """Text as the text reporter prints it (invisible characters escaped), so that paths
    holding a newline compare equal in every format."""
    return "".join(ch if ch.isprintable() or ch == " " else f"\\u{ord(ch):04x}" for ch in text)


def _reason(directory: Path) -> str | None:
    spec: dict[str, Any] = yaml.safe_load((directory / "expect.yaml").read_text("utf-8"))
    reason = spec.get("xfail")
    return None if reason is None else str(reason)


FILE_DIRS = sorted(d for d in HOSTILE_DIR.iterdir() if d.is_dir())
FILE_CASES = [_load_case(d) for d in FILE_DIRS]
XFAIL: dict[str, str] = {d.name: r for d in FILE_DIRS if (r := _reason(d)) is not None}


# -- cases built in code: bytes -----------------------------------------------------------------

VALID = VALID_INTEGRATION.encode()
HEAD = 'name: "CRM sync"\nworkspaceId: "ws-1"\nvisibility: public\n'
FIVE_MB = 5 * 1024 * 1024


def _bytes_cases() -> list[Case]:
    nul = {"message": "U+0000"}
    return [
        Case(
            "encoding-utf16-be",
            {INTEGRATION: b"\xfe\xff" + VALID_INTEGRATION.encode("utf-16-be")},
            [_e("file-encoding", 1, 1, message="UTF-16")],
            1,
        ),
        Case(
            # without a byte-order mark UTF-16 is valid UTF-8 with a NUL after every letter
            "encoding-utf16-le-without-bom",
            {INTEGRATION: VALID_INTEGRATION.encode("utf-16-le")},
            [
                _e("file-control-character", 1, 2, **nul),
                _e("file-control-character", 2, 1, **nul),
                _e("file-control-character", 3, 1, **nul),
                _e("file-control-character", 4, 1, **nul),
            ],
            1,
        ),
        Case(
            "encoding-utf32",
            {INTEGRATION: VALID_INTEGRATION.encode("utf-32")},
            [_e("file-encoding", 1, 1, message="UTF-32")],
            1,
        ),
        Case(
            "encoding-latin1-in-a-comment",
            {INTEGRATION: b'name: "CRM sync"\n# r\xe9sum\xe9 of it\nworkspaceId: "ws-1"\n'},
            [_e("file-encoding", 2, 4, message="byte 0xe9")],
            1,
        ),
        Case(
            # the overlong encoding of "/" that once slipped past path checks
            "encoding-overlong-slash",
            {INTEGRATION: b'name: "CRM \xc0\xaf sync"\nworkspaceId: "ws-1"\n'},
            [_e("file-encoding", 1, 12, message="byte 0xc0")],
            1,
        ),
        Case(
            "encoding-utf8-encoded-surrogate",
            {INTEGRATION: b'name: "CRM \xed\xa0\x80 sync"\nworkspaceId: "ws-1"\n'},
            [_e("file-encoding", 1, 12, message="byte 0xed")],
            1,
        ),
        Case(
            "nul-first-byte",
            {INTEGRATION: b"\x00" + VALID},
            [_e("file-control-character", 1, 1, **nul)],
            1,
        ),
        Case(
            "nul-in-a-key",
            {INTEGRATION: b'name: "CRM sync"\nworkspace\x00Id: "ws-1"\nvisibility: public\n'},
            [_e("file-control-character", 2, 10, **nul)],
            1,
        ),
        Case(
            "bidi-and-zero-width-characters-in-names",
            {
                INTEGRATION: (
                    'name: "Pay\u202epal"\ndescription: "a\u2066b\u2069"\n'
                    'workspaceId: "ws\u200b1"\nvisibility: public\ncreatedBy: "Mal\u2060lory"\n'
                    'manifest:\n  members:\n    - key: "sync\u200f"\n      kind: "work\ufeffflow"\n'
                ).encode()
            },
            [
                _e("file-control-character", 1, 11, message="U+202E"),
                _e("file-control-character", 2, 16, message="U+2066"),
                _e("file-control-character", 3, 17, message="U+200B"),
                _e("file-control-character", 5, 16, message="U+2060"),
                _e("file-control-character", 8, 17, message="U+200F"),
                _e("file-control-character", 9, 18, message="U+FEFF"),
            ],
            1,
        ),
        Case(
            "arabic-letter-mark-in-a-name",
            {INTEGRATION: 'name: "Pay\u061cpal"\nworkspaceId: "ws-1"\nvisibility: public\n'},
            [_e("file-control-character", 1, 11)],
            1,
        ),
        Case(
            "zero-width-joiners-in-names",
            {INTEGRATION: 'name: "Pay\u200dpal"\nworkspaceId: "ws\u200c1"\nvisibility: public\n'},
            [_e("file-control-character", 1, 11), _e("file-control-character", 2, 17)],
            1,
        ),
    ]


def _size_cases() -> list[Case]:
    return [
        Case(
            # 50,000 nested flow mappings: the 64th `{` (column 14 + 4 * 63) is the 65th level
            "nesting-flow-mappings-50000",
            {INTEGRATION: b"description: " + b"{a: " * 50_000 + b"}" * 50_000 + b"\n"},
            [_e("yaml-too-deep", 1, 266)],
            1,
        ),
        Case(
            # 50,000 compact nested block sequences on one line (`- - - ... x`)
            "nesting-block-sequences-50000",
            {INTEGRATION: b"- " * 50_000 + b"x\n"},
            [_e("yaml-too-deep", 1, 129)],
            1,
        ),
        Case(
            # near libyaml's own limit of 1,000 levels: refused at the 65th either way
            "nesting-999-flow-sequences",
            {INTEGRATION: b"name: " + b"[" * 999 + b"]" * 999 + b"\n"},
            [_e("yaml-too-deep", 1, 70)],
            1,
        ),
        Case(
            "nesting-1000-flow-sequences",
            {INTEGRATION: b"name: " + b"[" * 1000 + b"]" * 1000 + b"\n"},
            [_e("yaml-too-deep", 1, 70)],
            1,
        ),
        Case(
            "file-too-large-5mb-single-line",
            {INTEGRATION: HEAD.encode() + b'description: "' + b"a" * FIVE_MB + b'"\n'},
            [_e("file-too-large", 1, 1, message="the limit is 262,144")],
            1,
        ),
        Case(
            "file-too-large-sparse-5gib",
            {},
            [_e("file-too-large", 1, 1, message="5,368,709,120 bytes")],
            1,
            lambda root: _sparse(root / INTEGRATION, 5 * 1024**3),
        ),
        Case(
            "readme-5mb",
            {INTEGRATION: VALID, README: b"# CRM\n\n" + b"lorem ipsum " * (FIVE_MB // 12)},
            [_e("file-too-large", 1, 1, path=README, message=f"the limit is {MAX_README_BYTES:,}")],
            1,
        ),
        Case(
            "icon-5mb",
            {
                INTEGRATION: VALID,
                ICON: b'<svg xmlns="http://www.w3.org/2000/svg"><!--'
                + b"x" * FIVE_MB
                + b"--></svg>",
            },
            [_e("file-too-large", 1, 1, path=ICON, message="the limit is 262,144")],
            1,
        ),
    ]


def _sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)


def _billion_laughs() -> Case:
    """Nine levels of nine aliases each (9^9 strings if expanded), and the top one used:
    every anchor and alias is reported where it stands and nothing is expanded."""
    lines = [*HEAD.splitlines(), "manifest:", "  defaults:"]
    lines.append("    l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]")
    lines += [f"    l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 9)]
    lines += ["description: *l8", "variablesSchema:", "  type: object", "  properties:"]
    lines += [f"    l{n}: {{type: array}}" for n in range(9)]
    expected = [
        _e(
            "yaml-anchor",
            number,
            m.start() + 1,
            message="anchor" if m[0].startswith("&") else "alias",
        )
        for number, line in enumerate(lines, start=1)
        for m in re.finditer(r"[&*]l\d", line)
    ]
    return Case("alias-billion-laughs", {INTEGRATION: "\n".join(lines) + "\n"}, expected, 1)


def _regex(name: str, *patterns: str) -> Case:
    """Patterns that take exponential time on a backtracking engine, against defaults of
    60,000 characters that almost match."""
    defaults = "".join(f'    code{n}: "{"a" * 60_000}!"\n' for n in range(len(patterns)))
    properties = "".join(
        f'    code{n}:\n      type: string\n      pattern: "{pattern}"\n'
        for n, pattern in enumerate(patterns)
    )
    text = f"{HEAD}manifest:\n  defaults:\n{defaults}variablesSchema:\n  type: object\n"
    text += f"  properties:\n{properties}"
    expected = [_e("default-invalid", 6 + n, 12) for n in range(len(patterns))]
    return Case(f"schema-catastrophic-regex-{name}", {INTEGRATION: text}, expected, 1)


def _regex_cases() -> list[Case]:
    return [
        _regex("linear-engine", "^(a+)+$"),  # runs on the linear-time regex crate
        _regex("back-reference", "^(a+)+\\\\1$"),  # needs the backtracking engine
        _regex("look-around", "^(?=a)(a|aa)+(?!a)!?b$"),  # hits its backtracking limit
        _regex("limit-hidden-by-another-default", "^(a+)+\\\\1$", "^(?=a)(a|aa)+(?!a)!?b$"),
    ]


def _deleted_at(name: str, value: str, code: str = "field-invalid") -> Case:
    text = f"{HEAD}deletedAt: {value}\n"
    return Case(f"deleted-at-{name}", {INTEGRATION: text}, [_e(code, 4, 12)], 1)


def _value_cases() -> list[Case]:
    digits = "1" * 5000
    return [
        _billion_laughs(),
        *_regex_cases(),
        _deleted_at("date-only", '"2024-06-01"'),
        _deleted_at("impossible-date", '"2024-02-30T00:00:00Z"'),
        _deleted_at("leap-second", '"2024-06-30T23:59:60Z"'),
        _deleted_at("space-separator", '"2024-06-01 10:00:00Z"'),
        _deleted_at("arabic-indic-digits", '"\u0662\u0660\u0662\u0664-06-01T10:00:00Z"'),
        _deleted_at("unix-seconds", "1717236000", "field-type"),
        _deleted_at("utc-after-year-9999", '"9999-12-31T23:59:59-23:59"'),
        _deleted_at("utc-before-year-1", '"0001-01-01T00:00:00+23:59"'),
        Case(
            # a simple key is at most 1024 characters; an explicit `?` key has no limit
            "explicit-key-of-5000-digits",
            {INTEGRATION: f"{HEAD}manifest:\n  defaults:\n    ? {digits}\n    : 1\n"},
            [_e("yaml-non-string-key", 6, 7)],
            1,
        ),
        Case("empty-whitespace-only", {INTEGRATION: b"   \n\n  \n"}, [_e("file-empty", 1, 1)], 1),
        Case("empty-bom-only", {INTEGRATION: b"\xef\xbb\xbf"}, [_e("file-empty", 1, 1)], 1),
        Case("empty-null-document", {INTEGRATION: b"--- ~\n"}, [_e("file-empty", 1, 1)], 1),
        Case("empty-document-markers", {INTEGRATION: b"---\n...\n"}, [_e("file-empty", 1, 1)], 1),
        Case("empty-crlf-comments", {INTEGRATION: b"# a\r\n# b\r\n"}, [_e("file-empty", 1, 1)], 1),
        Case(
            "empty-mapping",
            {INTEGRATION: b"{}\n"},
            [
                _e("field-missing", 1, 1, message="`name`"),
                _e("field-missing", 1, 1, message="`workspaceId`"),
                _e("field-missing", 1, 1, message="`visibility`"),
            ],
            1,
        ),
    ]


# -- cases built in code: paths, links and special files --------------------------------------


def _at(path: str, code: str = "path-invalid", **more: Any) -> Expected:
    return Expected(code, 1, 1, path=path, **more)


def _dirs(*keys: str) -> dict[str, FileContent]:
    return {f"integrations/{key}/integration.yaml": VALID for key in keys}


def _path_cases() -> list[Case]:
    reserved = {"message": "reserved by Windows"}
    return [
        Case(
            "path-newline-in-a-publisher",
            _dirs("stripe\n/payments"),
            [_at("integrations/stripe\n", hint="rename it to `stripe`")],
            1,
        ),
        Case(
            # `...` starts with a dot, so it is skipped like any hidden directory (and its
            # broken file never read); the others only look like `..`
            "path-dot-dot-look-alikes",
            {
                **_dirs("acme/x..y", "acme/%2e%2e", "acme/\uff0e\uff0e", "acme/\u2024\u2024"),
                "integrations/acme/.../integration.yaml": b"name: [\n",
            },
            [
                _at("integrations/acme/%2e%2e", hint="rename it to `2e-2e`"),
                _at("integrations/acme/x..y", hint="rename it to `x-y`"),
                _at("integrations/acme/\\u2024\\u2024", hint="rename it"),
                _at("integrations/acme/\\uff0e\\uff0e", hint="rename it"),
            ],
            1,
        ),
        Case(
            # Cyrillic a (U+0430), the Kelvin sign (lower-cased: an ASCII k), Greek o (U+03BF)
            "path-look-alike-letters",
            _dirs("acme/crm", "\u0430cme/crm", "acme/\u212arm", "acme/cr\u03bfm"),
            [
                _at("integrations/\\u0430cme", hint="rename it to `cme`"),
                _at("integrations/acme/\\u212arm", hint="rename it to `krm`"),
                _at("integrations/acme/cr\\u03bfm", hint="rename it to `cr-m`"),
            ],
            1,
        ),
        Case(
            "path-windows-reserved-names",
            _dirs("acme/con", "acme/nul", "acme/com1", "acme/lpt9", "acme/aux", "acme/prn")
            | _dirs("nul/crm", "acme/CON", "acme/con-1"),
            [
                *(
                    _at(f"integrations/acme/{name}", **reserved)
                    for name in ("aux", "com1", "con", "lpt9", "nul", "prn")
                ),
                _at("integrations/nul", **reserved),
                _at("integrations/acme/CON", message="not lowercase kebab-case"),
            ],
            1,
        ),
        Case(
            "path-underscore-and-case-variants",
            _dirs("acme/react-native", "acme/react_native", "acme/React-Native"),
            [
                _at("integrations/acme/React-Native", hint="rename it to `react-native`"),
                _at("integrations/acme/react_native", hint="rename it to `react-native`"),
            ],
            1,
        ),
    ]


def _link(link: str, target: str | Path) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / link
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    return setup


def _outside_tree(root: Path) -> Path:
    """A valid catalog subtree outside the catalog root."""
    outside = root.parent / "outside"
    (outside / "acme/crm").mkdir(parents=True, exist_ok=True)
    (outside / "acme/crm/integration.yaml").write_bytes(VALID)
    return outside


def _link_integration_outside(root: Path) -> None:
    _link(INTEGRATION, _outside_tree(root) / "acme/crm/integration.yaml")(root)


def _link_integrations_dir(root: Path) -> None:
    (root / "integrations").symlink_to(_outside_tree(root), target_is_directory=True)


def _link_publisher_dir(root: Path) -> None:
    (root / "integrations/evil").symlink_to(_outside_tree(root), target_is_directory=True)


def _fifo(rel: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)

    return setup


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8"/></svg>'
)
SYMLINK = {"message": "symbolic link"}


def _link_cases() -> list[Case]:
    return [
        Case(
            "symlink-integration-to-a-file-inside",
            _dirs("acme/other"),
            [_at(INTEGRATION, "file-symlink", **SYMLINK)],
            1,
            _link(INTEGRATION, "../other/integration.yaml"),
        ),
        Case(
            "symlink-integration-to-a-file-outside",
            {},
            [_at(INTEGRATION, "file-symlink", **SYMLINK)],
            1,
            _link_integration_outside,
        ),
        Case(
            "symlink-readme-to-a-file-inside",
            {INTEGRATION: VALID, "docs/crm.md": b"# CRM\n"},
            [_at(README, "file-symlink", **SYMLINK)],
            1,
            _link(README, "../../../docs/crm.md"),
        ),
        Case(
            "symlink-readme-to-a-file-outside",
            {INTEGRATION: VALID},
            [_at(README, "file-symlink", **SYMLINK)],
            1,
            _link(README, "/etc/passwd"),
        ),
        Case(
            "symlink-icon-to-a-file-inside",
            {INTEGRATION: VALID, "shared/icon.svg": SVG},
            [_at(ICON, "file-symlink", **SYMLINK)],
            1,
            _link(ICON, "../../../shared/icon.svg"),
        ),
        Case(
            "symlink-icon-to-a-device-outside",
            {INTEGRATION: VALID},
            [_at(ICON, "file-symlink", **SYMLINK)],
            1,
            _link(ICON, "/dev/zero"),
        ),
        Case(
            "symlink-slug-directory",
            {INTEGRATION: VALID},
            [_at("integrations/acme/link", "file-symlink", **SYMLINK)],
            1,
            _link("integrations/acme/link", "crm"),
        ),
        Case(
            "symlink-publisher-directory-to-outside",
            {INTEGRATION: VALID},
            [_at("integrations/evil", "file-symlink", **SYMLINK)],
            1,
            _link_publisher_dir,
        ),
        Case(
            "symlink-integrations-directory-to-outside",
            {},
            [_at("integrations", "file-symlink")],
            1,
            _link_integrations_dir,
        ),
        Case(
            # opened with O_NONBLOCK: a FIFO nobody writes to cannot hang the run
            "fifo-integration-yaml",
            {},
            [_at(INTEGRATION, "file-unreadable", message="not a regular file")],
            1,
            _fifo(INTEGRATION),
        ),
        Case(
            "fifo-readme",
            {INTEGRATION: VALID},
            [
                _at(README, "layout-unexpected", severity="warning"),
                _at(README, "file-unreadable", message="not a regular file"),
            ],
            1,
            _fifo(README),
        ),
    ]


GENERATED = _bytes_cases() + _size_cases() + _value_cases() + _path_cases() + _link_cases()
ALL_CASES = FILE_CASES + GENERATED


def _param(case: Case) -> Any:
    reason = XFAIL.get(case.name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case.name, marks=marks)


# -- the corpus --------------------------------------------------------------------------------


def _run(case: Case, root: Path, output_format: str) -> None:
    started = time.monotonic()
    result = validate(root, output_format=output_format)
    seconds = time.monotonic() - started
    shown = f"{case.name} [{output_format}] exit {result.exit_code}:\n{result.output}"
    assert not TRACEBACK.search(result.stdout + result.stderr), shown
    assert seconds < TIME_LIMIT, f"{seconds:.1f} s\n{shown}"
    out = parse_output(output_format, result.stdout)
    found = [d for d in out.diagnostics if d.code not in IGNORED_CODES]
    if case.name in XFAIL:
        _loosely(case.expected, found, shown)
    else:
        _exactly(case.expected, found, shown)
    assert out.errors == sum(d.severity == "error" for d in out.diagnostics), shown
    assert out.warnings == sum(d.severity == "warning" for d in out.diagnostics), shown
    assert result.exit_code == case.exit_code, shown
    assert result.stderr == "", shown


def _exactly(expected: list[Expected], found: list[Found], shown: str) -> None:
    found = [d._replace(path=_shown(d.path)) for d in found]
    expected = [replace(e, path=_shown(e.path)) for e in expected]
    got = sorted((d.path, d.line, d.column, d.severity, d.code) for d in found)
    assert got == sorted(e.key for e in expected), shown
    unmatched = list(found)
    for want in expected:
        match = next((d for d in unmatched if _satisfies(d, want)), None)
        assert match is not None, f"no diagnostic with the message or hint of {want}\n{shown}"
        unmatched.remove(match)


def _loosely(expected: list[Expected], found: list[Found], shown: str) -> None:
    """A known bug: the fix may choose the column, and one of the codes `a|b` named."""
    unmatched = list(found)
    for want in expected:
        where = (_shown(want.path), want.line, want.severity)
        match = next(
            (
                d
                for d in unmatched
                if (_shown(d.path), d.line, d.severity) == where and d.code in want.code.split("|")
            ),
            None,
        )
        assert match is not None, f"nothing like {want}\n{shown}"
        unmatched.remove(match)
    assert unmatched == [], shown


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("case", [_param(case) for case in ALL_CASES])
def test_hostile_case(case: Case, output_format: str, make_catalog: MakeCatalog) -> None:
    root = make_catalog(case.files)
    if case.setup is not None:
        case.setup(root)
    _run(case, root, output_format)


def test_case_names_are_unique_and_reasons_name_a_case() -> None:
    names = [case.name for case in ALL_CASES]
    assert len(names) == len(set(names))
    assert set(XFAIL) <= set(names)
    assert all(reason.startswith("src bug: ") for reason in XFAIL.values())
    codes = {code for case in ALL_CASES for e in case.expected for code in e.code.split("|")}
    assert codes <= set(CODES), codes - set(CODES)


def test_every_expected_line_exists_in_its_file() -> None:
    for case in ALL_CASES:
        for want in case.expected:
            content = case.files.get(want.path)
            if isinstance(content, str):
                content = content.encode()
            if content is not None:
                assert want.line <= content.count(b"\n") + 1, (case.name, want)


def test_no_yaml_constructor_ever_runs(tmp_path: Path, make_catalog: MakeCatalog) -> None:
    """Tags that would run code in a YAML constructor: the marker files are never made."""
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    text = (
        f'name: !!python/object/apply:os.system ["{command}-1"]\n'
        f'workspaceId: !!python/object/apply:subprocess.check_call [["touch", "{marker}-2"]]\n'
        f'visibility: !!python/object/new:os.system ["{command}-3"]\n'
        f"description: !!python/object/apply:builtins.exec [\"open(r'{marker}-4', 'w')\"]\n"
    )
    root = make_catalog({INTEGRATION: text})
    for output_format in FORMATS:
        run = validate(root, output_format=output_format)
        assert run.exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog"]


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP port on 127.0.0.1 and the list of connections made to it."""
    connections: list[str] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, address = server.accept()
            except TimeoutError:
                continue
            connections.append(str(address))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join()
    server.close()


def test_a_remote_ref_is_never_fetched(
    listener: tuple[int, list[str]], make_catalog: MakeCatalog
) -> None:
    port, connections = listener
    url = f"http://127.0.0.1:{port}/schema.json"
    text = (
        f"{HEAD}manifest:\n  defaults:\n    a: 1\n    b: 2\n"
        f'variablesSchema:\n  type: object\n  $schema: "{url}#meta"\n  properties:\n'
        f'    a: {{$ref: "{url}"}}\n    b: {{$id: "{url}", $ref: "#/x"}}\n'
    )
    root = make_catalog({INTEGRATION: text})
    run = validate(root, output_format="json")
    codes = [d["code"] for d in json.loads(run.stdout)["diagnostics"]]
    assert "schema-remote-ref" in codes and run.exit_code == 1
    assert connections == []


# -- time: pathological files of the maximum size, each in a process of its own --------------

DOS_LIMIT = 5.0  # seconds, interpreter start included; a linear check needs well under one


def _dos_catalogs(top: Path) -> dict[str, Path]:
    names = [f"p{i:05}" for i in range(11_000)]
    schema = "".join(f"    {name}: {{}}\n" for name in names)
    cases = {
        # text_position() counts lines from the start of the file for every match
        "control-characters": b"\x00" * MAX_FILE_BYTES,
        # the URL-with-password pattern backtracks over a long run of scheme characters at
        # every word boundary
        "url-secret-pattern": (
            HEAD + "# ://@\n# " + "a." * ((MAX_FILE_BYTES - 200) // 2) + "\n"
        ).encode(),
        # did_you_mean() compares every unknown name with every property
        "did-you-mean": (
            f"{HEAD}variablesSchema:\n  type: object\n  properties:\n{schema}"
            f"  required: [{', '.join(n.replace('p', 'r') for n in names)}]\n"
        ).encode(),
    }
    roots = {}
    for name, data in cases.items():
        assert len(data) <= MAX_FILE_BYTES
        roots[name] = write_catalog(top / name, {INTEGRATION: data})
    return roots


@pytest.fixture(scope="module")
def dos_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`catalog validate` of each pathological catalog, all started at once so that the
    slow ones cost DOS_LIMIT seconds in all, not each."""
    roots = _dos_catalogs(tmp_path_factory.mktemp("dos"))
    env = {**isolated_git_env(), "GIT_CEILING_DIRECTORIES": str(tmp_path_factory.getbasetemp())}
    started = time.monotonic()
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "integration_catalog", "--root", str(root), "validate"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for name, root in roots.items()
    }
    yield {"started": started, "runs": runs}
    for process in runs.values():
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.parametrize("name", ["control-characters", "url-secret-pattern", "did-you-mean"])
def test_a_file_of_the_maximum_size_validates_in_bounded_time(
    dos_runs: dict[str, Any], name: str
) -> None:
    process: subprocess.Popen[bytes] = dos_runs["runs"][name]
    remaining = dos_runs["started"] + DOS_LIMIT - time.monotonic()
    try:
        stdout, stderr = process.communicate(timeout=max(remaining, 0.01))
    except subprocess.TimeoutExpired:
        process.kill()  # ours, started by dos_runs: stop it burning the CPU of later tests
        process.communicate()
        pytest.fail(f"`catalog validate` took more than {DOS_LIMIT} s")
    assert process.returncode in (0, 1), stderr.decode()
    assert not TRACEBACK.search(stdout.decode() + stderr.decode())


# -- git ----------------------------------------------------------------------------------------

WIDGET = "acme/widget"
TAG = "acme/widget/v1.0.0"
WIDGET_YAML = "integrations/acme/widget/integration.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    return GitCatalog(tmp_path / "repo")


def _diagnostics(run: Result) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(run.stdout)["diagnostics"]
    return found


def _record(site: Path, key: str, name: str = "") -> dict[str, Any]:
    path = site / f"api/v1/integrations/{key}{name or '.json'}"
    loaded: dict[str, Any] = json.loads(path.read_bytes())
    return loaded


def _tree(top: Path) -> dict[str, bytes]:
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in top.rglob("*") if p.is_file()}


def test_a_tag_repointed_after_publication_is_refused(repo: GitCatalog, tmp_path: Path) -> None:
    repo.write_integration(WIDGET, interval=15)
    published = repo.commit("2024-01-01T00:00:00Z")
    repo.tag(TAG, annotated_at="2024-01-02T00:00:00Z")
    site = tmp_path / "site"
    assert cli(repo.root, "build", "--out", str(site)).exit_code == 0
    before = _tree(site)
    repo.write_integration(WIDGET, interval=99)
    moved = repo.commit("2024-02-01T00:00:00Z")
    repo.git("tag", "-f", "-a", "-m", "re-pointed", TAG, moved)

    run = cli(repo.root, "build", "--out", str(site), "--previous", str(site), "--format", "json")

    assert run.exit_code == 1
    [changed] = _diagnostics(run)
    assert (changed["code"], changed["path"], changed["line"], changed["column"]) == (
        "published-version-changed",
        WIDGET_YAML,
        1,
        1,
    )
    assert published[:12] in changed["message"] and moved[:12] in changed["message"]
    assert _tree(site) == before


def test_annotated_tags_record_the_peeled_commit(repo: GitCatalog, tmp_path: Path) -> None:
    repo.write_integration(WIDGET)
    commit = repo.commit("2024-01-01T00:00:00Z")
    repo.tag(TAG, annotated_at="2024-01-05T12:00:00Z")
    tag_object = repo.sha(f"refs/tags/{TAG}")
    site = tmp_path / "site"

    assert cli(repo.root, "build", "--out", str(site)).exit_code == 0

    [version] = _record(site, WIDGET, "/versions.json")["versions"]
    assert tag_object != commit
    assert (version["commit"], version["publishedAt"]) == (commit, "2024-01-05T12:00:00Z")


def test_a_tag_of_an_annotated_tag_publishes_its_commit(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    commit = repo.commit("2024-01-01T00:00:00Z")
    repo.tag("base", annotated_at="2024-01-02T00:00:00Z")
    repo.git("tag", "-a", "-m", "release", TAG, "base", committer_date="2024-01-03T00:00:00Z")

    run = cli(repo.root, "versions", WIDGET, "--format", "json")

    assert run.exit_code == 0
    assert [v["commit"] for v in json.loads(run.stdout)["versions"]] == [commit]


def test_a_release_tag_on_a_blob_publishes_nothing(repo: GitCatalog) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.git("tag", TAG, repo.sha(f"HEAD:{WIDGET_YAML}"))

    run = cli(repo.root, "versions", WIDGET, "--format", "json")

    assert run.exit_code == 0
    assert json.loads(run.stdout)["versions"] == []


def test_a_detached_head_builds_the_checked_out_tree(repo: GitCatalog, tmp_path: Path) -> None:
    repo.write_integration(WIDGET, description="First.")
    first = repo.commit("2024-01-01T00:00:00Z")
    repo.tag(TAG)
    repo.write_integration(WIDGET, description="Second.")
    repo.commit("2024-02-01T00:00:00Z")
    repo.tag("acme/widget/v1.1.0")
    repo.git("checkout", "-q", "--detach", first)
    site = tmp_path / "site"

    run = cli(repo.root, "build", "--out", str(site), "--format", "json")

    assert run.exit_code == 0 and _diagnostics(run) == []
    record = _record(site, WIDGET)
    assert record["description"] == "First."
    assert record["currentVersion"] == "1.1.0"  # every tag counts, wherever HEAD is
    assert record["updatedAt"] == "2024-01-01T00:00:00Z"


def test_a_shallow_clone_without_tags(repo: GitCatalog, tmp_path: Path) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag(TAG)
    repo.write_integration(WIDGET, interval=20)
    repo.commit("2024-02-01T00:00:00Z")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-tags", repo.root.as_uri(), str(clone)],
        check=True,
        env=isolated_git_env(),
        capture_output=True,
    )
    site = tmp_path / "site"

    for command in (["validate"], ["build", "--out", str(site)]):
        run = cli(clone, *command)
        assert run.exit_code == 2, command
        assert "shallow clone" in run.stderr and "--allow-shallow" in run.stderr
        assert not TRACEBACK.search(run.output)
    assert not site.exists()

    run = cli(clone, "build", "--out", str(site), "--allow-shallow", "--format", "json")

    assert run.exit_code == 0 and _diagnostics(run) == []
    assert _record(site, WIDGET)["currentVersion"] is None  # no tags: a draft
    assert _record(site, WIDGET, "/versions.json")["versions"] == []


@pytest.mark.parametrize("output_format", FORMATS)
def test_tags_differing_only_in_case_are_a_warning(repo: GitCatalog, output_format: str) -> None:
    repo.write_integration(WIDGET)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag("acme/widget/v1.0.0-RC.1")
    repo.tag("acme/widget/v1.0.0-rc.1")

    run = cli(repo.root, "validate", "--format", output_format)

    assert run.exit_code == 0
    [found] = parse_output(output_format, run.stdout).diagnostics
    assert found[:5] == (WIDGET_YAML, 1, 1, "warning", "tag-case-collision")
    assert "`acme/widget/v1.0.0-RC.1`, `acme/widget/v1.0.0-rc.1`" in found.message


def test_a_tagged_symlink_is_read_as_the_link_never_followed(repo: GitCatalog) -> None:
    secret = repo.root.parent / "outside.yaml"
    secret.write_text(integration_yaml(name="Outside Secret Q9Z"))
    link = repo.root / WIDGET_YAML
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    repo.commit("2024-01-01T00:00:00Z")
    repo.tag(TAG)
    repo.remove(WIDGET_YAML)
    repo.write_integration(WIDGET)
    repo.commit("2024-02-01T00:00:00Z")

    run = cli(repo.root, "validate", "--published", "--format", "json")

    assert run.exit_code == 0
    [found] = _diagnostics(run)
    assert (found["code"], found["severity"]) == ("snapshot-invalid", "warning")
    assert "the document is a string" in found["message"]
    assert "Q9Z" not in run.output
    # without --published, the tag counts as a version and its content is not read at all
    plain = cli(repo.root, "validate", "--format", "json")
    assert plain.exit_code == 0 and _diagnostics(plain) == []
    assert "Q9Z" not in plain.output


def _tree_at_the_path(repo: GitCatalog) -> None:
    repo.write(f"{WIDGET_YAML}/x.yaml", "a: 1\n")
    repo.commit("2024-01-01T00:00:00Z")


def _gitlink_at_the_path(repo: GitCatalog) -> None:
    repo.write_integration("acme/other")
    sha = repo.commit("2023-12-01T00:00:00Z")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{WIDGET_YAML}")
    repo.git("commit", "-q", "-m", "gitlink", committer_date="2024-01-01T00:00:00Z")


@pytest.mark.parametrize(
    "plant", [_tree_at_the_path, _gitlink_at_the_path], ids=["tree", "gitlink"]
)
def test_a_tagged_commit_without_a_file_at_the_path_is_no_corruption(
    repo: GitCatalog, plant: Callable[[GitCatalog], None]
) -> None:
    plant(repo)  # the commit that is tagged
    repo.tag(TAG)
    repo.git("rm", "-r", "-q", "--cached", WIDGET_YAML)
    if (repo.root / WIDGET_YAML).exists():
        repo.remove(WIDGET_YAML)
    repo.write_integration(WIDGET)
    repo.commit("2024-02-01T00:00:00Z")

    run = cli(repo.root, "validate", "--format", "json")

    assert run.exit_code == 0, run.stderr
    assert {d["severity"] for d in _diagnostics(run)} == {"warning"}  # the tag is ignored


# 400 entries of four `[{:?-` each: a file that could nest deeply enough for libyaml to refuse
# it (more than 900 of them).
_MANY_STRUCTURES = b"".join(b"p%d: {trustTiers: [community]}\n" % n for n in range(400))


def test_a_large_file_gets_libyamls_syntax_error_as_a_small_one_does() -> None:
    small = load_yaml(INTEGRATION, b"a: b: c\n")[1]
    large = load_yaml(INTEGRATION, _MANY_STRUCTURES + b"a: b: c\n")[1]
    assert [d.code for d in small] == [d.code for d in large] == ["yaml-syntax"]
    assert small[0].message == large[0].message
    assert large[0].line == small[0].line + 400


def test_nesting_libyaml_refuses_is_too_deep_beside_what_came_before() -> None:
    """libyaml refuses 2,000 nested flow sequences before the builder counts 65 levels: the
    nesting is measured again, and what the builder found before stays reported."""
    text = _MANY_STRUCTURES + b"dup: 1\ndup: 2\nx: " + b"[" * 2000 + b"]" * 2000 + b"\n"
    doc, problems = load_yaml(INTEGRATION, text)
    assert doc is None
    assert [(d.code, d.line) for d in problems] == [
        ("yaml-duplicate-key", 402),
        ("yaml-too-deep", 403),
    ]
