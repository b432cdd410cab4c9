"""Properties of the whole pipeline, with hypothesis:

- any valid integration survives `catalog build` unchanged: the record read back from
  api/v1/integrations/<publisher>/<slug>.json holds exactly what integration.yaml said;
- every JSON file a build writes is strict JSON: no NaN or Infinity, no key twice;
- any text (YAML-shaped, made of the format's own keys and YAML's syntax) as an
  integration.yaml gives diagnostics or a valid integration, never an exception.

test_validate_properties.py does the same for arbitrary bytes. Catalogs are not git
repositories here, so every integration is a draft.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from integration_catalog import jsontext
from integration_catalog.config import CatalogConfig, Settings
from integration_catalog.diagnostics import CODES
from integration_catalog.filecheck import SNAPSHOT_FILES, FileJob, check_file
from integration_catalog.jsontext import sorted_compact
from integration_catalog.secrets import scan_text
from integration_catalog.versions import canonical_json, unpack_published
from validate_support import INTEGRATION, invoke, parse_output, validate, write_catalog

KEY = "acme/crm"
RECORD = f"api/v1/integrations/{KEY}.json"

SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- writing YAML ---------------------------------------------------------------------------------


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar that every YAML reader reads back as `text`: JSON's
    escapes, and YAML's line separators escaped too (in YAML they would be line breaks)."""
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def yaml_float(number: float) -> str:
    """A float that YAML 1.1 and 1.2 both read as this float: `1e-05` is a string to YAML 1.1,
    so the mantissa gets a decimal point and the exponent a sign."""
    text = repr(number)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    mantissa += "" if "." in mantissa else ".0"
    return f"{mantissa}e{exponent if exponent[0] in '+-' else '+' + exponent}"


def flow(value: Any) -> str:
    """Any JSON value as YAML flow syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml_float(value)
    if isinstance(value, str):
        return yaml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return "{" + ", ".join(f"{yaml_string(k)}: {flow(v)}" for k, v in value.items()) + "}"


def to_yaml(fields: dict[str, Any]) -> str:
    """A top-level mapping in block style, every value in flow style."""
    return "".join(f"{name}: {flow(value)}\n" for name, value in fields.items())


# -- strategies of valid values -------------------------------------------------------------------

# Any character a file may hold: no surrogates, controls (but tab and line feed), format
# characters (bidirectional marks, zero-width ones) or unassigned code points.
LETTERS = st.characters(exclude_categories=("Cs", "Cc", "Cf", "Cn"), include_characters="\t\n")


def text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(LETTERS, min_size=min_size, max_size=max_size)


HOSTS = ["acme.example", "auth.acme.example", "bücher.example", "xn--80ak6aa92e.example"]
URLS = st.builds(
    lambda host, path: f"https://{host}/{path}",
    st.sampled_from(HOSTS),
    st.text("abcXYZ019-._~%/?=&+", max_size=20),
)
# (as written, as published: in UTC, whole seconds, with Z)
DELETED_AT = [
    ("2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z"),
    ("2024-06-01T12:30:00+02:00", "2024-06-01T10:30:00Z"),
    ("2023-12-31T23:59:59.75-05:00", "2024-01-01T04:59:59Z"),
]
REGIONS = ["eu", "us", "ap"]


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


MEMBER = st.fixed_dictionaries(
    {"key": text(1, 30), "kind": text(1, 30)},
    optional={"description": text(max_size=100), "forkOnInstall": st.booleans()},
)
DEFAULTS = optional(
    interval=st.integers(1, 1440),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
    region=st.sampled_from(REGIONS),
    label=text(max_size=40),
    enabled=st.booleans(),
    tags=st.lists(text(max_size=10), max_size=3),
)
AUTH = st.one_of(
    st.just({"type": "none"}),
    st.fixed_dictionaries(
        {"type": st.just("api_key"), "authHeaderName": text(1, 40)},
        optional={"authValuePrefix": text(max_size=20)},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("oauth2"),
            "scopes": st.lists(text(1, 20), max_size=4),
            "authorizationUrl": URLS,
            "tokenUrl": URLS,
        },
        optional={"callbackUrl": URLS},
    ),
)


@st.composite
def schemas(draw: st.DrawFn) -> dict[str, Any]:
    """The variables the defaults may set, each with a description and a default of any
    text, and some of them required."""
    properties: dict[str, dict[str, Any]] = {
        "interval": {"type": "integer", "minimum": 1, "maximum": 1440},
        "ratio": {"type": "number"},
        "region": {"type": "string", "enum": REGIONS},
        "label": {"type": "string", "maxLength": 40},
        "enabled": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    for prop in properties.values():
        prop.update(draw(optional(description=text(max_size=80), title=text(max_size=20))))
    properties["label"].update(draw(optional(default=text(max_size=40))))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True, max_size=3))
    if required:
        schema["required"] = required
    return schema


@st.composite
def integrations(draw: st.DrawFn) -> dict[str, Any]:
    """The fields of a valid integration.yaml."""
    fields: dict[str, Any] = {
        "name": draw(text(1, 80)),
        "workspaceId": draw(text(1, 40)),
        "visibility": draw(st.sampled_from(["public", "unlisted"])),
    }
    fields.update(
        draw(
            optional(
                description=text(max_size=300),
                createdBy=text(1, 40),
                trustTier=st.sampled_from(["community", "verified_partner"]),
                retentionTier=st.sampled_from(["short", "medium", "long", "none"]),
                iconUrl=URLS,
                deletedAt=st.sampled_from([written for written, _ in DELETED_AT]),
            )
        )
    )
    members = draw(st.lists(MEMBER, max_size=3, unique_by=lambda m: m["key"]))
    fields["manifest"] = {"members": members, "defaults": draw(DEFAULTS)}
    fields["variablesSchema"] = draw(schemas())
    fields["authConfig"] = draw(AUTH)
    assume(not list(scan_text(INTEGRATION, to_yaml(fields))))  # no credential look-alike
    return fields


def published_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the API publishes: every field of a member, the defaults filled in."""
    members = [{"forkOnInstall": False, **member} for member in manifest["members"]]
    return {"members": members, "dependencies": {}, "defaults": manifest["defaults"]}


