"""The fast path of `yamlload`: yaml_rs reads a clean file, the strict builder everything else.

Its one promise: whenever `_fast_load` returns a value, the strict builder would have built an
equal value (the same types, the same key order) without a single diagnostic. Checked here on
generated YAML full of what the strict builder refuses, on every file of tests/cases/ and
tests/hostile/, and on the sample catalog, which must take the fast path. Positions of a
document loaded the fast way are built on first use and must be the strict builder's.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml_rs
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from integration_catalog import yamlload
from integration_catalog.yamlload import (
    LazyYaml,
    LoadedYaml,
    _fast_load,
    load_positions_later,
    load_yaml,
)

TESTS = Path(__file__).parent
SAMPLE = sorted((TESTS.parent / "integrations").glob("*/*/integration.yaml"))
CASE_FILES = sorted(
    p for top in ("cases", "hostile") for p in (TESTS / top).rglob("*") if p.is_file()
)
SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def typed(value: Any) -> Any:
    """`value` with the type of every part spelled out: 1, 1.0 and True differ, key order
    counts, and -0.0 is not 0.0."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def assert_fast_path_is_right(text: str) -> Any:
    """The promise of `_fast_load` for one text; returns its value (None: not taken)."""
    fast = _fast_load(text)
    if fast is None:
        return None
    strict, problems = load_yaml("x.yaml", text.encode("utf-8"), fast=False)
    assert problems == [], (text, fast, problems)
    assert strict is not None
    assert typed(fast) == typed(strict.value), text
    return fast


def assert_same_load(path: Path) -> LoadedYaml | None:
    """`load_yaml` gives the same value and diagnostics with or without the fast path."""
    data = path.read_bytes()
    fast_doc, fast_problems = load_yaml(str(path), data)
    strict_doc, strict_problems = load_yaml(str(path), data, fast=False)
    assert fast_problems == strict_problems
    assert (fast_doc is None) == (strict_doc is None)
    if fast_doc is not None and strict_doc is not None:
        assert typed(fast_doc.value) == typed(strict_doc.value)
        if isinstance(fast_doc, LazyYaml):
            assert strict_problems == []
    return fast_doc


# -- generated YAML -------------------------------------------------------------------------------

WORDS = [
    *("a", "b", "name", "key", "foo bar", "x-y", "snake_case", "ws_acme_2", "v1.2", "é", "日本"),
    *("yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF", "true", "True", "TRUE"),
    *("false", "tRUE", "null", "Null", "NULL", "nULL", "~", "=", "<<", "inf", "nan", ".inf"),
    *("-.Inf", ".NaN", "+.inf", ".INF", "1.0.0", "1.x", "~1.2", ">=1.0 <2", "2024-01-01"),
    *("2024-01-01T10:00:00Z", "2024-1-1", "1:20", "12:30:00", "190:20:30", "-1:20", "1:2"),
    *("0x1F", "0X1f", "0o17", "0O17", "0b101", "0B1", "0x", "0b", "0x_1", "1_000", "_1", "1_"),
    *("1__0", "._5", "1._5", "1e3", "1E3", "1e+3", "1.0e3", "1.0e+3", "1.e3", ".5e3", "1e_3"),
    *("12e", "e3", ".5", "+.5", "-.5", "5.", "-5.", "0.", "00", "012", "-012", "+012", "08"),
    *("0012.5", "00.5", "0.5", "-0", "+0", "-0.0", "+1", "+1.5", "9007199254740991"),
    *("9007199254740992", "-9007199254740993", "123456789012345", "1234567890123456"),
    *("100000000000000000000000", "1" + "0" * 400 + ".0", "3.14", "1.10", "-2.50", "1,000"),
    *("https://x.example/a?b=c&d=e#f", "R&D", "5*3", "a!", "Hi!", "a?", "why? so", "x:y"),
    *("x :y", "a#b", "-x", ":x", "?x", "x-", "--x", "...x", "---x", "@x", "`x", "%x", "a%"),
]
PLAIN_WORDS = st.sampled_from(WORDS)
NUMBERS = st.one_of(
    st.integers(-(2**60), 2**60).map(str),
    st.integers(0, 999).map(lambda n: f"0{n}"),
    st.integers(-1000, 1000).map(lambda n: f"{n:_}"),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.3e}"),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
)
# Text for inside quotes: YAML's specials, escapes, and characters the strict builder refuses.
QUOTED_CHARS = st.characters(
    codec="utf-8",
    categories=["L", "N", "P", "S", "Zs", "Cc", "Cf"],
    include_characters="&*!?:#[]{},|>'\"\\%@`-\u200d\u202e\u2028",
)
INNER = st.one_of(PLAIN_WORDS, NUMBERS, st.text(QUOTED_CHARS, max_size=10))


