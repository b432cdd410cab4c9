"""The Jinja environment: where templates are found, the filters they use, and the static
assets with a content hash in their names."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from .urls import safe_url, site_relative
from .views import auth_label, tier_label

TEMPLATES_DIR = "templates"
STATIC_DIR = "static"
_PACKAGED = Path(__file__).resolve().parent.parent / TEMPLATES_DIR
_CHECKOUT = Path(__file__).resolve().parents[3] / TEMPLATES_DIR


def template_dir(root: Path) -> Path:
    """The catalog's own `templates/`, else the copy in the wheel, else the source checkout's."""
    for candidate in (root / TEMPLATES_DIR, _PACKAGED, _CHECKOUT):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError(f"no site templates in {root / TEMPLATES_DIR} or {_PACKAGED}")


def templates_digest(directory: Path) -> str:
    """A digest of every template and static file."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@jinja2.pass_context
def href(context: jinja2.runtime.Context, value: object, root: str | None = None) -> str:
    """A link from the current page: site paths get the page's way to the root (`root`, by
    default the page's own); external URLs must be https (anything else becomes an empty
    string, which templates leave out)."""
    if not isinstance(value, str):
        return ""
    if site_relative(value):
        return str(context["root"] if root is None else root) + value
    return safe_url(value)


@lru_cache(maxsize=65536)  # a catalog's pages repeat the same few release and commit dates
def human_date(value: str) -> str:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{moment:%b} {moment.day}, {moment.year}"


@dataclass(frozen=True)
class Asset:
    name: str  # path under templates/static/
    path: str  # hashed path in the output, e.g. static/app.3f2a9c1b.css
    data: bytes


def assets(directory: Path) -> list[Asset]:
    """Every file under `static/`, named with the first 8 hex digits of its SHA-256."""
    base = directory / STATIC_DIR
    found = []
    for file in sorted(p for p in base.rglob("*") if p.is_file()):
        data = file.read_bytes()
        rel = PurePosixPath(file.relative_to(base).as_posix())
        digest = hashlib.sha256(data).hexdigest()[:8]
        hashed = rel.with_name(f"{rel.stem}.{digest}{rel.suffix}")
        found.append(Asset(rel.as_posix(), f"{STATIC_DIR}/{hashed}", data))
    return found


@dataclass(frozen=True)
class Templates:
    """Where a build's templates are, what they hold (`templates_digest`) and the hashed
    names of its static assets: small and picklable, so a page can be rendered in any process
    from its template and context. Equal only while the templates are the same, so that a
    process that builds again after they changed compiles them again."""

    directory: str
    static: tuple[tuple[str, str], ...]  # (name under static/, hashed path in the output)
    digest: str


def render_page(templates: Templates, template: str, context: Mapping[str, Any]) -> bytes:
    return environment_of(templates).get_template(template).render(context).encode()


@lru_cache(maxsize=4)
def environment_of(templates: Templates) -> jinja2.Environment:
    """One environment (and so one compilation of each template) per process and set of
    templates: environments do not look at the files again (see `environment`)."""
    return environment(Path(templates.directory), dict(templates.static))


def environment(directory: Path, static: dict[str, str]) -> jinja2.Environment:
    """Every template escapes, whatever its name; an unknown variable is an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # No look at each template file per page: `environment_of` keys environments by
        # what the templates hold.
        auto_reload=False,
    )
    env.filters.update(
        safe_url=safe_url,
        href=href,
        date=human_date,
        tier_label=tier_label,
        auth_label=auth_label,
    )

    def static_path(name: str) -> str:
        return static[name]

    env.globals.update(static=static_path)
    return env