# -- strict JSON ----------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key twice: {keys}"
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON")


def strict_json(data: bytes) -> Any:
    return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


# -- building -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("catalog") / "catalog", {INTEGRATION: ""})


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outputs")


@contextmanager
def built(root: Path, outputs: Path, yaml_text: str) -> Iterator[Path]:
    """Build the catalog with this integration.yaml into a fresh directory (removed after)."""
    (root / INTEGRATION).write_text(yaml_text, encoding="utf-8")
    out = Path(tempfile.mkdtemp(dir=outputs)) / "site"
    try:
        result = invoke(["--root", str(root), "build", "--out", str(out)])
        assert result.exit_code == 0, f"{result.output}\n{yaml_text}"
        yield out
    finally:
        shutil.rmtree(out.parent)


@settings(SETTINGS, max_examples=60)
@given(fields=integrations())
def test_a_valid_integration_survives_the_build_unchanged(
    root: Path, outputs: Path, fields: dict[str, Any]
) -> None:
    with built(root, outputs, to_yaml(fields)) as out:
        record = strict_json((out / RECORD).read_bytes())
        description = fields.get("description")
        assert record["name"] == fields["name"]
        assert record["description"] == (
            description if description and description.strip() else None
        )
        assert record["workspaceId"] == fields["workspaceId"]
        assert record["createdBy"] == fields.get("createdBy", "acme")  # else the publisher
        assert record["visibility"] == fields["visibility"]
        assert record["trustTier"] == fields.get("trustTier", "community")
        assert record["retentionTier"] == fields.get("retentionTier")
        assert record["iconUrl"] == fields.get("iconUrl")
        assert record["deletedAt"] == dict(DELETED_AT).get(fields.get("deletedAt", ""))
        assert record["manifest"] == published_manifest(fields["manifest"])
        assert record["variablesSchema"] == fields["variablesSchema"]
        assert record["authConfig"] == fields["authConfig"]
        assert (record["publisher"], record["slug"], record["currentVersion"]) == (
            "acme",
            "crm",
            None,
        )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53 - 1), 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text("abcdefgh", min_size=1, max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(SETTINGS, max_examples=40)
@given(value=JSON_VALUES, other=JSON_VALUES)
def test_every_json_file_of_a_build_is_strict_json(
    root: Path, outputs: Path, value: Any, other: Any
) -> None:
    """Numbers at the edges (2^53 - 1, the largest and the smallest floats, -0.0) and any
    nesting, as a default, a schema's `default`, `examples` and `const`."""
    fields = {
        "name": "CRM sync",
        "workspaceId": "ws-1",
        "visibility": "public",
        "manifest": {"defaults": {"anything": value}},
        "variablesSchema": {
            "type": "object",
            "properties": {
                "anything": {"default": other, "examples": [value, other]},
                "fixed": {"const": other},
            },
        },
    }
    yaml_text = to_yaml(fields)
    assume(not list(scan_text(INTEGRATION, yaml_text)))
    with built(root, outputs, yaml_text) as out:
        files = sorted(out.rglob("*.json"))
        assert files
        parsed = {
            path.relative_to(out).as_posix(): strict_json(path.read_bytes()) for path in files
        }
        record = parsed[RECORD]
        assert record["manifest"]["defaults"] == {"anything": value}
        assert record["variablesSchema"] == fields["variablesSchema"]


# -- YAML-shaped text -----------------------------------------------------------------------------

FORMAT_KEYS = [
    *("name", "description", "workspaceId", "visibility", "trustTier", "retentionTier"),
    *("iconUrl", "createdBy", "deletedAt", "publisher", "slug", "manifest", "members", "key"),
    *("kind", "forkOnInstall", "dependencies", "defaults", "variablesSchema", "type"),
    *("properties", "required", "items", "pattern", "format", "$ref", "$defs", "enum"),
    *("default", "authConfig", "scopes", "authorizationUrl", "tokenUrl", "callbackUrl"),
    *("authHeaderName", "authValuePrefix", "yanked", "id", "currentVersion", "createdAt"),
    *("updatedAt", "acme/crm", "apiToken", "clientSecret"),
]
ODD_KEYS = ["on", "yes", "1", '"1"', "null", "~", "<<", "? [a]", "&k name", "*k", "!!str name"]
FORMAT_KEY = st.sampled_from(FORMAT_KEYS)
KEYS = st.one_of(FORMAT_KEY, FORMAT_KEY, FORMAT_KEY, st.sampled_from(ODD_KEYS), text(1, 8))
SCALARS = (
    st.sampled_from(
        [
            *("public", "private", "unlisted", "oauth2", "api_key", "none", "object", "string"),
            *("integer", "community", "verified_partner", "first_party", "workflow", "true"),
            *("false", "no", "on", "0123", "1:30", "2024-01-01", '"2024-01-01T00:00:00Z"', ".inf"),
            *(".nan", "1e3", "0x1F", "9007199254740993", "-0.0", "~", "null", "''", '""', "[]"),
            *("{}", '"https://acme.example/x"', "javascript:alert(1)", '"^1.2.0"', '"acme/crm"'),
            *("!!binary aGk=", "!!python/object/apply:os.system [id]", "!custom x", "&a x", "*a"),
            *("|\n  literal", ">-\n  folded", '"esc\\u202e"', '"\\0"', "'it''s'", "#comment"),
            *('"<script>alert(1)</script>"', '"^(a+)+$"', "{$ref: 'https://x.example/s'}"),
        ]
    )
    | text(max_size=12).map(yaml_string)
    | text(max_size=12).map(yaml_string)
    | st.integers().map(str)
    | text(max_size=12)
)
NODES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(st.tuples(KEYS, children), max_size=5) | st.lists(children, max_size=4)
    ),
    max_leaves=20,
)
NOISE = [
    "\t",
    "  ",
    "\n",
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "---\n",
    "&a ",
    "*a",
    "#",
    "\u00e9",
    '"',
]


