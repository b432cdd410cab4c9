"""The `catalog` command line: parse options, call one function, report, choose the exit code.

Exit codes: 0 no errors (warnings allowed), 1 errors in the catalog, 2 usage or environment
problems (Click's own usage errors are 2 as well)."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import click

from . import DISTRIBUTION
from .build import BuildOptions
from .build import build as build_catalog
from .catalog import CheckReport, LoadResult, SelectionError, check_catalog, load_catalog
from .config import CatalogRootNotFound, find_root
from .diagnostics import Diagnostic, Severity, did_you_mean, has_errors
from .diff import RENDERERS, diff_revisions
from .gitrepo import GitError, repository_prefix
from .model import AuthType, Visibility, base_url
from .output import OutputError, OutputFile, output_path
from .previous import PreviousError
from .release import ReleaseRefused
from .report import REPORTERS, Summary
from .resolve import ShallowRepository, versions_json
from .scaffold import SCHEMA_DIR, NewIntegration, default_name, write_scaffold
from .schemas import schema_files
from .workflow import release_integration, scaffold_problems

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
@click.version_option(package_name=DISTRIBUTION)
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """Validate, version and publish a catalog of integrations."""
    ctx.obj = Context(root)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """For a build or a validation, which keeps what it loads until it ends and makes few
    reference cycles: the cycle collector would walk the whole catalog over and over (up to
    half a second each time at 10,000 integrations), and the worker processes wait to be
    fed while it does. Worker processes collect their own cycles (see `workers`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run(prog_name: str | None = None) -> None:
    """The `catalog` command."""
    # A large catalog keeps hundreds of thousands of small objects alive, almost none of them
    # in reference cycles: with the default thresholds the cycle collector rescans them over
    # and over (a third of a warm run's time at 10,000 integrations). Set for the command
    # only, not for programs that call `main`.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    main(prog_name=prog_name)


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


def _source_date_epoch() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) > LATEST_TIMESTAMP:
        raise _environment_error(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970 up to year 9999, not {value!r}"
        )
    return int(value)


LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: the last time RFC 3339 can write


