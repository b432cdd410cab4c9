"""A site built from a hostile catalog, in a real browser: every name, description, member,
variable, auth field and README carries script that would set `window.__pwned` or open a
dialog if it ever ran. The catalog validates (warnings at most), so this is what a publisher
can really get published. On every page: no dialog, no `window.__pwned`, no request leaving the
site, no console error."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from browsing import Site, Tab, git, new_tab
from click.testing import CliRunner
from playwright.sync_api import Browser, expect

from integration_catalog.cli import main
from integration_catalog.serve import start_server

pytestmark = pytest.mark.browser

# Each one sets window.__pwned and opens a dialog if it ever runs.
PAYLOADS = (
    "<script>window.__pwned=1;alert(1)</script>",
    '<img src=x onerror="window.__pwned=1;alert(2)">',
    '"><svg onload="window.__pwned=1;alert(3)">',
    "</script><script>window.__pwned=1;alert(4)</script>",
    '\'><details open ontoggle="window.__pwned=1;alert(5)">',
    "{{constructor.constructor('window.__pwned=1;alert(6)')()}}",
)
P1, P2, P3, P4, P5, P6 = PAYLOADS
JS_URL = "javascript:window.__pwned=1;alert(7)"
README = f"""\
# {P1}

{P1}
{P2}
{P3}
{P4}
{P5}

<a href="{JS_URL}">raw link</a> <iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>

