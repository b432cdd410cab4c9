"""JSON as the output files have it, defined once: keys in the order given, compact (ten
times faster to write than indented JSON, and files are smaller), UTF-8 as it is, never NaN
or Infinity; and documents joined from parts that are such JSON already, rather than parsed
and written again."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

# One encoder for every call: json.dumps with any option builds a new one each time, which
# costs more than encoding a short string.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_SORTED_COMPACT = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
# orjson writes the same bytes ten times faster, but for numbers with a fraction or an
# exponent (json's `1e-07` is its `1e-7`): a value with one of those goes to json, as does
# one with a null (orjson writes NaN and infinity as null, which json refuses) and one
# orjson refuses (a key that is not a string, an integer beyond 64 bits, a lone surrogate,
# nesting beyond 254 levels, a dataclass or a date, which json cannot write either): json
# writes or refuses those as it always did.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_SORT = orjson.OPT_SORT_KEYS
# A number with a fraction or an exponent where JSON puts a value in a collection; text that
# merely contains one only sends the value down the slower, equally exact path, and a number
# standing alone is known by its type. (One search for each character a number may follow:
# `re` skips to a fixed first character fast, but tries a class of them at every position.)
_FRACTIONAL = tuple(
    re.compile(lead + rb"-?[0-9]+(?:\.[0-9]|[eE])") for lead in (rb":", rb",", rb"\[")
)


def has_fraction(value: Any, data: bytes) -> bool:
    """Whether `value`, written as the JSON `data`, may hold a number with a fraction or an
    exponent: JSON writers differ in how they write those."""
    return isinstance(value, float) or any(screen.search(data) for screen in _FRACTIONAL)


def _fraction_free(value: Any, option: int) -> bytes | None:
    """orjson's JSON of `value` where it is json's: None for a value with a number with a
    fraction or an exponent, or a null, or one orjson refuses."""
    try:
        data = orjson.dumps(value, option=option | _OPTIONS)
    except orjson.JSONEncodeError:
        return None
    return None if has_fraction(value, data) or b"null" in data else data


def sorted_fraction_free(value: Any) -> bytes | None:
    """`sorted_compact` as UTF-8, for a value without a number with a fraction or an
    exponent, or a null; else None."""
    return _fraction_free(value, _SORT)


def compact(value: Any) -> str:
    data = _fraction_free(value, 0)
    return data.decode() if data is not None else _COMPACT.encode(value)


def sorted_compact(value: Any) -> str:
    """Compact JSON with the keys sorted at every level: where canonical JSON starts from
    (`versions.canonical_json`), and what a schema's checks are cached by. Raises TypeError
    for what JSON cannot hold."""
    data = _fraction_free(value, _SORT)
    return data.decode() if data is not None else _SORTED_COMPACT.encode(value)


def file_bytes(value: Any) -> bytes:
    """A whole output file: the compact JSON and a trailing newline."""
    data = _fraction_free(value, 0)
    return (data if data is not None else _COMPACT.encode(value).encode()) + b"\n"


def string_bytes(text: str) -> bytes:
    try:  # (a string holds no number)
        return orjson.dumps(text)
    except orjson.JSONEncodeError:  # a lone surrogate: as json says
        return _COMPACT.encode(text).encode()


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
