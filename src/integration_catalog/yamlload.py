"""Strict YAML loading that keeps the position of every key and value.

The catalog is JSON in YAML clothing: only mappings with string keys, lists, strings, numbers,
booleans and null are allowed, and every value must mean the same under YAML 1.1 (PyYAML) and
YAML 1.2 (most other tools), so an unquoted `no`, `0123` or `2024-01-01` is refused with
"quote it". Values are built from libyaml's event stream with an explicit stack, never by
recursion, so no document can exhaust the stack, and anchors are refused before anything could
expand them.

That costs most of a cold run, so a file is read by yaml_rs first (`_fast_load`; about five
times faster with its checks), and its value kept when neither the text nor the value leaves a
doubt that the strict builder would build the same value without a word. The positions of such
a file are built by the strict builder on first use, which is only when some later check
reports a problem (`LazyYaml`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import yaml
import yaml_rs

from .diagnostics import Diagnostic, Severity

MAX_FILE_BYTES = 256 * 1024
MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER
MAX_DEPTH = 64

# libyaml when it is built in; the pure-Python parser is only a fallback.
_FastLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HAS_C_LOADER = _FastLoader is not yaml.SafeLoader

YamlPath = tuple[str | int, ...]

_JSON_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
# Plain scalars that YAML 1.2's core schema reads as a number or boolean.
_CORE_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_CORE_OTHER = re.compile(r"(0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))\Z")
_CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_CORE_BOOL["FALSE"] = False
_CORE_NULL = {"", "~", "null", "Null", "NULL"}
_FORBIDDEN_CHARS = re.compile(
    # C0 and C1 controls, bidirectional marks, overrides and isolates, and invisible
    # characters that make two different keys or names look the same (zero-width space, word
    # joiner, a byte-order mark after the start)
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069"
    "\ufeff\ufffe\uffff]"
    # zero-width (non-)joiners are needed inside emoji and some scripts, never beside ASCII
    "|(?<=[\x00-\x7f])[\u200c\u200d]|[\u200c\u200d](?=[\x00-\x7f])"
)
_TYPED_TAGS = frozenset(
    {
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
    }
)
_STRUCTURE_CHARS = "[{:?-"
_RESOLVER = yaml.resolver.Resolver()


@dataclass(frozen=True)
class Position:
    line: int
    column: int


FILE_START = Position(1, 1)


@dataclass(frozen=True)
class NodeInfo:
    """Where a value sits: its key (None for list items and the root) and the value itself."""

    key: Position | None
    value: Position
    plain: bool  # an unquoted scalar: a wrong type there earns the hint "quote it"
    text: str | None = None  # an unquoted scalar's source text, as the hint quotes it


@dataclass
class LoadedYaml:
    """A document's value and the position of everything in it."""

    value: Any
    nodes: dict[YamlPath, NodeInfo] = field(default_factory=dict)
    # Paths already reported by the loader, so later checks don't report them twice.
    reported: set[YamlPath] = field(default_factory=set)

    def position(self, path: YamlPath, *, of_key: bool = False) -> Position:
        """The position of `path`, or of its nearest ancestor that exists (a missing field is
        reported at the mapping that lacks it)."""
        for end in range(len(path), -1, -1):
            info = self.nodes.get(path[:end])
            if info is not None:
                if of_key and end == len(path) and info.key is not None:
                    return info.key
                return info.value
        return FILE_START

    def plain_text(self, path: YamlPath) -> str | None:
        """The source text of an unquoted scalar (`1.10`, not the number 1.1), else None."""
        info = self.nodes.get(path)
        return info.text if info is not None and info.plain else None

    def was_reported(self, path: YamlPath) -> bool:
        return any(path[:end] in self.reported for end in range(len(path) + 1))

    def with_value(self, value: Any) -> LoadedYaml:
        """Another value (e.g. the fields less some) with this document's positions."""
        return LoadedYaml(value, self.nodes, self.reported)


