"""Local icons are copied into the site and served from its origin, so an icon that could run
code there (an SVG with a script, an event handler or a link out) would be a cross-site
scripting hole for anyone who opens its URL. Icons are checked as strictly as the YAML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree import ElementTree

from .diagnostics import Diagnostic, Severity

MAX_ICON_BYTES = 256 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Elements that draw; anything else (script, foreignObject, iframe, animation that can rewrite
# attributes, external images) is refused.
_SVG_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "defs",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "title",
        "desc",
        "symbol",
        "use",
        "pattern",
        "filter",
        "feGaussianBlur",
        "feOffset",
        "feBlend",
        "feColorMatrix",
        "feFlood",
        "feComposite",
        "feMerge",
        "feMergeNode",
        "feDropShadow",
        "metadata",
        "style",
    }
)
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_STYLE_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
# What CSS can load or disguise: an import, or an escape (`\75 rl(` is `url(`).
_CSS_LOADS = re.compile(r"@import|\\", re.IGNORECASE)
# Processing instructions (`<?xml-stylesheet href=...?>`) are dropped by the XML parser, so
# they are looked for in the bytes; only the XML declaration itself is allowed.
_INSTRUCTION = re.compile(rb"<\?(?!xml[\s?])", re.IGNORECASE)
_HREF_ATTRIBUTES = frozenset({"href", "{http://www.w3.org/1999/xlink}href"})


def check_icon(path: str, data: bytes) -> list[Diagnostic]:
    """Problems with a local icon.svg or icon.png, each at line 1 (the file as a whole)."""
    if len(data) > MAX_ICON_BYTES:
        return [
            _unsafe(
                path,
                f"the icon is {len(data):,} bytes; the limit is {MAX_ICON_BYTES:,}",
                "use a smaller image",
            )
        ]
    if path.endswith(".png"):
        if not data.startswith(PNG_SIGNATURE):
            return [_unsafe(path, "icon.png is not a PNG image", "export the icon as PNG")]
        return []
    return list(_svg_problems(path, data))


def _svg_problems(path: str, data: bytes) -> Iterator[Diagnostic]:
    if _INSTRUCTION.search(data):
        yield _unsafe(
            path,
            "the SVG holds a processing instruction (such as xml-stylesheet)",
            "remove every <?...?> except the <?xml ...?> declaration",
        )
        return
    if _DECLARATION.search(data):
        yield _unsafe(
            path,
            "the SVG declares a DOCTYPE or entities",
            "remove the <!DOCTYPE ...> and <!ENTITY ...> declarations",
        )
        return
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        yield _unsafe(
            path,
            f"icon.svg is not well-formed XML: {error}",
            "export the icon again from your editor",
        )
        return
    if _local(root.tag) != "svg":
        yield _unsafe(path, "icon.svg does not start with an <svg> element")
    for element in root.iter():
        name = _local(element.tag)
        if name not in _SVG_ELEMENTS:
            yield _unsafe(
                path,
                f"icon.svg holds a <{name}> element, which is not allowed",
                "icons may only draw: remove scripts, foreign objects, external "
                "images and animations",
            )
        for attribute, value in element.attrib.items():
            yield from _attribute_problems(path, name, attribute, value)
        if (
            name == "style"
            and element.text
            and (_STYLE_URL.search(element.text) or _CSS_LOADS.search(element.text))
        ):
            yield _unsafe(
                path,
                "icon.svg loads something from outside through CSS "
                "(url(...), @import or an escape)",
            )


def _attribute_problems(
    path: str, element: str, attribute: str, value: str
) -> Iterator[Diagnostic]:
    local = _local(attribute)
    if local.lower().startswith("on"):
        yield _unsafe(
            path, f"<{element}> has an event handler `{local}`", "remove every on... attribute"
        )
    elif attribute in _HREF_ATTRIBUTES and not value.strip().startswith("#"):
        yield _unsafe(
            path,
            f"<{element}> links outside the icon ({local}=...)",
            "icons may only refer to their own parts (#id)",
        )
    elif _STYLE_URL.search(value) or (local == "style" and _CSS_LOADS.search(value)):
        # any attribute: presentation attributes such as fill="url(...)" load too
        yield _unsafe(path, f"<{element}> loads something from outside through `{local}`")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _unsafe(path: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(path, 1, 1, Severity.ERROR, "icon-unsafe", message, hint)