def render(node: Any, indent: int = 0) -> str:
    """A node after `key:` or `-`: a scalar on the same line, a collection below it."""
    pad = " " * indent
    if isinstance(node, str):
        return f" {node}\n"
    if not node:
        return " []\n"
    if isinstance(node[0], tuple):  # a mapping: (key, value) pairs
        return "\n" + "".join(f"{pad}{key}:{render(value, indent + 2)}" for key, value in node)
    return "\n" + "".join(f"{pad}-{render(item, indent + 2)}" for item in node)


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(KEYS, NODES), min_size=1, max_size=8))
    document = "".join(f"{key}:{render(value, 2)}" for key, value in pairs)
    if draw(st.booleans()):  # the required fields first, so that later checks are reached
        document = 'name: "CRM sync"\nworkspaceId: "ws-1"\nvisibility: public\n' + document
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # stray characters anywhere
        at = draw(st.integers(0, len(document)))
        document = document[:at] + draw(st.sampled_from(NOISE)) + document[at:]
    return document


@settings(SETTINGS, max_examples=100)
@given(document=yaml_texts())
def test_any_yaml_shaped_text_yields_diagnostics_or_an_integration(
    root: Path, document: str
) -> None:
    (root / INTEGRATION).write_text(document, encoding="utf-8")
    result = validate(root, output_format="json")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    out = parse_output("json", result.stdout)
    mine = [d for d in out.diagnostics if d.path == INTEGRATION]
    assert result.exit_code == 0 or any(d.severity == "error" for d in mine), out
    lines = len(re.split(r"\r\n|[\n\r\u2028\u2029\x85]", document))
    for d in mine:
        assert d.code in CODES and d.message
        assert 1 <= d.line <= lines and d.column >= 1, (d, document)