class _StrictLoad:
    """The strict load of one file, run once, when a position is first asked for."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path, self.data = path, data
        self._doc: LoadedYaml | None = None
        self._done = False

    def doc(self) -> LoadedYaml | None:
        if not self._done:
            self._done = True
            self._doc = load_yaml(self.path, self.data, fast=False)[0]
        return self._doc


class LazyYaml(LoadedYaml):
    """A document whose positions (`nodes`, `reported`) are built by the strict loader on
    first use: a clean file, which no check reports, is parsed once, by the fast path."""

    def __init__(self, value: Any, source: _StrictLoad, *, clean: bool = False) -> None:
        # `clean`: the strict builder reports nothing in this file (the fast path's promise),
        # so it reports no path either, and `reported` needs no load
        self._source, self._loaded, self._clean = source, False, clean
        super().__init__(value)

    def _load_positions(self) -> None:
        if not self._loaded:
            self._loaded = True
            doc = self._source.doc()
            if doc is not None:
                self._nodes, self._reported = doc.nodes, doc.reported
                if self.value is None:
                    self.value = doc.value

    @property
    def nodes(self) -> dict[YamlPath, NodeInfo]:
        self._load_positions()
        return self._nodes

    @nodes.setter
    def nodes(self, nodes: dict[YamlPath, NodeInfo]) -> None:
        self._nodes = nodes

    @property
    def reported(self) -> set[YamlPath]:
        if not self._clean:
            self._load_positions()
        return self._reported

    @reported.setter
    def reported(self, reported: set[YamlPath]) -> None:
        self._reported = reported

    def with_value(self, value: Any) -> LoadedYaml:
        return LazyYaml(value, self._source, clean=self._clean)  # still loaded once at most


def load_positions_later(path: str, data: bytes, value: Any = None) -> LazyYaml:
    """`value` with the positions of the file `data`, built only if something asks for one
    (a None value is then replaced by the file's own)."""
    return LazyYaml(value, _StrictLoad(path, data))


def load_yaml(
    path: str, data: bytes, *, fast: bool = True
) -> tuple[LoadedYaml | None, list[Diagnostic]]:
    """Load one document strictly. Returns None (and why) when there is nothing usable.
    `fast=False` always runs the strict builder, which has every position at once."""
    problems = _Problems(path)
    text = _decode(data, problems)
    if text is None:
        return None, problems.items
    if fast:
        value = _fast_load(text)
        if value is not None:
            return LazyYaml(value, _StrictLoad(path, data), clean=True), []
    return _load_text(text, problems)


def _load_text(text: str, problems: _Problems) -> tuple[LoadedYaml | None, list[Diagnostic]]:
    """The strict builder, with a position for every node."""
    _check_characters(text, problems)
    if problems.items:
        return None, problems.items
    builder = _Builder(problems)
    try:
        for event in yaml.parse(text, Loader=_FastLoader):
            builder.feed(event)
    except _TooDeep:
        return None, problems.items
    except yaml.MarkedYAMLError as error:
        # libyaml refuses nesting 1,000 deep, looking ahead before the builder sees the 65th
        # level: where the text could nest that deep, the pure-Python parser tells whether
        # that is why (it is slow, so only a text libyaml refused is looked at again). Any
        # other error is libyaml's, as for every other file.
        if _needs_depth_guard(text):
            deep = _Problems(problems.path)
            if not _depth_ok(text, deep) and deep.items[-1].code == "yaml-too-deep":
                problems.items.extend(deep.items)
                return None, problems.items
        problems.add_yaml_error(error, text)
        return None, problems.items
    except yaml.YAMLError as error:  # an unmarked reader error
        problems.add(FILE_START, "yaml-syntax", f"YAML could not be parsed: {error}")
        return None, problems.items
    if builder.documents > 1:
        return None, problems.items
    loaded = builder.loaded
    if loaded is None or loaded.value is None:
        problems.add(
            FILE_START,
            "file-empty",
            "the file holds no YAML document",
            "write the fields as `key: value` lines (see docs/authoring.md)",
        )
        return None, problems.items
    if not isinstance(loaded.value, dict):
        problems.add(
            loaded.position(()),
            "yaml-root-not-mapping",
            f"the document is a {_kind(loaded.value)}, not a mapping of fields",
            "write the fields as `key: value` lines at the top level",
        )
        return None, problems.items
    return loaded, problems.items


def _kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean"}.get(type(value), "number")


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Diagnostic] = []

    def add(self, at: Position, code: str, message: str, hint: str | None = None) -> None:
        self.items.append(
            Diagnostic(self.path, at.line, at.column, Severity.ERROR, code, message, hint)
        )

    def add_yaml_error(self, error: yaml.MarkedYAMLError, text: str) -> None:
        mark = error.problem_mark or error.context_mark
        at = Position(mark.line + 1, mark.column + 1) if mark is not None else FILE_START
        if mark is not None and mark.index >= len(text):
            # libyaml puts the end of a file without a final newline on the next line, which
            # does not exist; report the end of the last line instead
            at = text_position(text, len(text))
        what = error.problem or str(error)
        context = f" ({error.context})" if error.context else ""
        self.add(at, "yaml-syntax", f"YAML syntax error: {what}{context}")


