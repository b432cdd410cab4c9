"""JSON as the output files have it, defined once: keys in the order given, compact (the C
encoder is ten times faster than the indenting one, and files are smaller), UTF-8 as it is,
never NaN or Infinity; and documents joined from parts that are such JSON already, rather
than parsed and written again."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

# One encoder for every call: json.dumps with any option builds a new one each time, which
# costs more than encoding a short string.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_SORTED_COMPACT = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def compact(value: Any) -> str:
    return _COMPACT.encode(value)


def sorted_compact(value: Any) -> str:
    """Compact JSON with the keys sorted at every level: where canonical JSON starts from
    (`versions.canonical_json`), and what a schema's checks are cached by. Raises ValueError
    for NaN or infinity, TypeError for what JSON cannot hold."""
    return _SORTED_COMPACT.encode(value)


def file_bytes(value: Any) -> bytes:
    """A whole output file: the compact JSON and a trailing newline."""
    return (compact(value) + "\n").encode()


def string_bytes(text: str) -> bytes:
    return compact(text).encode()


def with_list(head: dict[str, Any], name: str, items: Iterable[bytes], end: bytes = b"") -> bytes:
    """`head` with one more member, `name`: the list of these compact JSON texts; then
    `end`. (Joined at once: a large list's texts are held once more, not two or three
    times.)"""
    start = compact(head)[:-1].encode() + (b"," if head else b"") + string_bytes(name) + b":["
    return b"".join((start, *_separated(items), b"]}" + end))


def _separated(items: Iterable[bytes]) -> Iterator[bytes]:
    for number, item in enumerate(items):
        if number:
            yield b","
        yield item