def test_the_yaml_writer_round_trips_edge_numbers() -> None:
    """The helpers above: YAML numbers that YAML 1.1 would read as strings are not written."""
    assert [yaml_float(x) for x in (1e-05, 1e16, 1.5e300, 0.1, -0.0, 5e-324)] == [
        "1.0e-05",
        "1.0e+16",
        "1.5e+300",
        "0.1",
        "-0.0",
        "5.0e-324",
    ]
    assert yaml_string('a\u2028b"\\') == '"a\\u2028b\\"\\\\"'


_JSON_TEXT = st.text(st.characters(blacklist_categories=("Cs",)))  # UTF-8 has no lone surrogates
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@SETTINGS
@given(value=_JSON_VALUES)
# Keys that Python orders by code point and RFC 8785 by UTF-16 code unit: the other way round.
@example(value={"\ufb01": 1, "\U0001f600": 2})
@example(value=[1e-7, 1e21, -0.0, 5e-324])
def test_canonical_json_is_rfc8785_for_any_json_value(value: Any) -> None:
    """The fast path (Python's encoder) is taken only where it writes what RFC 8785 does, also
    from the sorted text the checks made already."""
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value, sorted_compact(value)) == rfc8785.dumps(value)


# Anything json can be asked to write: lone surrogates, keys that are not strings, integers
# beyond 64 bits, floats of every kind (NaN too), tuples, str subclasses.
_ANY_TEXT = st.text(st.characters() | st.characters(categories=["Cs"])) | st.text().map(Markup)
_ANY_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _ANY_TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_ANY_TEXT | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
    max_leaves=12,
)
_PLAIN = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_SORTED = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _written(write: Callable[[Any], str | bytes], value: Any) -> str | bytes | type[Exception]:
    try:
        return write(value)
    except (TypeError, ValueError) as error:  # (UnicodeEncodeError is a ValueError)
        return type(error)


@SETTINGS
@given(value=_ANY_VALUES)
@example(value={"\ud800": 1})
@example(value='a\ud800\n"')
@example(value=[2**64, -(2**63) - 1, 2**63 - 1])
@example(value={1: "a", False: "b", None: "c", "\x7f\u2028\x00\x1f": '\ufffe\t\b\f"\\'})
@example(value=[1e-7, 1e16, 1e21, -0.0, 5e-324, 1.0])
@example(value={"\ufb01": 1, "\U0001f600": 2, "z": 0, "é": 1})
@example(value={"a": [float("nan")], "b": None})
@example(value=float("-inf"))
def test_json_texts_are_what_json_writes(value: Any) -> None:
    """orjson writes the output's JSON where it writes json's very bytes; json writes (or
    refuses) the rest, as it always did."""
    for made, expected in (
        (jsontext.compact, _PLAIN.encode),
        (jsontext.sorted_compact, _SORTED.encode),
        (jsontext.file_bytes, lambda v: (_PLAIN.encode(v) + "\n").encode()),
    ):
        assert _written(made, value) == _written(expected, value)
    fast = jsontext.sorted_fraction_free(value)
    assert fast is None or fast == _SORTED.encode(value).encode()
    if isinstance(value, str):
        assert _written(jsontext.string_bytes, value) == _written(
            lambda v: _PLAIN.encode(v).encode(), value
        )


_SCHEMA_VALUES = st.recursive(
    st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(), inner, max_size=3),
    max_leaves=8,
)


@SETTINGS
@given(extra=st.dictionaries(text(), _SCHEMA_VALUES, max_size=3))
@example(extra={"\U0001f600": 1.5, "b": True, "c": 1, "d": 1e-7, "\ufb01": [0.1, -0.0]})
def test_a_checked_files_published_schema_is_its_canonical_json(extra: dict[str, Any]) -> None:
    """The checks' sorted text of a schema, reused for its canonical JSON, packs exactly what
    RFC 8785 writes (numbers, booleans and text of any kind)."""
    schema = {"type": "object", "properties": {"interval": {"type": "integer"}}, "x-extra": extra}
    document = {
        "name": "Widget",
        "workspaceId": "ws_1",
        "visibility": "public",
        "manifest": {"members": [{"key": "sync", "kind": "workflow"}]},
        "variablesSchema": schema,
        "authConfig": {"type": "none"},
    }
    data = to_yaml(document).encode()
    check = check_file(FileJob.of("acme/widget", SNAPSHOT_FILES, data), Settings(CatalogConfig()))
    assert check.spec is not None, check.diagnostics
    assert check.packed is not None
    assert unpack_published(check.packed)[3] == rfc8785.dumps(schema)