def double_quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raw_double_quoted(text: str) -> str:
    return '"' + text + '"'  # escapes and stray quotes as they come


SCALARS = st.one_of(
    PLAIN_WORDS,
    PLAIN_WORDS,
    NUMBERS,
    INNER.map(double_quoted),
    INNER.map(single_quoted),
    INNER.map(raw_double_quoted),
    st.sampled_from(
        [
            *('"\\u202e"', '"\\t"', '"a\\\\b"', '"a\\"b"', "'a\\b'", '"\\x41"', '"\\/"', '""'),
            *("''", "!!str 012", "!!int 12", "!!int '12'", "!!float 1", "!!bool yes", "! x"),
            *("!custom x", "!!binary aGk=", "!!set {a}", "&a x", "*a", "&a [x]", "& x", "* x"),
            *("[]", "{}", "[a, b]", "[a,b]", "{a: 1, b: 2}", "{a: 1, a: 2}", "[a: 1]", "{a}"),
            *("{b:}", "[b:]", "[b:,c]", "{b:,c}", "[:]", "[:b]", "{:b}", "[b, :c]", "[-]", "[a:b]"),
            *("[? a : b]", "{[a]: b}", "[[a]: b]", '{"a":1}', "{'a':b}", '["a":b]', "[a, [b, c]]"),
            *("[1, 2.5, true, null, ~]", '["x", "y"]', "[012]", "[1e3]", "[yes]", "[a, b,]"),
            *("'it''s'", "'a'' b'", '"a\n  b"', "'a\n\n  b'", '"30 2 * * *"', '"^[a-z]+$"'),
            *('"a: b"', '"a #b"', "a #b", "# comment", '"x" y', "'x'y", '"*a"', "'&a'"),
            *("[|]", "[b, >c]", "{b: |\n  x\n}", "[?x]", "{?x: b}", "[>]", '"|"', '">=1 <2"'),
            *("|", ">", "|-", '"?x"', "'-x'", "-x", "?x", ":x", "[a\n  |b]", "[b,\n  c]"),
        ]
    ),
)
KEYS = st.one_of(
    st.sampled_from(["a", "b", "c", "name", "key", "type", "items"]),
    PLAIN_WORDS,
    INNER.map(double_quoted),
    INNER.map(single_quoted),
    st.sampled_from(['"a"', "'a'", '"1"', "1", "? a", "? [a]", "&k a", "*k", "!!str a", "[a]"]),
    st.sampled_from(["k" * 1030, "'" + "k" * 1030 + "'", "k" * 500]),
)
BLOCK_SCALARS = st.tuples(
    st.just("block"),
    st.sampled_from(["|", ">", "|-", ">-", "|+", ">+", "|2", ">1-", "|-2"]),
    st.lists(st.sampled_from(["x", "y z", "", "  indented", "yes", "012", "a: b", "- c", "#d"])),
)


def collections(keys: st.SearchStrategy[str], scalars: st.SearchStrategy[str]) -> Any:
    """Block mappings and sequences of `children`, and flow ones of scalars."""
    return lambda children: st.one_of(
        st.tuples(st.just("map"), st.lists(st.tuples(keys, children), min_size=1, max_size=5)),
        st.tuples(st.just("seq"), st.lists(children, min_size=1, max_size=4)),
        st.tuples(st.just("flow-map"), st.lists(st.tuples(keys, scalars), max_size=3)),
        st.tuples(st.just("flow-seq"), st.lists(scalars, max_size=3)),
    )


