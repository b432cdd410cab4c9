"""The `catalog` command line: parse options, call one function, report, choose the exit code.

Exit codes: 0 no errors (warnings allowed), 1 errors in the catalog, 2 usage or environment
problems (Click's own usage errors are 2 as well)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from .catalog import SelectionError, load_catalog
from .config import CatalogRootNotFound, find_root
from .diagnostics import Severity
from .report import REPORTERS, Summary

EXIT_OK, EXIT_ERRORS, EXIT_ENVIRONMENT = 0, 1, 2


@dataclass(frozen=True)
class Context:
    root: Path | None


def _default_format() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default=_default_format,
    show_default="text, or github when GITHUB_ACTIONS=true",
    help="How to print diagnostics.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="The catalog root (default: the nearest directory above holding catalog.yaml).",
)
@click.version_option(package_name="integration-catalog")
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """Validate, version and publish a catalog of integrations."""
    ctx.obj = Context(root)


def _root(ctx: Context) -> Path:
    try:
        if ctx.root is not None:
            if not (ctx.root / "catalog.yaml").is_file():
                raise CatalogRootNotFound(f"{ctx.root} has no catalog.yaml")
            return ctx.root.resolve()
        return find_root(Path.cwd())
    except CatalogRootNotFound as error:
        raise _environment_error(str(error)) from None


def _environment_error(message: str) -> click.exceptions.Exit:
    click.echo(f"catalog: {message}", err=True)
    return click.exceptions.Exit(EXIT_ENVIRONMENT)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option
@click.pass_obj
def validate(ctx: Context, paths: tuple[Path, ...], output_format: str) -> None:
    """Check the catalog (or only the given integration directories) and report every problem."""
    root = _root(ctx)
    try:
        result = load_catalog(root, paths)
    except SelectionError as error:
        raise _environment_error(str(error)) from None
    summary = Summary.of(result.diagnostics, result.files_checked)
    REPORTERS[output_format](result.diagnostics, summary, sys.stdout.isatty())
    has_errors = any(d.severity is Severity.ERROR for d in result.diagnostics)
    raise click.exceptions.Exit(EXIT_ERRORS if has_errors else EXIT_OK)