def _decode(data: bytes, problems: _Problems) -> str | None:
    if len(data) > MAX_FILE_BYTES:
        problems.add(
            FILE_START,
            "file-too-large",
            f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}",
            "move long prose to README.md beside integration.yaml",
        )
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        wide = "UTF-32" if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) else "UTF-16"
        problems.add(
            FILE_START,
            "file-encoding",
            f"the file is {wide}; it must be UTF-8",
            "save the file as UTF-8 without a byte-order mark",
        )
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        at = _byte_position(data, error.start)
        problems.add(
            at,
            "file-encoding",
            f"byte 0x{data[error.start]:02x} is not valid UTF-8",
            "save the file as UTF-8 (it looks like Latin-1 or another legacy encoding)",
        )
        return None
    return text.removeprefix("\ufeff")


def _byte_position(data: bytes, offset: int) -> Position:
    line_start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[line_start:offset].decode("utf-8", errors="replace")
    return Position(data.count(b"\n", 0, offset) + 1, len(prefix) + 1)


def text_position(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(text.count("\n", 0, offset) + 1, offset - line_start + 1)


def _check_characters(text: str, problems: _Problems) -> None:
    seen_lines: set[int] = set()
    row, row_start, scanned = 1, 0, 0  # counted as the scan goes: linear in the file's size
    for match in _FORBIDDEN_CHARS.finditer(text):
        offset = match.start()
        newlines = text.count("\n", scanned, offset)
        if newlines:
            row += newlines
            row_start = text.rfind("\n", scanned, offset) + 1
        scanned = offset
        at = Position(row, offset - row_start + 1)
        if at.line not in seen_lines:
            seen_lines.add(at.line)
            problems.add(
                at,
                "file-control-character",
                f"invisible or control character U+{ord(match.group()):04X}",
                "delete it: control and bidirectional-override characters can make "
                "text read differently from what it is",
            )
    for number, line in enumerate(text.split("\n"), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        tab = line.find("\t", 0, indent)
        if tab >= 0 and line.strip():
            problems.add(
                Position(number, tab + 1),
                "yaml-tab-indent",
                "a tab is used for indentation",
                "indent with spaces",
            )


def _needs_depth_guard(text: str) -> bool:
    # Nesting needs one of these characters per level; ordinary files have a few hundred.
    # libyaml stops at 1,000 levels with a syntax error of its own, and yaml_rs recurses, so
    # any file that could reach that deep is looked at more closely.
    return sum(map(text.count, _STRUCTURE_CHARS)) > 900


def _depth_ok(text: str, problems: _Problems) -> bool:
    """Measure nesting with the pure-Python parser, which keeps its state on the heap and has
    no limit of its own."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problems.add(
                        _pos(event),
                        "yaml-too-deep",
                        f"mappings and lists are nested more than {MAX_DEPTH} deep",
                        "flatten the structure",
                    )
                    return False
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        problems.add_yaml_error(error, text)
        return False
    return True


@dataclass
class _Frame:
    path: YamlPath
    value: dict[str, Any] | list[Any]
    key: str | None = None  # a mapping's pending key
    key_pos: Position | None = None
    key_seen: dict[str, Position] = field(default_factory=dict)
    skip_value: bool = False  # the pending key was unusable
    key_start: Position | None = None  # set when this collection is itself a (complex) key


class _Builder:
    """Builds plain Python values from parser events, checking every strictness rule."""

    def __init__(self, problems: _Problems) -> None:
        self.problems = problems
        self.stack: list[_Frame] = []
        self.documents = 0
        self.loaded: LoadedYaml | None = None
        self.doc = LoadedYaml(None)

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self._start_document(event)
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.CollectionStartEvent):
            self._start_collection(event)
        elif isinstance(event, yaml.CollectionEndEvent):
            self._end_collection()
        elif isinstance(event, yaml.DocumentEndEvent) and self.documents == 1:
            self.loaded = self.doc

    def _start_document(self, event: yaml.Event) -> None:
        self.documents += 1
        if self.documents == 2:
            self.problems.add(
                _pos(event),
                "yaml-multiple-documents",
                "the file holds more than one YAML document",
                "keep one document per file; remove the `---` separator",
            )
        self.doc = LoadedYaml(None)

    # -- positions and placement -------------------------------------------------------------

    def _child_path(self) -> tuple[YamlPath, Position | None, bool] | None:
        """The path of the value about to be placed, its key position, and whether to skip it."""
        if not self.stack:
            return (), None, False
        frame = self.stack[-1]
        if isinstance(frame.value, list):
            return (*frame.path, len(frame.value)), None, False
        if frame.key is None:
            return None  # this node is a key
        if frame.skip_value:  # e.g. a duplicate key's value: its positions must not replace
            line = frame.key_pos.line if frame.key_pos else 0  # those of the value that is kept
            return (*frame.path, f"<skipped value at line {line}>"), frame.key_pos, True
        return (*frame.path, frame.key), frame.key_pos, frame.skip_value

    def _place(
        self, value: Any, at: Position | None, plain: bool | None, text: str | None = None
    ) -> None:
        """Attach a finished value to its parent (or make it the document's root)."""
        child = self._child_path()
        if child is None:
            raise AssertionError("keys are taken by _scalar and _end_collection")
        path, key_pos, skip = child
        if at is not None:
            self.doc.nodes[path] = NodeInfo(key_pos, at, bool(plain), text)
        if not self.stack:
            if self.documents == 1:
                self.doc.value = value
            return
        frame = self.stack[-1]
        if isinstance(frame.value, list):
            frame.value.append(value)
        else:
            if not skip and frame.key is not None:
                frame.value[frame.key] = value
            frame.key = None
            frame.skip_value = False

    def _end_collection(self) -> None:
        frame = self.stack.pop()
        if frame.key_start is None:
            self._place(frame.value, None, None)
            return
        at = frame.key_start
        self.problems.add(
            at, "yaml-non-string-key", "a key must be a plain string, not a mapping or list"
        )
        self._take_key(f"<complex key at line {at.line}>", None, at)
        self.stack[-1].skip_value = True

    def _take_key(self, text: str, collapsed: str | None, at: Position) -> None:
        """Record a mapping key. `collapsed` is what a YAML 1.1 reader turns a plain key into
        (`on` and `yes` both become true), so keys that collapse count as duplicates."""
        frame = self.stack[-1]
        frame.key, frame.key_pos, frame.skip_value = text, at, False
        if collapsed is not None:
            self.problems.add(
                at,
                "yaml-non-string-key",
                f"the key `{text}` is read as `{collapsed}`, not as a string",
                "quote it",
            )
            self.doc.reported.add((*frame.path, text))
        identity = collapsed if collapsed is not None else text
        earlier = frame.key_seen.get(identity)
        if earlier is not None:
            self.problems.add(
                at,
                "yaml-duplicate-key",
                f"duplicate key `{text}` (the same key as at line {earlier.line})",
                "remove one of them; YAML would silently keep only the last",
            )
            frame.skip_value = True
        else:
            frame.key_seen[identity] = at

    # -- events ------------------------------------------------------------------------------

    def _start_collection(self, event: yaml.CollectionStartEvent) -> None:
        at = _pos(event)
        kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
        self._check_anchor_and_tag(event, at)
        child = self._child_path()
        key_start = None
        if child is None:  # a complex key: reported when it ends, its contents ignored
            key_start = at
            path: YamlPath = (*self.stack[-1].path, f"<complex key at line {at.line}>")
        else:
            path, key_pos, _ = child
            self.doc.nodes[path] = NodeInfo(key_pos, at, False)
        if len(self.stack) >= MAX_DEPTH:
            self.problems.add(
                at,
                "yaml-too-deep",
                f"mappings and lists are nested more than {MAX_DEPTH} deep",
                "flatten the structure",
            )
            raise _TooDeep
        value: dict[str, Any] | list[Any] = {} if kind == "map" else []
        self.stack.append(_Frame(path, value, key_start=key_start))

    def _alias(self, event: yaml.AliasEvent) -> None:
        at = _pos(event)
        self.problems.add(
            at,
            "yaml-anchor",
            f"alias `*{event.anchor}` is not allowed",
            "write the value out in full; anchors and aliases are not supported",
        )
        if self._child_path() is None:  # an alias used as a key: skip it and its value
            self._take_key(f"*{event.anchor}", None, at)
            self.stack[-1].skip_value = True
            return
        self._mark_reported()
        self._place(None, at, False)

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        at = _pos(event)
        if not _is_plain(event) and _FORBIDDEN_CHARS.search(event.value):
            # an escape such as "\u202E" in a quoted string: the raw text scan cannot see it
            found = _FORBIDDEN_CHARS.search(event.value)
            assert found is not None
            self.problems.add(
                at,
                "file-control-character",
                f"invisible or control character U+{ord(found.group()):04X} (written as an escape)",
                "delete it: control and bidirectional-override characters can "
                "make text read differently from what it is",
            )
        if self._child_path() is None:
            self._check_anchor_and_tag(event, at)
            if _is_plain(event) and event.value == "<<":
                self.problems.add(
                    at,
                    "yaml-anchor",
                    "merge keys (`<<`) are not allowed",
                    "write the merged fields out in full",
                )
                self._take_key("<<", None, at)
                self.stack[-1].skip_value = True
                return
            self._take_key(event.value, _collapsed_key(event), at)
            return
        self._place(self._scalar_value(event, at), at, _is_plain(event), event.value)

    def _scalar_value(self, event: yaml.ScalarEvent, at: Position) -> Any:
        self._check_anchor_and_tag(event, at)
        if event.tag not in (None, "!"):
            value = _explicit_scalar(event.tag or "", event.value)
            if isinstance(value, str) and event.tag in _TYPED_TAGS:
                # `!!int 0755`, `!!bool yes`: read as numbers or booleans by other tools
                self.problems.add(
                    at,
                    "yaml-ambiguous-value",
                    f"`{_clip(event.value)}` with `{_short_tag(event.tag)}` is "
                    "read differently by different YAML tools",
                    "write it as plain JSON (true, false, 123, 1.5) without the "
                    "tag, or quote it for text",
                )
                self._mark_reported()
                return value
            return self._in_range(value, event, at)
        if not _is_plain(event):
            return event.value
        tag = _resolve_plain(event.value)
        value, ambiguous = _plain_scalar(tag, event.value)
        if not ambiguous:
            return self._in_range(value, event, at)
        if ambiguous:
            self.problems.add(
                at,
                "yaml-ambiguous-value",
                f"`{event.value}` is read as {ambiguous} by some YAML tools "
                "and differently by others",
                f'quote it ("{event.value}") for text, or write it as '
                "plain JSON (true, false, 123, 1.5)",
            )
            self._mark_reported()
        return value

    def _in_range(self, value: Any, event: yaml.ScalarEvent, at: Position) -> Any:
        """A number JSON consumers can hold exactly (JavaScript's safe integers, finite
        floats); anything else is reported and kept as its text."""
        too_big = (
            isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER
        )
        if not too_big and not (isinstance(value, float) and not math.isfinite(value)):
            return value
        self.problems.add(
            at,
            "yaml-number-range",
            f"`{_clip(event.value)}` is a number JSON consumers cannot hold "
            f"exactly (integers up to ±{MAX_SAFE_INTEGER}, finite decimals)",
            "quote it if it is an identifier, or use a smaller number",
        )
        self._mark_reported()
        return event.value

    def _check_anchor_and_tag(self, event: Any, at: Position) -> None:
        if event.anchor is not None:
            self.problems.add(
                at,
                "yaml-anchor",
                f"anchor `&{event.anchor}` is not allowed",
                "write the value out in full; anchors and aliases are not supported",
            )
        tag = event.tag
        if tag not in (None, "!") and tag not in _JSON_TAGS:
            self.problems.add(
                at,
                "yaml-tag",
                f"the tag `{_short_tag(tag)}` is not allowed",
                "remove it: only plain strings, numbers, booleans, null, "
                "mappings and lists are allowed",
            )
            self._mark_reported()

    def _mark_reported(self) -> None:
        child = self._child_path()
        if child is not None:
            self.doc.reported.add(child[0])


class _TooDeep(yaml.YAMLError):
    """Raised from inside the event loop to stop at the first over-deep node."""


def _pos(event: yaml.Event) -> Position:
    mark = event.start_mark
    return Position(mark.line + 1, mark.column + 1) if mark is not None else FILE_START


# A plain scalar that starts with a letter can only be read as a boolean or null by YAML 1.1
# (PyYAML registers nothing else for letters), so most keys and words skip the full resolver.
_YAML11_BOOL = frozenset(
    [
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
    ]
)
_YAML11_NULL = frozenset({"null", "Null", "NULL"})
_STR_TAG = "tag:yaml.org,2002:str"


def _resolve_plain(text: str) -> str:
    """The tag PyYAML (YAML 1.1) gives an unquoted scalar."""
    if text and (text[0].isalpha() and text[0].isascii()):
        if text in _YAML11_BOOL:
            return "tag:yaml.org,2002:bool"
        return "tag:yaml.org,2002:null" if text in _YAML11_NULL else _STR_TAG
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _is_plain(event: yaml.ScalarEvent) -> bool:
    return event.style in (None, "")  # libyaml says "" where the Python parser says None


def _short_tag(tag: str | None) -> str:
    return (tag or "").replace("tag:yaml.org,2002:", "!!")


def _collapsed_key(event: yaml.ScalarEvent) -> str | None:
    """What a plain key that is not a string turns into, in JSON terms; None for a string."""
    if not _is_plain(event) or event.tag not in (None, "!"):
        return None
    tag = _resolve_plain(event.value)
    if tag == _STR_TAG:
        return None
    if tag == "tag:yaml.org,2002:bool":
        return "true" if event.value.lower() in {"yes", "true", "on"} else "false"
    if tag == "tag:yaml.org,2002:null":
        return "null"
    if tag == "tag:yaml.org,2002:int" and _CORE_INT.match(event.value):
        return str(_integer(event.value))
    return event.value


def _plain_scalar(tag: str, text: str) -> tuple[Any, str | None]:
    """The value of an unquoted scalar, and what it is ambiguously read as (or None)."""
    if tag == "tag:yaml.org,2002:null":
        return None, None if text in _CORE_NULL else "null"
    if tag == "tag:yaml.org,2002:bool":
        if text in _CORE_BOOL:
            return _CORE_BOOL[text], None
        return text, "a boolean"
    if tag == "tag:yaml.org,2002:int":
        return (_integer(text), None) if _CORE_INT.match(text) else (text, "a number")
    if tag == "tag:yaml.org,2002:float":
        if _CORE_FLOAT.match(text):
            return float(text), None
        return text, "a number" if not _CORE_OTHER.match(text) else "a non-finite number"
    if tag == "tag:yaml.org,2002:timestamp":
        return text, "a date"
    if _CORE_FLOAT.match(text) or _CORE_OTHER.match(text):
        return text, "a number"
    return text, None


def _integer(text: str) -> int | float:
    """`int(text)`, or infinity for more digits than any safe integer has (Python refuses
    to convert thousands of digits, and they are out of range anyway)."""
    return int(text) if len(text) <= 20 else math.inf


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _explicit_scalar(tag: str, text: str) -> Any:
    """A scalar with an explicit JSON tag such as `!!str 0123`; other tags are reported."""
    if tag == "tag:yaml.org,2002:int" and _CORE_INT.match(text):
        return _integer(text)
    if tag == "tag:yaml.org,2002:float" and _CORE_FLOAT.match(text):
        return float(text)
    if tag == "tag:yaml.org,2002:bool" and text in _CORE_BOOL:
        return _CORE_BOOL[text]
    if tag == "tag:yaml.org,2002:null" and text in _CORE_NULL:
        return None
    return text


# -- the fast path ------------------------------------------------------------------------------
#
# yaml_rs reads YAML 1.2 and says nothing about what the strict builder refuses: it resolves
# aliases, ignores tags, reads `0o14`, `1_000` and `1e3` as numbers and `yes` as text. So its
# value is used only when neither the text nor the value could hold anything the strict builder
# would report or build differently; on any doubt the strict builder decides (and explains).
# Patterns here start with one character where they can: Python's `re` finds those fast.

# Rare characters that, somewhere in a file, may start what the value cannot show: an anchor,
# alias or tag, a merge key, an escape (which could write a forbidden character), a directive,
# a document marker or a complex key (`_has_rare_mark`, which looks for a character `in` the
# text where it can: much faster than for a longer string). `_DOUBTFUL_MARK` says whether one
# does.
_RARE_CHARS = "&*!\\?%"  # `%` for a directive, "\n%"
_DOCUMENT_MARK = re.compile(r"\n(?:---|\.\.\.)")
_DOUBTFUL_MARK = re.compile(
    # `&a`, `*a`, `!t` where a node may start: "R&D" and "5*3" are text
    r"[&*!](?<![^\s\[\]{},:?\"'-][&*!])"
    r"|<<|\\|\n(?:%|---|\.\.\.)"
    r"|\?(?<![^\s\[{,]\?)(?=[\s,\[\]{}]|\Z)"
)
# A colon before a flow indicator or at a node start: YAML 1.1 and 1.2 parsers read `{a:}`,
# `[a:,b]` and `[:b]` differently.
_DOUBTFUL_COLON = re.compile(r":(?:[,\[\]{}]|(?<=[\s\[{,]:))")
# A word that yaml_rs may read as a number, where a plain scalar may begin (after `:`, `-`, a
# flow indicator or a line break, past spaces; tabs are not let through), and that the strict
# builder may read differently: any but a plain decimal with no leading zeros, underscores,
# exponent or radix prefix, and few enough digits for an integer to be safe. (yaml_rs's numbers
# are a subset of `_NUMBER_LIKE`; `.inf` and `.nan` are refused in the value.)
# Every character a number holds is a word character, and a number must not be followed by
# one: giving characters back can never make a match, so the possessive and atomic forms only
# spare the regex engine the trying (half the time of this scan).
_SAFE_NUMBER = r"[-+]?+(?:0|[1-9][0-9]{0,14}+)(?:\.[0-9]++)?+"
_NUMBER_LIKE = r"(?>[-+]?(?:0[xXoObB][0-9a-fA-F_]*|[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9_]*)?))"
_WORD_CHAR = r"[\w.+-]"
# One search for each character a scalar may follow: `re` skips to a fixed first character
# fast, but tries a class of them at every position (a third slower over a whole file).
_DOUBTFUL_NUMBERS = tuple(
    re.compile(
        rf"{re.escape(lead)} *+(?=[-+._]*+[0-9])"
        rf"(?!{_SAFE_NUMBER}(?!{_WORD_CHAR})){_NUMBER_LIKE}(?!{_WORD_CHAR})"
    )
    for lead in "\n[{,:-"
)
# A quoted string on one line, without escapes, where a node starts (after `: `, `- `, a flow
# indicator or the indentation): it is a quoted string, or text inside a comment or a block
# scalar, so what it holds is text to every parser.
_QUOTED_TEXT = re.compile(r"(?P<lead>(?:\A|[\n\[{,]|[:-] ) *)(?:\"[^\"\\\n]*\"|'(?:[^'\n]|'')*')")
# YAML's indicators: a plain scalar starts with none of them (but `-?:` before a non-space).
_INDICATORS = "-?:,[]{}#&*!|>'\"%@`"
# The strings that the strict builder may not read plainly as text: YAML 1.1's words, and in
# a `\0`-separated list, those that do not start with an ASCII letter (see `_resolve_plain`).
_YAML11_WORDS = _YAML11_BOOL | _YAML11_NULL
_NOT_LETTER_LED = re.compile(r"\0((?![A-Za-z])[^\0]*)")


def _fast_load(text: str) -> dict[str, Any] | None:
    """The document's value as yaml_rs reads it, or None unless the strict builder would build
    exactly that value without reporting anything."""
    if not _clean_source(text):
        return None
    try:
        value = yaml_rs.loads(
            text, parse_datetime=False, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error
        )
    except Exception:  # a syntax error, a duplicate key or anything else: let the builder say
        return None
    return value if _json_like(value, text) else None


def _clean_source(text: str) -> bool:
    """Whether the text is free of what the value cannot show: characters, anchors, tags,
    merge keys, escapes, several documents, number spellings, deep nesting."""
    # Every character `_FORBIDDEN_CHARS` matches is a control, format or unassigned one, which
    # Python does not count as printable; so are tabs, carriage returns and line separators.
    if not text.replace("\n", " ").isprintable():
        return False
    if _needs_depth_guard(text):  # yaml_rs recurses: very deep nesting crashes the process
        return False
    if text.startswith(("%", "---", "...")):
        return False
    if not text.endswith("\n") and ("|" in text or ">" in text):
        return False  # yaml_rs ends a block scalar at the end of such a file with a line break
    if not _has_doubts(text):
        return True
    # Most doubts are inside quoted strings ("30 2 * * *", "^[01][0-9]:"): look again
    # without those.
    return not _has_doubts(_QUOTED_TEXT.sub(r'\g<lead>""', text))


def _has_doubts(text: str) -> bool:
    if _has_rare_mark(text) and _DOUBTFUL_MARK.search(text):
        return True
    return bool(
        _DOUBTFUL_COLON.search(text) or any(screen.search(text) for screen in _DOUBTFUL_NUMBERS)
    )


def _has_rare_mark(text: str) -> bool:
    return (
        any(char in text for char in _RARE_CHARS)
        or ("<" in text and "<<" in text)
        or _DOCUMENT_MARK.search(text) is not None
    )


def _json_like(root: Any, text: str) -> TypeGuard[dict[str, Any]]:
    """Whether a yaml_rs value is a mapping that the strict builder would build the same way:
    string keys and strings read as text, safe integers, finite floats, booleans and nulls,
    nested at most `MAX_DEPTH` deep."""
    if type(root) is not dict:
        return False
    keys: list[Any] = [""]  # the joined lists start with a separator
    strings: list[str] = [""]
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return False
        if type(node) is dict:
            keys.extend(node)
            items: Iterable[Any] = node.values()
        else:
            items = node
        for item in items:
            kind = type(item)
            if kind is str:
                strings.append(item)
            elif kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif kind is int:
                if abs(item) > MAX_SAFE_INTEGER:
                    return False
            elif kind is float:
                if not math.isfinite(item):
                    return False
            elif item is not None and kind is not bool:
                return False  # a date, a set, bytes: nothing JSON has
    try:
        joined_keys = "\0".join(keys)
    except TypeError:  # a key that is a number, null, a list...
        return False
    # A key written on several lines is folded into one with a space: yaml_rs takes those in
    # flow mappings, libyaml refuses them.
    if " " in joined_keys or "\n" in joined_keys:
        return False
    joined_strings = "\0".join(strings)
    if not joined_strings.replace("\0", " ").replace("\n", " ").isprintable():
        return False  # as in `_clean_source`
    return all(
        _same_string(key, text, _reads_as_key)
        for key in (*_NOT_LETTER_LED.findall(joined_keys), *_YAML11_WORDS.intersection(keys))
    ) and all(
        _same_string(string, text, _reads_as_text)
        for string in (
            *_NOT_LETTER_LED.findall(joined_strings),
            *_YAML11_WORDS.intersection(strings),
        )
    )


def _same_string(word: str, text: str, reads_plainly: Callable[[str], bool]) -> bool:
    """Whether the strict builder reads a string of the value (a key or not) that does not
    start with an ASCII letter, or is a YAML 1.1 word, as yaml_rs does, without a word."""
    if not word:
        return True  # an empty unquoted scalar is null to every reader: this one was quoted
    if not word.strip("\n"):
        return False  # yaml_rs gives an empty block scalar a line break that libyaml does not
    if word[0] in _INDICATORS:
        # No plain scalar starts so, but yaml_rs reads `[|]`, `{a: >\n b}` and `[?x]` as
        # text where libyaml refuses them or reads a key: it must have been quoted.
        return not _stands_unquoted(word.split(maxsplit=1)[0], text)
    if reads_plainly(word):
        return True
    # A string such as "null", "yes" or "2024-01-01", which the strict builder questions only
    # unquoted. An unquoted scalar without spaces is its own source text.
    return len(word.split()) == 1 and not _stands_unquoted(word, text)


def _reads_as_text(text: str) -> bool:
    """Whether the strict builder reads `text` as this text even unquoted."""
    value, ambiguous = _plain_scalar(_resolve_plain(text), text)
    return ambiguous is None and isinstance(value, str)


def _reads_as_key(text: str) -> bool:
    """Whether the strict builder reads `text` as this key even unquoted (see `_collapsed_key`)."""
    return _resolve_plain(text) == _STR_TAG


def _stands_unquoted(word: str, text: str) -> bool:
    """Whether `word` stands in `text` where an unquoted scalar could: between a node start
    and a node end, not between quotes or inside a longer word."""
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        before = text[at - 1] if at else " "
        after = text[end] if end < len(text) else " "
        if (before.isspace() or before in "[{,:") and (after.isspace() or after in ":,]}"):
            return True
        at = text.find(word, at + 1)
    return False


def iter_paths(value: Any, path: YamlPath = ()) -> Iterator[tuple[YamlPath, Any]]:
    """Every (path, value) pair of a loaded value, depth first, without recursion."""
    stack: list[tuple[YamlPath, Any]] = [(path, value)]
    while stack:
        here, item = stack.pop()
        yield here, item
        if isinstance(item, dict):
            stack.extend(((*here, key), child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            pairs = list(enumerate(item))
            stack.extend(((*here, index), child) for index, child in reversed(pairs))