NODES = st.recursive(
    st.one_of(SCALARS, SCALARS, BLOCK_SCALARS), collections(KEYS, SCALARS), max_leaves=25
)
COMMENTS = st.sampled_from(["", "", "", " # note", " #x", "  # a: 012 &x *y"])


def render(node: Any, indent: int, draw: st.DrawFn, comments: Any = COMMENTS) -> str:
    """A node after `key:` or `-`: a scalar on the same line, a collection below it."""
    pad = " " * indent
    comment = draw(comments)
    if isinstance(node, str):
        return f" {node}{comment}\n"
    kind, *rest = node
    if kind == "block":
        header, lines = rest
        body = "".join(f"{pad}{line}\n" if line else "\n" for line in lines)
        return f" {header}{comment}\n{body}"
    if kind == "flow-map":
        return " {" + ", ".join(f"{k}: {v}" for k, v in rest[0]) + "}" + comment + "\n"
    if kind == "flow-seq":
        return " [" + ", ".join(rest[0]) + "]" + comment + "\n"
    if kind == "map":
        body = "".join(
            f"{pad}{key}:{render(value, indent + 2, draw, comments)}" for key, value in rest[0]
        )
        return f"{comment}\n{body}"
    body = "".join(f"{pad}-{render(item, indent + 2, draw, comments)}" for item in rest[0])
    return f"{comment}\n{body}"


NOISE = [
    *("\t", "  ", "\n", "\r\n", "\r", ":", ": ", "- ", "-", "[", "]", "{", "}", ",", '"', "'"),
    *("#", "&a ", "*a", "!", "? ", "|", ">", "%", "@", "`", "\\", "0", "_", ".", "e", "<<"),
    *("---\n", "...\n", "\u2028", "\x85", "\xa0", "\u200d", "\u200b", "\ufeff", "\x00"),
]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(KEYS, NODES), min_size=1, max_size=6))
    document = "".join(f"{key}:{render(value, 2, draw)}" for key, value in pairs)
    document = draw(st.sampled_from(["", "", "", "---\n", "%YAML 1.1\n---\n", "# top\n"])) + (
        document + draw(st.sampled_from(["", "", "", "...\n", "---\nb: 1\n", "a: 2\n"]))
    )
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # stray characters anywhere
        at = draw(st.integers(0, len(document)))
        document = document[:at] + draw(st.sampled_from(NOISE)) + document[at:]
    return document.rstrip("\n") if draw(st.booleans()) else document


@settings(SETTINGS, max_examples=600)
@given(text=yaml_texts())
def test_the_fast_path_builds_what_the_strict_builder_builds(text: str) -> None:
    taken = assert_fast_path_is_right(text) is not None
    event("fast path" if taken else "strict path")


# Ordinary documents: the fast path must take them, or it is not a fast path.
SAFE_WORD = st.builds(
    "".join,
    st.lists(st.sampled_from(["a", "b", "key", "name", "x", "y", "Url", "_id", "2", "-v"])),
).map(lambda word: "k" + word)
SAFE_TEXT = st.text(
    st.characters(codec="utf-8", categories=["L", "N"], include_characters=" "), max_size=20
).map(lambda s: "x" + s.rstrip())
CLEAN_SCALARS = st.one_of(
    SAFE_WORD,
    SAFE_TEXT.map(double_quoted),
    SAFE_TEXT.map(single_quoted),
    st.integers(-(10**15) + 1, 10**15 - 1).map(str),
    st.floats(-1e6, 1e6).map(lambda f: f"{f:.4f}"),
    st.sampled_from(["true", "false", "null", "~", "''", '"2024-01-01"', '"1.x"', "'1.0.0'"]),
    st.sampled_from(['"30 2 * * *"', '"^[a-z][0-9]*$"', '"R&D"', '"a: b"', '"https://x.example"']),
)
CLEAN_NODES = st.recursive(
    st.one_of(
        CLEAN_SCALARS,
        st.tuples(st.just("block"), st.just("|-"), st.lists(SAFE_WORD, min_size=1, max_size=3)),
    ),
    collections(SAFE_WORD, CLEAN_SCALARS),
    max_leaves=20,
)


