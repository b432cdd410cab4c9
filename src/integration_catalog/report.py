"""Reporters: how diagnostics are printed. One function per format, chosen by name."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import click

from .diagnostics import Diagnostic, Severity, count


@dataclass(frozen=True)
class Summary:
    errors: int
    warnings: int
    files: int

    @classmethod
    def of(cls, diagnostics: Sequence[Diagnostic], files: int) -> Summary:
        return cls(count(diagnostics, Severity.ERROR), count(diagnostics, Severity.WARNING), files)

    def text(self) -> str:
        return (
            f"{_plural(self.errors, 'error')}, {_plural(self.warnings, 'warning')} "
            f"in {_plural(self.files, 'file')}"
        )


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _safe(text: str) -> str:
    """Text as it can be printed on one terminal line: no control characters."""
    return "".join(ch if ch.isprintable() or ch == " " else f"\\u{ord(ch):04x}" for ch in text)


def report_text(diagnostics: Sequence[Diagnostic], summary: Summary, color: bool) -> None:
    for d in diagnostics:
        tone = "red" if d.severity is Severity.ERROR else "yellow"
        label = (
            click.style(f"{d.severity}[{d.code}]", fg=tone, bold=True)
            if color
            else f"{d.severity}[{d.code}]"
        )
        where = (
            click.style(f"{_safe(d.path)}:{d.line}:{d.column}:", bold=True)
            if color
            else f"{_safe(d.path)}:{d.line}:{d.column}:"
        )
        click.echo(f"{where} {label} {_safe(d.message)}", color=color)
        if d.hint:
            click.echo(f"    hint: {_safe(d.hint)}", color=color)
    click.echo(summary.text())


def report_json(diagnostics: Sequence[Diagnostic], summary: Summary, color: bool) -> None:
    del color
    payload = {
        "diagnostics": [d.as_json() for d in diagnostics],
        "summary": {"errors": summary.errors, "warnings": summary.warnings, "files": summary.files},
    }
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def _escape_property(text: str) -> str:
    # GitHub workflow-command escaping: data escapes %, CR, LF; properties also : and ,
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def report_github(diagnostics: Sequence[Diagnostic], summary: Summary, color: bool) -> None:
    del color
    for d in diagnostics:
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        click.echo(
            f"::{d.severity} file={_escape_property(d.path)},line={d.line},col={d.column},"
            f"title={_escape_property(d.code)}::{_escape_data(message)}"
        )
    click.echo(summary.text())


Reporter = Callable[[Sequence[Diagnostic], Summary, bool], None]
REPORTERS: dict[str, Reporter] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
}
