"""Helpers for the `catalog validate` tests: real catalogs on disk, the real CLI through Click's
CliRunner, and parsers that read every output format back into the same records."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from click.testing import CliRunner, Result

from integration_catalog.cli import main

FORMATS = ("text", "json", "github")
INTEGRATION = "integrations/acme/crm/integration.yaml"

# The maintainers' files every test catalog starts from: `acme` may claim `verified_partner`.
BASE_FILES: dict[str, str] = {
    "catalog.yaml": 'title: "Test catalog"\n',
    "publishers.yaml": 'acme:\n  name: "Acme"\n  trustTiers: [verified_partner]\n',
}
VALID_INTEGRATION = 'name: "CRM sync"\nworkspaceId: "ws-1"\nvisibility: public\n'

FileContent = str | bytes | None  # None: leave the file out (e.g. a base file)
MakeCatalog = Callable[..., Path]


def write_catalog(root: Path, files: Mapping[str, FileContent], *, base: bool = True) -> Path:
    """Write a catalog: the base files (unless `base` is false) overlaid with `files`."""
    merged: dict[str, FileContent] = {**BASE_FILES} if base else {}
    merged.update(files)
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in merged.items():
        if content is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return root


def invoke(args: Sequence[str]) -> Result:
    """Run the real `catalog` command; exceptions propagate so a crash fails the test."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def validate(root: Path, *args: str, output_format: str = "text") -> Result:
    return invoke(["--root", str(root), "validate", "--format", output_format, *args])


class Found(NamedTuple):
    """One diagnostic as read back from the output."""

    path: str
    line: int
    column: int
    severity: str
    code: str
    message: str
    hint: str | None


class Output(NamedTuple):
    diagnostics: list[Found]
    errors: int
    warnings: int
    files: int


_TEXT_LINE = re.compile(
    r"(?P<path>.+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning)"
    r"\[(?P<code>[a-z0-9-]+)\] (?P<message>.*)"
)
_GITHUB_LINE = re.compile(r"::(?P<severity>error|warning) (?P<properties>[^:]*)::(?P<message>.*)")
_SUMMARY = re.compile(r"(\d+) errors?, (\d+) warnings? in (\d+) files?")
_HINT = "    hint: "


def parse_output(output_format: str, stdout: str) -> Output:
    """The diagnostics and summary printed in one format; fails on any line it cannot read."""
    return {"text": _parse_text, "json": _parse_json, "github": _parse_github}[output_format](
        stdout
    )


def _summary(line: str) -> tuple[int, int, int]:
    match = _SUMMARY.fullmatch(line)
    assert match, f"not a summary line: {line!r}"
    errors, warnings, files = (int(group) for group in match.groups())
    return errors, warnings, files


def _parse_text(stdout: str) -> Output:
    *lines, last = stdout.rstrip("\n").split("\n")
    found: list[Found] = []
    for line in lines:
        if line.startswith(_HINT):
            assert found, f"a hint before any diagnostic: {line!r}"
            found[-1] = found[-1]._replace(hint=line.removeprefix(_HINT))
            continue
        match = _TEXT_LINE.fullmatch(line)
        assert match, f"not a diagnostic line: {line!r}"
        found.append(
            Found(
                match["path"],
                int(match["line"]),
                int(match["column"]),
                match["severity"],
                match["code"],
                match["message"],
                None,
            )
        )
    return Output(found, *_summary(last))


def _parse_json(stdout: str) -> Output:
    payload = json.loads(stdout)  # the whole of stdout: nothing else may be printed there
    assert set(payload) == {"diagnostics", "summary"}
    keys = {"path", "line", "column", "severity", "code", "message", "hint"}
    found = []
    for item in payload["diagnostics"]:
        assert set(item) == keys
        found.append(Found(**item))
    summary = payload["summary"]
    assert set(summary) == {"errors", "warnings", "files"}
    return Output(found, summary["errors"], summary["warnings"], summary["files"])


_GITHUB_ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}


def unescape_github(text: str, *, is_property: bool) -> str:
    """Undo workflow-command escaping in one pass (so `%253A` stays `%3A`)."""
    pattern = r"%(25|0D|0A|3A|2C)" if is_property else r"%(25|0D|0A)"
    return re.sub(pattern, lambda m: _GITHUB_ESCAPES[m.group()], text)


def _parse_github(stdout: str) -> Output:
    *lines, last = stdout.rstrip("\n").split("\n")
    found: list[Found] = []
    for line in lines:
        match = _GITHUB_LINE.fullmatch(line)
        assert match, f"not a workflow command: {line!r}"
        properties = dict(part.split("=", 1) for part in match["properties"].split(","))
        assert list(properties) == ["file", "line", "col", "title"], line
        message = unescape_github(match["message"], is_property=False)
        text, _, hint = message.partition(" (hint: ")
        found.append(
            Found(
                unescape_github(properties["file"], is_property=True),
                int(properties["line"]),
                int(properties["col"]),
                match["severity"],
                unescape_github(properties["title"], is_property=True),
                text,
                hint.removesuffix(")") if hint else None,
            )
        )
    return Output(found, *_summary(last))