@st.composite
def clean_texts(draw: st.DrawFn) -> str:
    pairs = draw(st.dictionaries(SAFE_WORD, CLEAN_NODES, min_size=1, max_size=6))
    comments = st.sampled_from(["", " # note"])
    text = "".join(f"{key}:{render(value, 2, draw, comments)}" for key, value in pairs.items())
    try:
        yaml_rs.loads(text, parse_datetime=False)
    except ValueError:  # a key twice in one mapping
        assume(False)
    return text


@settings(SETTINGS, max_examples=200)
@given(text=clean_texts())
def test_ordinary_documents_take_the_fast_path(text: str) -> None:
    assert assert_fast_path_is_right(text) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "a: {b:}\n",
        "a: [b:]\n",
        "a: [b:,c]\n",
        "a: [:b]\n",
        "a: [b, :c]\n",
        "a: 012\n",
        "a: 1_000\n",
        "a: _1\n",
        "a: 0b11\n",
        "a: 0o17\n",
        "a: 1e3\n",
        "a: +.5\n",
        "a: 1.\n",
        "a: 1234567890123456\n",
        "a: .inf\n",
        "a: yes\n",
        "yes: a\n",
        "a: # note\n  012\n",
        "a: 1\n'a': 2\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "<<: {a: 1}\n",
        "a: b\n---\nc: d\n",
        "a: [[b]: c]\n",
        "a: '\u202e'\n",
        'a: "\\u202e"\n',
        "a:\tb\n",
        "a: x\u2028y\n",
        "a: '2024-01-01'\nb: 2024-01-01\n",
        'a: "yes"\nb: yes\n',
        "- a\n",
        "",
    ],
)
def test_doubtful_spellings_are_left_to_the_strict_builder(text: str) -> None:
    assert _fast_load(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        'a: "null"\nb: ""\nc: "yes"\nd: "2024-01-01"\nnullValues: [x]\n',
        'cron: "30 2 * * *"\npattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$"\n',
        "a: [x, y]\nb: {c: 1, d: -2.5}\nc:\n  - 0\n  - +7\n  - true\n  - ~\n",
        "deps:\n  acme/crm: '>=1.0.0 <2.0.0'\n  acme/x: \"1.x\"\n",
        "text: >-\n  folded\n  lines\n\n  kept\nlit: |\n  a\n   b\n",
    ],
)
def test_clean_spellings_take_the_fast_path(text: str) -> None:
    assert assert_fast_path_is_right(text) is not None, text


# -- files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: str(p.relative_to(TESTS)))
def test_case_files_load_the_same_either_way(path: Path) -> None:
    assert_same_load(path)
    text = path.read_bytes().decode("utf-8", "replace")
    assert_fast_path_is_right(text)


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: str(p.parent.relative_to(TESTS.parent)))
def test_the_sample_catalog_takes_the_fast_path(path: Path) -> None:
    doc = assert_same_load(path)
    assert isinstance(doc, LazyYaml)
    assert assert_fast_path_is_right(path.read_text("utf-8")) is not None


