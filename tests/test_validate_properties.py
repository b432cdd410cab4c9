"""Whatever bytes an integration.yaml holds, `catalog validate` answers with diagnostics, never
with an exception, and every format reports the same ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration_catalog.diagnostics import CODES
from validate_support import FORMATS, INTEGRATION, parse_output, validate, write_catalog

# Pieces of YAML that reach the parser and the checks far more often than random bytes do.
_TOKENS = [
    *("name", "workspaceId", "visibility", "trustTier", "manifest", "members", "key", "kind"),
    *("dependencies", "defaults", "variablesSchema", "type", "object", "properties"),
    *("required", "authConfig", "oauth2", "api_key", "scopes", "iconUrl", "deletedAt", "public"),
    *(":", ": ", "- ", "\n", "\n  ", "\n    ", "[", "]", "{", "}", ",", "&a", "*a", "<<"),
    *("!!str", "!!binary", "!x", "?", "'", '"', "#", "---", "...", "|", ">", "no", "on", "0123"),
    *("1.10", "2024-01-01", "~", "null", "\t", "\r", "\u2028", "\x85", "\ufeff", "é", "%"),
    *("\\", "acme/crm", "^1.2", "1e3", "0x1f", "\x00", "\u202e"),
]
_YAMLISH = st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)
_DATA = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    _YAMLISH.map(lambda s: s.encode("utf-8", "surrogatepass")),
)
_LINE_BREAKS = ("\r\n", "\n", "\r", "\x85", "\u2028", "\u2029")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("fuzz") / "catalog", {INTEGRATION: ""})


def _most_lines(data: bytes) -> int:
    """An upper bound on the line numbers any YAML reader can give this file."""
    text = data.decode("utf-8", "replace")
    return 1 + sum(text.count(br) for br in _LINE_BREAKS)


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=_DATA)
def test_any_bytes_yield_diagnostics(root: Path, data: bytes) -> None:
    (root / INTEGRATION).write_bytes(data)
    result = validate(root, output_format="json")
    assert result.exit_code in (0, 1), result.output
    out = parse_output("json", result.stdout)
    mine = [d for d in out.diagnostics if d.path == INTEGRATION]
    assert mine or result.exit_code == 0, "a failing file without a diagnostic of its own"
    for d in mine:
        assert d.code in CODES
        assert d.severity in ("error", "warning")
        assert 1 <= d.line <= _most_lines(data), (d, data)
        assert d.column >= 1
        assert d.message


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=_YAMLISH.map(str.encode))
def test_every_format_reports_the_same(root: Path, data: bytes) -> None:
    (root / INTEGRATION).write_bytes(data)
    results = {fmt: validate(root, output_format=fmt) for fmt in FORMATS}
    parsed = {fmt: parse_output(fmt, result.stdout) for fmt, result in results.items()}
    # the text format shows invisible characters escaped, so it is compared without the prose
    where = {fmt: [d[:5] for d in out.diagnostics] for fmt, out in parsed.items()}
    assert where["text"] == where["json"] == where["github"]
    assert parsed["json"] == parsed["github"]
    assert parsed["text"][1:] == parsed["json"][1:]  # the summary
    assert len({result.exit_code for result in results.values()}) == 1