def _check_base_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return base_url(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@contextlib.contextmanager
def _environment_errors() -> Iterator[None]:
    """Environment problems while loading become exit code 2 with the reason."""
    try:
        yield
    except (SelectionError, ShallowRepository, GitError) as error:
        raise _environment_error(str(error)) from None


def _load(ctx: Context, *, allow_shallow: bool) -> LoadResult:
    """The whole catalog, published versions read."""
    root = _root(ctx)
    with _environment_errors():
        return load_catalog(
            root, allow_shallow=allow_shallow, source_date_epoch=_source_date_epoch()
        )


def _check(
    ctx: Context, paths: tuple[Path, ...], *, allow_shallow: bool, read_published: bool
) -> tuple[CheckReport, Path]:
    """`validate`'s findings."""
    root = _root(ctx)
    with _environment_errors(), _no_cycle_collection():
        report = check_catalog(
            root,
            paths,
            allow_shallow=allow_shallow,
            source_date_epoch=_source_date_epoch(),
            read_published=read_published,
        )
    return report, root


def _print(
    diagnostics: list[Diagnostic], files: int, output_format: str, root: Path | None = None
) -> bool:
    """The one place diagnostics are printed; whether there were errors."""
    if output_format == "github" and root is not None:
        # annotations name files from the repository's top level
        prefix = repository_prefix(root)
        diagnostics = [replace(d, path=prefix + d.path) for d in diagnostics]
    REPORTERS[output_format](diagnostics, Summary.of(diagnostics, files), sys.stdout.isatty())
    return has_errors(diagnostics)


allow_shallow_option = click.option(
    "--allow-shallow",
    is_flag=True,
    help="Work in a shallow clone anyway (versions and dates may be wrong).",
)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option
@allow_shallow_option
@click.option(
    "--published",
    "check_published",
    is_flag=True,
    help="Also check every published version (each tag's file) against today's rules, "
    "as `catalog build` does.",
)
@click.pass_obj
def validate(
    ctx: Context,
    paths: tuple[Path, ...],
    output_format: str,
    allow_shallow: bool,
    check_published: bool,
) -> None:
    """Check the catalog (or only the given integration directories) and report every problem."""
    report, root = _check(ctx, paths, allow_shallow=allow_shallow, read_published=check_published)
    failed = _print(report.diagnostics, report.files_checked, output_format, root)
    raise click.exceptions.Exit(EXIT_ERRORS if failed else EXIT_OK)


@main.command()
@click.argument("integration", metavar="PUBLISHER/SLUG")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@allow_shallow_option
@click.pass_obj
def versions(ctx: Context, integration: str, output_format: str, allow_shallow: bool) -> None:
    """List an integration's published versions, newest first, and which one is current."""
    result = _load(ctx, allow_shallow=allow_shallow)
    item = result.catalog.get(integration.strip("/"))
    if item is None:
        known = [i.key for i in result.catalog.integrations]
        hint = did_you_mean(integration, known)
        click.echo(
            f"catalog: no integration `{integration}` in the catalog"
            + (f"; {hint}" if hint else ""),
            err=True,
        )
        raise click.exceptions.Exit(EXIT_ERRORS)
    if output_format == "json":
        click.echo(json.dumps(versions_json(item), indent=2, ensure_ascii=False))
        return
    current = item.current_version or (
        "none (every version is yanked)" if item.versions else "none (draft)"
    )
    click.echo(f"{item.key}: current version {current}")
    for snapshot in item.versions:
        marker = "*" if snapshot.version == item.current_version else " "
        yanked = f"  yanked: {snapshot.yanked}" if snapshot.yanked is not None else ""
        click.echo(
            f"{marker} {snapshot.version:<20} {snapshot.published_at}  "
            f"{snapshot.commit[:12]}  {snapshot.digest}{yanked}"
        )


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Output directory; replaced as a whole on success.",
)
@click.option(
    "--base-url",
    callback=_check_base_url,
    help="Where the site is served, path prefix included (default: baseUrl of catalog.yaml).",
)
@click.option(
    "--include-private",
    is_flag=True,
    help="Include private integrations: an internal catalog, never to publish.",
)
@click.option(
    "--previous",
    metavar="PATH_OR_URL",
    help="The published site (directory or URL) whose versions may not change.",
)
@click.option(
    "--allow-republish",
    metavar="TAG",
    multiple=True,
    help="Accept that this published tag changed or was deleted (repeatable).",
)
@format_option
@allow_shallow_option
@click.pass_obj
def build(
    ctx: Context,
    out: Path,
    base_url: str | None,
    include_private: bool,
    previous: str | None,
    allow_republish: tuple[str, ...],
    output_format: str,
    allow_shallow: bool,
) -> None:
    """Validate, then write the JSON API and the site into --out, atomically."""
    root = _root(ctx)
    options = BuildOptions(
        out=out if out.is_absolute() else Path.cwd() / out,
        base_url=base_url,
        include_private=include_private,
        allow_shallow=allow_shallow,
        source_date_epoch=_source_date_epoch(),
        previous=previous,
        allow_republish=allow_republish,
    )
    progress = _progress_bar if sys.stderr.isatty() else None
    try:
        with _no_cycle_collection():
            result = build_catalog(root, options, progress)
    except (ShallowRepository, GitError, OutputError, PreviousError) as error:
        raise _environment_error(str(error)) from None
    if result.written is None or output_format == "json":
        failed = _print(result.diagnostics, result.files_checked, output_format, root)
        if failed:
            click.echo(
                f"catalog: build failed; nothing was written and {out} is unchanged", err=True
            )
            raise click.exceptions.Exit(EXIT_ERRORS)
        return
    warnings = [d for d in result.diagnostics if d.severity is Severity.WARNING]
    if warnings:
        _print(result.diagnostics, result.files_checked, output_format, root)
    scope = " (internal: private integrations included)" if include_private else ""
    if result.up_to_date:
        click.echo(
            f"{out} is up to date: nothing it is built from changed since it was built "
            f"({result.integrations} integrations, {result.versions} versions; "
            f"{result.seconds:.2f} s){scope}"
        )
        return
    click.echo(
        f"built {result.integrations} integrations, {result.versions} versions, "
        f"{result.written} files into {out} in {result.seconds:.2f} s{scope}"
    )


def _progress_bar(files: Iterable[OutputFile], total: int) -> Iterator[OutputFile]:
    with click.progressbar(length=max(total, 1), label="writing", file=sys.stderr) as bar:
        for entry in files:
            if output_path(entry).endswith("/versions.json"):
                bar.update(1)
            yield entry


@main.command()
@click.argument("base")
@click.argument("head", default="HEAD")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(RENDERERS)),
    default="text",
    show_default=True,
    help="markdown is made for a pull-request comment or summary.",
)
@allow_shallow_option
@click.pass_obj
def diff(ctx: Context, base: str, head: str, output_format: str, allow_shallow: bool) -> None:
    """What the change from BASE to HEAD does to the published catalog, and whether it is
    routine or needs a maintainer."""
    root = _root(ctx)
    try:
        changes = diff_revisions(root, base, head, allow_shallow=allow_shallow)
    except (ShallowRepository, GitError) as error:
        raise _environment_error(str(error)) from None
    click.echo(RENDERERS[output_format](changes, base, head), nl=False)