# -- positions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: str(p.parent.relative_to(TESTS.parent)))
def test_positions_are_built_on_first_use_and_are_the_strict_ones(path: Path) -> None:
    data = path.read_bytes()
    strict, _ = load_yaml(str(path), data, fast=False)
    lazy, _ = load_yaml(str(path), data)
    assert strict is not None and isinstance(lazy, LazyYaml)
    view = lazy.with_value({"only": "part"})
    # a clean file reports nothing, so asking whether a path was reported needs no positions
    assert not lazy.was_reported(("name",)) and not view.was_reported(("name",))
    assert not lazy._loaded
    paths = [*strict.nodes, ("missing",), (*next(reversed(strict.nodes)), "deeper")]
    for where in paths:
        for of_key in (False, True):
            assert lazy.position(where, of_key=of_key) == strict.position(where, of_key=of_key)
        assert lazy.plain_text(where) == strict.plain_text(where)
        assert lazy.was_reported(where) == strict.was_reported(where)
        assert view.position(where) == strict.position(where)
    assert lazy.nodes == strict.nodes and lazy.reported == strict.reported
    assert view.value == {"only": "part"} and view.nodes == strict.nodes


def test_positions_later_take_the_files_value_when_given_none() -> None:
    path = SAMPLE[0]
    data = path.read_bytes()
    strict, _ = load_yaml(str(path), data, fast=False)
    later = load_positions_later(str(path), data)
    assert later.value is None
    assert strict is not None
    assert later.position(("name",)) == strict.position(("name",))
    assert later.value == strict.value


# -- the facts the fast path relies on ------------------------------------------------------------


# The number screen as first written, with plain (backtracking) repetition.
_PLAIN_DOUBTFUL_NUMBER = re.compile(
    r"[\n\[{,:-] *(?=[-+._]*[0-9])"
    r"(?![-+]?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?(?![\w.+-]))"
    r"[-+]?(?:0[xXoObB][0-9a-fA-F_]*|[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9_]*)?)(?![\w.+-])"
)


@settings(SETTINGS, max_examples=1000)
@given(text=st.text("0123456789_.+-eExXoObBaAfF: \n[{,", max_size=16))
def test_the_number_screen_finds_what_its_plain_form_finds(text: str) -> None:
    """Possessive and atomic repetition only spares the regex engine work, and one search per
    leading character finds what one search for them all does: a doubtful number where the
    plain form finds one, at the same places (a number ends at a word character, so giving
    one back never helps)."""
    found = {m.span() for screen in yamlload._DOUBTFUL_NUMBERS for m in screen.finditer(text)}
    plain = {m.span() for m in _PLAIN_DOUBTFUL_NUMBER.finditer(text)}
    assert plain <= found  # the plain form's matches cannot overlap, so it may skip some
    assert bool(found) == bool(plain)
    assert all(_PLAIN_DOUBTFUL_NUMBER.match(text, start) for start, _ in found)


@settings(SETTINGS, max_examples=500)
@given(word=st.text("0123456789_.+-eExXoObBaAfFinINlL:", min_size=1, max_size=8))
def test_every_number_yaml_rs_reads_is_number_like(word: str) -> None:
    """`_NUMBER_LIKE` holds every word yaml_rs reads as a number (but `.inf` and `.nan`,
    which the value check refuses): the screen relies on it."""
    try:
        value = yaml_rs.loads(f"k: {word}\n", parse_datetime=False)
    except ValueError:
        return
    read = value.get("k") if isinstance(value, dict) else None
    if type(read) in (int, float) and math.isfinite(read):
        assert re.fullmatch(yamlload._NUMBER_LIKE, word), (word, read)


@settings(SETTINGS, max_examples=500)
@given(text=st.text(max_size=12) | st.sampled_from(WORDS))
def test_strings_the_value_check_passes_unseen_read_as_text(text: str) -> None:
    if not yamlload._NOT_LETTER_LED.match("\0" + text) and text not in yamlload._YAML11_WORDS:
        assert yamlload._reads_as_text(text), text
        assert yamlload._reads_as_key(text), text


def test_every_forbidden_character_is_unprintable() -> None:
    """`_clean_source` finds forbidden characters with `str.isprintable`."""
    for code in range(0x10000):
        char = chr(code)
        if yamlload._FORBIDDEN_CHARS.search(f"a{char}a") or yamlload._FORBIDDEN_CHARS.search(
            f"\u00e9{char}\u00e9"
        ):
            assert not char.isprintable(), hex(code)