[md link]({JS_URL}) [entity](&#106;avascript:window.__pwned=1) [upper](JAVASCRIPT:alert(8))
[data](data:text/html,<script>parent.__pwned=1</script>) [vb](vbscript:msgbox(9))
[reference][evil] <{JS_URL}> ![image](x" onerror="window.__pwned=1)
[quote](https://docs.example.test/"onmouseover="window.__pwned=1)
![remote](https://images.example.test/pixel.png)

```html
{P1}
```

[evil]: {JS_URL}
"""
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><title>'
    + P1.replace("<", "&lt;").encode()
    + b'</title><rect width="8" height="8" fill="#c33"/></svg>'
)


def _png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xcc\x33\x33")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def q(text: str) -> str:
    """A double-quoted YAML scalar."""
    return json.dumps(text, ensure_ascii=False)


def integration(name: str, *, member_key: str = "sync", oauth: bool = False) -> str:
    auth = (
        "authConfig:\n  type: oauth2\n"
        f"  scopes: [{q(P1)}, {q(P3)}]\n"
        f'  authorizationUrl: "https://auth.example.test/authorize?x=\\"><script>window.__pwned=1'
        f'</script>"\n'
        f"  tokenUrl: {q('https://auth.example.test/token#' + quote(P2))}\n"
        if oauth
        else f"authConfig:\n  type: api_key\n  authHeaderName: {q('X-' + P2)}\n"
        f"  authValuePrefix: {q(P3 + ' ')}\n"
    )
    return (
        f"name: {q(name)}\n"
        f"description: {q(' '.join(PAYLOADS[:4]) + ' ' + JS_URL)}\n"
        f"workspaceId: {q(P3)}\n"
        "visibility: public\n"
        f"createdBy: {q(P2)}\n"
        "manifest:\n  members:\n"
        f"    - key: {q(member_key)}\n      kind: {q(P4)}\n"
        f"      description: {q(P1 + P5)}\n"
        f"  defaults:\n    note: {q(P4)}\n"
        "variablesSchema:\n  type: object\n  properties:\n    note:\n      type: string\n"
        f"      title: {q(P1)}\n      description: {q(P2 + P3 + P6)}\n"
        f"      default: {q(P4)}\n      enum: [{q(P4)}, {q(P1)}]\n"
        f"      examples: [{q(JS_URL)}]\n"
        f"    {q(P5)}:\n      type: boolean\n      description: {q(P6)}\n" + auth
    )


# publisher/slug: (integration.yaml, README.md or None, icon file or None, released)
CATALOG: dict[str, tuple[str, str | None, tuple[str, bytes] | None, bool]] = {
    "mallory/script-name": (integration(P1), README, ("icon.svg", SVG), True),
    "mallory/img-name": (integration(P2, member_key=P2), README, ("icon.png", _png()), True),
    "mallory/svg-name": (integration(P3, oauth=True), None, None, True),
    "mallory/script-close-name": (integration(P4), README, None, True),
    "mallory/details-name": (integration(P5, member_key=P3, oauth=True), README, None, True),
    "mallory/template-name": (integration(P6), README, None, False),  # a draft
}
PUBLISHERS = f"""\
mallory:
  name: {q("Mallory " + P2)}
  url: "https://mallory.example.test/?q=\\"><script>window.__pwned=1</script>"
"""


def make_hostile(root: Path) -> Path:
    """The hostile catalog in a repository: released integrations tagged v1.0.0."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "catalog.yaml").write_text(f"title: {q('Market ' + P1)}\n", encoding="utf-8")
    (root / "publishers.yaml").write_text(PUBLISHERS, encoding="utf-8")
    for key, (yaml_text, readme, icon, _) in CATALOG.items():
        directory = root / "integrations" / key
        directory.mkdir(parents=True)
        (directory / "integration.yaml").write_text(yaml_text, encoding="utf-8")
        if readme is not None:
            (directory / "README.md").write_text(readme, encoding="utf-8")
        if icon is not None:
            (directory / icon[0]).write_bytes(icon[1])
    git(root, "add", "-A", ".")
    git(root, "commit", "-q", "-m", "hostile", date="2025-02-01T00:00:00Z")
    for key, (*_, released) in CATALOG.items():
        if released:
            git(root, "tag", f"{key}/v1.0.0")
    return root


def catalog(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = make_hostile(tmp_path_factory.mktemp("hostile") / "catalog")
    diagnostics = json.loads(catalog(root, "validate", "--format", "json"))["diagnostics"]
    assert [d for d in diagnostics if d["severity"] != "warning"] == []  # it is publishable
    out = tmp_path_factory.mktemp("hostile-site") / "out"
    server = start_server(out, 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    catalog(root, "build", "--out", str(out), "--base-url", url)
    yield Site(url, out)
    server.shutdown()
    server.server_close()


@pytest.fixture
def hostile_tab(browser: Browser) -> Iterator[Tab]:
    """A tab that records console errors, dialogs and requests that leave the site (and
    answers none of them: there is no external icon in this catalog)."""
    tab = new_tab(browser, frozenset())
    yield tab
    tab.context.close()


def pwned(tab: Tab) -> str:
    return str(tab.page.evaluate("typeof window.__pwned"))


def documents(site: Site) -> list[str]:
    """The site's feed, sitemap and JSON documents, which a browser may open too."""
    others = [*site.out.glob("*.xml"), *site.out.rglob("*.json")]
    return sorted(path.relative_to(site.out).as_posix() for path in others)


def test_every_page_of_a_hostile_site_stays_inert(hostile_tab: Tab, hostile_site: Site) -> None:
    tab, site = hostile_tab, hostile_site
    dialogs: list[str] = []
    tab.page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    pages = site.pages()
    assert len(pages) >= 12 and "integrations/mallory/template-name/" in pages
    for path in [*pages, *documents(site)]:
        response = tab.page.goto(site.url + path)
        assert response is not None and response.ok, path
        tab.page.wait_for_load_state("load")
        assert pwned(tab) == "undefined", path
    assert dialogs == []
    assert tab.errors == []
    assert tab.outside == []
    detail = site.out / "integrations/mallory/script-name/index.html"
    assert "&lt;script&gt;window.__pwned=1;alert(1)&lt;/script&gt;" in detail.read_text("utf-8")


def test_the_search_shows_hostile_names_as_text(hostile_tab: Tab, hostile_site: Site) -> None:
    page = hostile_tab.page
    page.goto(hostile_site.url + "?drafts=1")
    page.locator("#q").fill("pwned")
    cards = page.locator("#results-list .card-title")
    expect(cards).to_have_count(len(CATALOG))
    assert sorted(cards.all_inner_texts()) == sorted(PAYLOADS)
    expect(page.locator("#results-list .card-desc").first).to_contain_text("<script>")
    assert pwned(hostile_tab) == "undefined"
    assert hostile_tab.errors == [] and hostile_tab.outside == []


@pytest.mark.parametrize("payload", [*PAYLOADS, JS_URL], ids=range(len(PAYLOADS) + 1))
def test_a_hostile_query_in_the_url_stays_text(
    hostile_tab: Tab, hostile_site: Site, payload: str
) -> None:
    page = hostile_tab.page
    page.goto(f"{hostile_site.url}?drafts=1&q={quote(payload)}")
    expect(page.locator("#q")).to_have_value(payload)
    expect(page.locator("#results-status")).to_contain_text("match")
    assert pwned(hostile_tab) == "undefined"
    assert hostile_tab.errors == [] and hostile_tab.outside == []


LEAKY_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8">'
    b'<style>@import "https://evil.example.test/track.css";</style>'
    b'<rect width="8" height="8"/></svg>'
)


def test_an_icon_opened_at_its_url_loads_nothing_from_outside(
    browser: Browser, tmp_path: Path
) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "catalog.yaml").write_text('title: "Icons"\n')
    widget = root / "integrations/mallory/widget"
    widget.mkdir(parents=True)
    (widget / "integration.yaml").write_text('name: "W"\nworkspaceId: "w"\nvisibility: public\n')
    (widget / "icon.svg").write_bytes(LEAKY_SVG)
    git(root, "add", "-A", ".")
    git(root, "commit", "-q", "-m", "icon")
    checked = CliRunner().invoke(main, ["--root", str(root), "validate", "--format", "json"])
    if checked.exit_code == 1 and '"icon-unsafe"' in checked.stdout:
        return  # refused, as it should be: nothing is published
    out = tmp_path / "out"
    server = start_server(out, 0)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        catalog(root, "build", "--out", str(out), "--base-url", url)
        tab = new_tab(browser, frozenset())
        response = tab.page.goto(url + "api/v1/icons/mallory/widget.svg")
        assert response is not None and response.ok
        tab.page.wait_for_load_state("load")
        tab.context.close()
        assert tab.outside == []
    finally:
        server.shutdown()
        server.server_close()