@main.command(name="new")
@click.argument("integration", metavar="PUBLISHER/SLUG")
@click.option("--auth", type=click.Choice(["oauth2", "api_key", "none"]), help="Auth type.")
@click.option("--name", help="Display name (default: from the slug).")
@click.pass_obj
def new_integration(ctx: Context, integration: str, auth: str | None, name: str | None) -> None:
    """Create integrations/PUBLISHER/SLUG/ with a commented integration.yaml and a README."""
    root = _root(ctx)
    publisher, _, slug = integration.strip("/").partition("/")
    problems = scaffold_problems(root, publisher, slug)
    if problems:
        _print(problems, 1, _default_format(), root)
        raise click.exceptions.Exit(EXIT_ERRORS)
    interactive = sys.stdin.isatty() and auth is None and name is None
    visibility: Visibility = "private"
    if interactive:
        name = click.prompt("Name", default=default_name(slug))
        auth = click.prompt(
            "Auth type", type=click.Choice(["oauth2", "api_key", "none"]), default="none"
        )
        visibility = click.prompt(
            "Visibility", default="private", type=click.Choice(["private", "unlisted", "public"])
        )
    elif auth is None:
        click.echo(
            "no TTY and no --auth: using `auth: none` and `visibility: private`, so "
            "nothing is published by accident",
            err=True,
        )
    new = NewIntegration(
        publisher, slug, name or default_name(slug), cast(AuthType, auth or "none"), visibility
    )
    for path in write_scaffold(root, new):
        click.echo(f"created {path.relative_to(root)}")
    click.echo(f"next: edit them, then `catalog validate integrations/{publisher}/{slug}`")


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the schemas (default: schema/ at the catalog root).",
)
@click.option("--check", is_flag=True, help="Only check that the files are up to date.")
@click.pass_obj
def schema(ctx: Context, out: Path | None, check: bool) -> None:
    """Write the JSON Schemas of integration.yaml, publishers.yaml and catalog.yaml."""
    directory = out or _root(ctx) / SCHEMA_DIR
    stale = [
        name
        for name, data in schema_files().items()
        if not (directory / name).is_file() or (directory / name).read_bytes() != data
    ]
    if check:
        for name in stale:
            click.echo(f"{directory / name} is out of date; run `catalog schema`", err=True)
        raise click.exceptions.Exit(EXIT_ERRORS if stale else EXIT_OK)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in schema_files().items():
        (directory / name).write_bytes(data)
        click.echo(f"wrote {directory / name}")


@main.command()
@click.argument("integration", metavar="PUBLISHER/SLUG")
@click.argument("version", metavar="VERSION|major|minor|patch")
@click.option("--pre", metavar="LABEL", help="Make it the next pre-release, e.g. --pre rc.")
@click.option("--message", help="The tag's message (default: `<name> <version>`).")
@click.pass_obj
def release(
    ctx: Context, integration: str, version: str, pre: str | None, message: str | None
) -> None:
    """Tag a new version of an integration at HEAD (an annotated tag; never pushed)."""
    result = _load(ctx, allow_shallow=False)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    if errors and _print(errors, result.files_checked, _default_format(), result.catalog.root):
        click.echo("catalog: fix the errors above before releasing", err=True)
        raise click.exceptions.Exit(EXIT_ERRORS)
    try:
        tag, commit = release_integration(
            result.catalog, integration.strip("/"), version, pre, message
        )
    except ReleaseRefused as error:
        click.echo(f"catalog: release refused: {error}", err=True)
        raise click.exceptions.Exit(EXIT_ERRORS) from None
    except GitError as error:
        raise _environment_error(str(error)) from None
    click.echo(f"tagged {tag} at {commit[:12]}")
    click.echo(f"publish it with: git push origin {tag}")


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path(".catalog-cache/serve"),
    show_default=True,
    help="Where the site is built; replaced on every rebuild.",
)
@click.option("--include-private", is_flag=True, help="Include private integrations.")
@allow_shallow_option
@click.pass_obj
def serve(ctx: Context, port: int, out: Path, include_private: bool, allow_shallow: bool) -> None:
    """Build the site, serve it on 127.0.0.1 and rebuild whenever a source file changes."""
    from .build import BuildResult  # noqa: PLC0415 (kept local: this command is appended)
    from .serve import ServeOptions  # noqa: PLC0415
    from .serve import serve as run_server  # noqa: PLC0415

    root = _root(ctx)
    options = ServeOptions(
        root=root,
        out=out if out.is_absolute() else root / out,
        port=port,
        include_private=include_private,
        allow_shallow=allow_shallow,
    )

    def report(outcome: BuildResult | Exception) -> None:
        if isinstance(outcome, Exception):
            click.echo(f"catalog: build failed: {outcome}; still serving the last build", err=True)
        elif outcome.written is None:
            _print(outcome.diagnostics, outcome.files_checked, "text", root)
            click.echo("catalog: the catalog has errors; still serving the last build", err=True)
        else:
            click.echo(f"built {outcome.integrations} integrations in {outcome.seconds:.2f} s")

    def announce(url: str) -> None:
        click.echo(f"serving {url}  (rebuilds on change; Ctrl-C to stop)")

    try:
        run_server(options, report, announce)
    except OSError as error:
        raise _environment_error(f"cannot serve on port {port}: {error.strerror}") from None
    except KeyboardInterrupt:
        click.echo("stopped")
        raise click.exceptions.Exit(130) from None
