"""The documentation stays in step with the code: every diagnostic code is documented, nothing
documented is stale, and the README's Quickstart is exactly the two make commands."""

from __future__ import annotations

import re
from pathlib import Path

from integration_catalog.diagnostics import CODES

ROOT = Path(__file__).resolve().parent.parent
DIAGNOSTICS_DOC = ROOT / "docs" / "diagnostics.md"
README = ROOT / "README.md"

_CODE = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+"
# A code's own section: "### `field-unknown`".
_HEADING = re.compile(rf"^#{{2,4}} `({_CODE})`\s*$", re.MULTILINE)
# A row of the table of all codes: "| `field-unknown` | error | ... |".
_TABLE_ROW = re.compile(rf"^\| `({_CODE})` \|", re.MULTILINE)
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _diagnostics_doc() -> str:
    return DIAGNOSTICS_DOC.read_text(encoding="utf-8")


def _section(markdown: str, title: str) -> str:
    """The text under the `## title` heading, up to the next heading of level 1 or 2."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^#{{1,2}} |\Z)", markdown, re.M | re.S)
    assert match is not None, f"no `## {title}` section"
    return match.group(1)


def test_every_code_is_documented() -> None:
    text = _diagnostics_doc()
    headings = set(_HEADING.findall(text))
    in_backticks = set(re.findall(rf"`({_CODE})`", text))
    missing = sorted(code for code in CODES if code not in headings and code not in in_backticks)
    assert not missing, f"codes missing from docs/diagnostics.md: {missing}"
    without_section = sorted(set(CODES) - headings)
    assert not without_section, f"codes without a `### \\`code\\`` section: {without_section}"


def test_every_documented_code_exists() -> None:
    text = _diagnostics_doc()
    documented = set(_HEADING.findall(text)) | set(_TABLE_ROW.findall(text))
    unknown = sorted(documented - set(CODES))
    assert not unknown, f"docs/diagnostics.md documents codes that do not exist: {unknown}"


def test_each_code_has_exactly_one_section() -> None:
    headings = _HEADING.findall(_diagnostics_doc())
    repeated = sorted({code for code in headings if headings.count(code) > 1})
    assert not repeated, f"codes with more than one section: {repeated}"


def test_quickstart_is_exactly_make_site_and_make_test() -> None:
    quickstart = _section(README.read_text(encoding="utf-8"), "Quickstart")
    commands = [
        line.strip()
        for block in _FENCE.findall(quickstart)
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert commands == ["make site", "make test"]
