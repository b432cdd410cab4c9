"""READMEs come from pull requests: CommonMark without raw HTML, links only to http(s) or
relative targets, no remote image loads, and headings moved one level down below the page's
own h1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

from .urls import safe_url

EXTERNAL_REL = "nofollow ugc noopener noreferrer"


def allowed_link(url: str) -> bool:
    """http(s) URLs with a host, and relative links that cannot be read as a scheme."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme:
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    head = url.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return ":" not in head


class _Markdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return allowed_link(url)


def _link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    if urlsplit(str(token.attrGet("href") or "")).scheme:
        token.attrSet("rel", EXTERNAL_REL)
    return renderer.renderToken(tokens, idx, options, env)


def _image(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    """An image would be a request to a third party: it becomes a link to the image (https
    only) or just its alternative text."""
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
    src = safe_url(token.attrGet("src"))
    if not src:
        return str(escape(alt))
    return f'<a href="{escape(src)}" rel="{EXTERNAL_REL}">{escape(alt)}</a>'


def _parser() -> MarkdownIt:
    md = _Markdown("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


_MD = _parser()


def _drop_title(tokens: list[Token], title: str) -> list[Token]:
    """A README that opens with the integration's name as its h1 repeats the page's h1."""
    if (
        len(tokens) >= 3
        and tokens[0].type == "heading_open"
        and tokens[0].tag == "h1"
        and tokens[1].content.strip().casefold() == title.strip().casefold()
    ):
        return tokens[3:]
    return tokens


def _demote_headings(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


def render_markdown(text: str, title: str = "") -> Markup:
    """HTML that is safe to embed: markdown-it escapes every piece of text it copies."""
    env: dict[str, Any] = {}
    tokens = _drop_title(_MD.parse(text, env), title)
    _demote_headings(tokens)
    return Markup(_MD.renderer.render(tokens, _MD.options, env))
