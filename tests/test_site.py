"""The marketplace site, read back from a real build of the sample catalog in a real git
repository, with a private integration and a hostile one planted in it."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit
from xml.etree import ElementTree as ET

import jinja2
import pytest
from click.testing import CliRunner
from markupsafe import Markup

from build_support import SAMPLE_TAGS
from gitrepo_fixtures import GitCatalog
from integration_catalog.api import Published
from integration_catalog.build import BuildOptions, build
from integration_catalog.catalog import load_catalog
from integration_catalog.cli import main
from integration_catalog.output import rendered
from integration_catalog.site import pages, site_files
from integration_catalog.site.markdown import allowed_link, render_markdown
from integration_catalog.site.render import environment, template_dir
from integration_catalog.site.urls import safe_url

REPO = Path(__file__).resolve().parent.parent
BASE_URL = "https://market.example.test/some/prefix/"


SECRET = "ZQ7X-quasar"  # planted in every field of a private integration
PRIVATE_YAML = f"""\
name: "Ledger {SECRET}"
description: "Private ledger {SECRET} for internal use."
workspaceId: "ws_{SECRET}"
visibility: private
manifest:
  members:
    - key: "member-{SECRET}"
      kind: workflow
variablesSchema:
  type: object
  properties:
    var{SECRET.replace("-", "")}:
      type: string
"""

HOSTILE_NAME = "<script>alert(1)</script> \"q' onerror=alert(2)"
HOSTILE_YAML = """\
name: "<script>alert(1)</script> \\"q' onerror=alert(2)"
description: "</script><script>alert(3)</script><img src=x onerror=alert(4)> javascript:alert(5)"
workspaceId: "ws_<b>bold</b>"
visibility: public
manifest:
  members:
    - key: "<img src=x onerror=alert(6)>"
      kind: "</script>"
      description: "<script>alert(7)</script>"
variablesSchema:
  type: object
  properties:
    "<svg onload=alert(8)>":
      type: string
      description: "</script><script>alert(9)</script>"
      enum: ["<script>", "</script>"]
      default: "</script>"
      pattern: "<iframe src=javascript:alert(10)>"
authConfig:
  type: oauth2
  scopes: ["<script>alert(11)</script>"]
  authorizationUrl: "https://auth.example.test/authorize"
  tokenUrl: "https://auth.example.test/token"
"""
HOSTILE_README = """\
# Hostile <script>alert(12)</script>

<script>alert(13)</script>
<img src=x onerror=alert(14)>

[click me](javascript:alert(15)) [data](data:text/html;base64,PHNjcmlwdD4=)
[vb](vbscript:msgbox) [ok](https://example.test/docs) [rel](docs/setup.md)
![pic](javascript:alert(16)) ![remote](https://images.example.test/x.png)
<a href="javascript:alert(17)">raw</a> </script>
"""


def _sample(root: GitCatalog) -> None:
    for name in ("catalog.yaml", "publishers.yaml"):
        shutil.copy(REPO / name, root.root / name)
    shutil.copytree(REPO / "integrations", root.root / "integrations", dirs_exist_ok=True)


@pytest.fixture(scope="module")
def catalog_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample catalog, a private and a hostile integration, committed and tagged."""
    repo = GitCatalog(tmp_path_factory.mktemp("catalog"))
    _sample(repo)
    repo.write("integrations/northwind/ledger-zq7x/integration.yaml", PRIVATE_YAML)
    repo.commit("2025-01-10T09:00:00Z", message="sample")
    for name, annotated_at in SAMPLE_TAGS:
        repo.tag(name, annotated_at=annotated_at)
    repo.write("integrations/jdoe/hostile/integration.yaml", HOSTILE_YAML)
    repo.write("integrations/jdoe/hostile/README.md", HOSTILE_README)
    repo.commit("2025-06-01T09:00:00Z", message="hostile")
    repo.tag("jdoe/hostile/v1.0.0")
    return repo.root


def _build(root: Path, out: Path, *, include_private: bool = False) -> Path:
    result = build(root, BuildOptions(out=out, base_url=BASE_URL, include_private=include_private))
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert result.written is not None, errors
    return out


@pytest.fixture(scope="module")
def site(catalog_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(catalog_root, tmp_path_factory.mktemp("out") / "site")


def html_pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


class Page(HTMLParser):
    """Every element with its attributes, and the text inside <script> elements."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.script_text: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def links(self) -> Iterator[tuple[Element, str, str]]:
        for element in self.elements:
            for name in ("href", "src", "action", "data-root", "data-index"):
                if name in element.attrs:
                    yield element, name, element.attrs[name]


def page_url(rel: str) -> str:
    """Where a page is served; 404.html is served for any missing address, at any depth."""
    if rel == "404.html":
        return BASE_URL + "no/such/deep/address"
    return BASE_URL + rel.removesuffix("index.html")


def target_file(site: Path, url: str) -> Path | None:
    path = urlsplit(urldefrag(url)[0]).path
    base = urlsplit(BASE_URL).path
    if not path.startswith(base):
        return None
    rel = path[len(base) :]
    return site / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)


# -- structure ----------------------------------------------------------------------------------


def test_the_site_has_every_page(site: Path) -> None:
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    for rel in (
        "index.html",
        "updated/index.html",
        "integrations/stripe/payments/index.html",
        "integrations/brightloop/nps-surveys/index.html",
        "integrations/stripe/legacy-checkout/index.html",
        "publishers/index.html",
        "publishers/stripe/index.html",
        "publishers/jdoe/index.html",
        "trust/index.html",
        "404.html",
        "sitemap.xml",
        "robots.txt",
        "feed.xml",
        "api/v1/search.json",
    ):
        assert rel in files, rel
    assert any(re.fullmatch(r"static/app\.[0-9a-f]{8}\.css", f) for f in files)
    assert any(re.fullmatch(r"static/app\.[0-9a-f]{8}\.js", f) for f in files)


@pytest.mark.parametrize("kind", ["css", "js"])
def test_assets_carry_their_content_hash(site: Path, kind: str) -> None:
    (asset,) = site.glob(f"static/app.*.{kind}")
    assert asset.name == f"app.{hashlib.sha256(asset.read_bytes()).hexdigest()[:8]}.{kind}"
    assert f"static/{asset.name}" in read(site, "index.html")


def test_every_page_has_one_h1_landmarks_and_a_csp(site: Path) -> None:
    for rel in html_pages(site):
        page = Page(read(site, rel))
        assert len(page.all("h1")) == 1, rel
        for landmark in ("header", "nav", "main", "footer"):
            assert page.all(landmark), (rel, landmark)
        (csp,) = [
            m for m in page.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"
        ]
        policy = csp.attrs["content"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, rel
        assert "unsafe-inline" not in policy
        assert all(img.attrs.get("alt") is not None for img in page.all("img")), rel


def test_form_controls_are_labelled(site: Path) -> None:
    for rel in html_pages(site):
        page = Page(read(site, rel))
        labelled = {e.attrs["for"] for e in page.all("label") if "for" in e.attrs}
        for control in page.all("input") + page.all("select"):
            assert control.attrs.get("id") in labelled, (rel, control.attrs)


# A README may link relative to itself; the hostile one does, to show such links survive.
README_LINKS = {("integrations/jdoe/hostile/index.html", "docs/setup.md")}


def test_every_link_resolves_under_a_path_prefix(site: Path) -> None:
    records = (site / "api/v1/integrations").glob("*/*.json")
    icons = {json.loads(p.read_text())["iconUrl"] for p in records}
    checked = 0
    for rel in html_pages(site):
        page = Page(read(site, rel))
        ids = {e.attrs["id"] for e in page.elements if "id" in e.attrs}
        for element, attribute, value in page.links():
            if value.startswith("#"):
                assert value[1:] in ids, (rel, value)
                continue
            url = urljoin(page_url(rel), value)
            if not url.startswith(BASE_URL):
                assert urlsplit(url).scheme == "https", (rel, value)
                if attribute == "src" or element.tag == "link":
                    assert url in icons, (rel, value)
                continue
            if (rel, value) in README_LINKS:
                continue
            target = target_file(site, url)
            assert target is not None and target.is_file(), (rel, attribute, value)
            checked += 1
    assert checked > 500


def test_the_404_page_links_from_the_base_path(site: Path) -> None:
    page = Page(read(site, "404.html"))
    hrefs = [e.attrs["href"] for e in page.all("a") if not e.attrs["href"].startswith("#")]
    assert hrefs and all(h.startswith("/some/prefix/") for h in hrefs)


# -- what is listed where ------------------------------------------------------------------------


def listing_pages(site: Path) -> list[str]:
    return [
        rel
        for rel in html_pages(site)
        if rel == "index.html" or rel.startswith(("page/", "updated/", "publishers/"))
    ]


UNLISTED = ("brightloop/nps-surveys", "hubspot/marketing-events", "jdoe/csv-importer")


@pytest.mark.parametrize("key", UNLISTED)
def test_unlisted_pages_are_noindex_and_listed_nowhere(site: Path, key: str) -> None:
    detail = Page(read(site, f"integrations/{key}/index.html"))
    robots = [m.attrs["content"] for m in detail.all("meta") if m.attrs.get("name") == "robots"]
    assert robots == ["noindex"]
    for rel in listing_pages(site):
        assert f"integrations/{key}/" not in read(site, rel), rel
    for rel in ("sitemap.xml", "feed.xml", "api/v1/search.json"):
        assert key not in read(site, rel), rel


def test_public_pages_are_indexable(site: Path) -> None:
    assert 'name="robots"' not in read(site, "integrations/stripe/payments/index.html")


def test_a_deleted_integration_keeps_its_page_with_a_banner_but_is_not_listed(site: Path) -> None:
    key = "stripe/legacy-checkout"
    detail = read(site, f"integrations/{key}/index.html")
    assert "banner-danger" in detail and "withdrawn" in detail
    assert 'class="btn btn-primary"' not in detail
    for rel in listing_pages(site):
        assert f"integrations/{key}/" not in read(site, rel), rel
    for rel in ("sitemap.xml", "feed.xml", "api/v1/search.json"):
        assert key not in read(site, rel), rel


def test_drafts_are_left_out_of_the_home_listing_but_shown_on_their_publishers_page(
    site: Path,
) -> None:
    search = json.loads(read(site, "api/v1/search.json"))
    drafts = [e["key"] for e in search["integrations"] if e["version"] is None]
    assert "stripe/billing-sync" in drafts
    home = read(site, "index.html")
    assert "integrations/stripe/billing-sync/" not in home
    assert "not listed here until released" in home
    publisher = read(site, "publishers/stripe/index.html")
    assert "integrations/stripe/billing-sync/" in publisher and "Draft" in publisher


def test_home_is_sorted_by_name_and_updated_by_last_update(site: Path) -> None:
    def order(rel: str) -> list[str]:
        grid = read(site, rel).split('aria-labelledby="all-heading"', 1)[1]
        return re.findall(r'class="card-link" href="[^"]*integrations/([^"]+)/"', grid)

    by_name = order("index.html")
    assert by_name[0] == "jdoe/hostile"  # "<" sorts before letters
    assert by_name.index("aeontel/core-auth") < by_name.index("datapipe/warehouse-loader")
    assert by_name.index("datapipe/warehouse-loader") < by_name.index("stripe/payments")
    assert order("updated/index.html")[0] == "jdoe/hostile"
    assert sorted(by_name) == sorted(order("updated/index.html"))


def test_listings_paginate_on_the_server(
    catalog_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    out = _build(catalog_root, tmp_path / "site")
    assert (out / "page/2/index.html").is_file() and (out / "updated/page/3/index.html").is_file()
    second = read(out, "page/2/index.html")
    assert 'href="../../" rel="prev"' in second and 'href="../../page/3/" rel="next"' in second
    assert 'aria-current="page" aria-label="Page 2"' in second
    shown = [
        re.findall(r'class="card-link" href="[^"]*integrations/([^"]+)/"', read(out, rel))
        for rel in html_pages(out)
        if re.fullmatch(r"(page/\d+/)?index\.html", rel)
    ]
    assert all(len(cards) <= 3 for cards in shown)
    assert len({key for cards in shown for key in cards}) == sum(len(c) for c in shown)


def test_the_search_index_holds_only_what_search_needs(site: Path) -> None:
    search = json.loads(read(site, "api/v1/search.json"))
    entry = next(e for e in search["integrations"] if e["key"] == "stripe/payments")
    assert set(entry) == {
        "key", "name", "publisher", "description", "tier", "auth", "version", "members",
        "url", "icon", "hue", "updated",
    }  # fmt: skip
    assert entry["url"] == "integrations/stripe/payments/"
    assert entry["icon"] == "api/v1/icons/stripe/payments.svg"
    assert entry["version"] == "1.1.0" and "payments-connector" in entry["members"]
    assert search["publishers"]["stripe"] == "Stripe"


def test_the_feed_holds_the_newest_releases_of_listed_integrations(site: Path) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring((site / "feed.xml").read_bytes())
    entries = feed.findall(f"{atom}entry")
    titles = [e.findtext(f"{atom}title") for e in entries]
    dates = [e.findtext(f"{atom}updated") or "" for e in entries]
    assert dates == sorted(dates, reverse=True)
    assert 0 < len(entries) <= 50
    assert titles[0] == f"{HOSTILE_NAME} 1.0.0"
    assert "Stripe Payments 2.0.0-rc.1" in titles
    links = [e.find(f"{atom}link").attrib["href"] for e in entries]  # type: ignore[union-attr]
    assert all(link.startswith(BASE_URL + "integrations/") for link in links)


def test_the_sitemap_and_robots(site: Path) -> None:
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = [
        e.text or "" for e in ET.fromstring((site / "sitemap.xml").read_bytes()).iter(f"{ns}loc")
    ]
    assert BASE_URL in locs and BASE_URL + "integrations/stripe/payments/" in locs
    assert all(target_file(site, loc) is not None for loc in locs)
    assert all(target_file(site, loc).is_file() for loc in locs)  # type: ignore[union-attr]
    assert f"Sitemap: {BASE_URL}sitemap.xml" in read(site, "robots.txt")


# -- the detail page -----------------------------------------------------------------------------


def test_the_detail_page_shows_everything_about_an_integration(site: Path) -> None:
    text = read(site, "integrations/stripe/payments/index.html")
    assert "<h1>Stripe Payments</h1>" in text
    assert 'href="../../../publishers/stripe/"' in text
    assert "Official vendor" in text and "Published by the company whose product" in text
    assert 'href="https://app.aeontel.example/install/stripe/payments"' in text
    for version in ("2.0.0-rc.1", "1.1.0", "1.0.0"):
        assert f'<span class="version-number">{version}</span>' in text
    assert 'href="../../../api/v1/integrations/stripe/payments/versions.json"' in text
    assert 'href="../../../api/v1/integrations/stripe/payments.json"' in text
    assert "<code>accountId</code>" in text and "<code>&#34;usd&#34;</code>" in text
    assert "Authorization: Bearer &lt;key&gt;" in text
    assert "payout-reconciliation" in text and "Forked into your workspace" in text
    assert 'class="prose"' in text and "<h3>Features</h3>" in text  # README, headings demoted
    assert 'href="../../../integrations/stripe/billing-sync/"' in text  # used by


def test_dependencies_link_with_their_ranges(site: Path) -> None:
    text = read(site, "integrations/stripe/billing-sync/index.html")
    deps = text.split('id="deps-heading"', 1)[1].split("</section>", 1)[0]
    assert 'href="../../../integrations/stripe/payments/"' in deps
    assert "&gt;=1.0.0 &lt;3.0.0" in deps and "1.x" in deps
    assert 'href="../../../integrations/hubspot/crm-contacts/"' in deps


def test_used_by_names_only_listed_integrations(site: Path) -> None:
    text = read(site, "integrations/datapipe/warehouse-loader/index.html")
    used_by = text.split('id="used-by-heading"', 1)[1].split("</section>", 1)[0]
    assert "Northwind Invoice OCR" in used_by
    assert "CSV Importer" not in used_by  # unlisted


# -- safety ------------------------------------------------------------------------------------


def test_private_integrations_appear_in_no_byte_of_the_output(site: Path) -> None:
    forbidden = [SECRET.encode(), b"ledger-zq7x", b"audit-log-export", b"Audit Log Export"]
    forbidden += [b"expense-approvals", b"Northwind Expense Approvals", b"ws_aeontel_internal"]
    for path in site.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for word in forbidden:
                assert word not in data, (path, word)


def test_an_internal_build_includes_them(catalog_root: Path, tmp_path: Path) -> None:
    out = _build(catalog_root, tmp_path / "internal", include_private=True)
    text = read(out, "integrations/northwind/ledger-zq7x/index.html")
    assert SECRET in text and 'content="noindex"' in text and "banner-warn" in text


def test_a_dependency_on_an_excluded_integration_is_not_shown(tmp_path: Path) -> None:
    repo = GitCatalog(tmp_path / "catalog")
    repo.write("integrations/acme/secret-thing/integration.yaml", PRIVATE_YAML)
    repo.write(
        "integrations/acme/open/integration.yaml",
        'name: "Open"\nworkspaceId: "ws"\nvisibility: public\nmanifest:\n'
        '  dependencies:\n    acme/secret-thing: "^1.0.0"\n',
    )
    repo.commit("2025-01-01T00:00:00Z")
    repo.tag("acme/secret-thing/v1.0.0")
    repo.tag("acme/open/v1.0.0")
    catalog = load_catalog(repo.root).catalog  # the validator refuses it; the site must too
    published = Published(
        catalog, BASE_URL, include_private=False, generated_at="2025-01-02T00:00:00Z"
    )
    files = dict(rendered(site_files(published)))
    assert "integrations/acme/open/index.html" in files
    for path, data in files.items():
        assert b"secret-thing" not in data and SECRET.encode() not in data, path
    deps = files["integrations/acme/open/index.html"].decode().split('id="deps-heading"', 1)[1]
    assert "None: it works on its own." in deps.split("</section>", 1)[0]


APP_JS = r"(\./|(\.\./)+|/some/prefix/)static/app\.[0-9a-f]{8}\.js"


def test_hostile_input_is_only_ever_escaped(site: Path) -> None:
    for rel in html_pages(site):
        text = read(site, rel)
        page = Page(text)
        scripts = page.all("script")
        assert len(scripts) == 1, rel
        assert re.fullmatch(APP_JS, scripts[0].attrs["src"]), rel
        assert not page.script_text, rel
        assert text.count("</script>") == 1, rel
        for element in page.elements:
            assert not [a for a in element.attrs if a.startswith("on")], (rel, element)
            assert "style" not in element.attrs, (rel, element)
            for name in ("href", "src", "action"):
                scheme = urlsplit(element.attrs.get(name, "")).scheme
                assert scheme in ("", "http", "https"), (rel, element)
        assert "<iframe" not in text and "<svg onload" not in text, rel
    detail = read(site, "integrations/jdoe/hostile/index.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in detail
    assert "&lt;img src=x onerror=alert(6)&gt;" in detail
    assert "&lt;svg onload=alert(8)&gt;" in detail
    assert "&lt;script&gt;alert(13)&lt;/script&gt;" in detail  # raw HTML in the README: text
    assert "[click me](javascript:alert(15))" in detail  # a forbidden link stays text
    assert (
        '<a href="https://example.test/docs" rel="nofollow ugc noopener noreferrer">ok</a>'
        in detail
    )
    assert '<a href="docs/setup.md">rel</a>' in detail
    assert "images.example.test" in detail and '<img src="https://images' not in detail


def test_the_search_index_is_json_not_html(site: Path) -> None:
    search = json.loads(read(site, "api/v1/search.json"))
    assert any(e["name"] == HOSTILE_NAME for e in search["integrations"])


# -- markdown and templates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com/a", True),
        ("http://example.com/a", True),
        ("docs/a.md", True),
        ("#section", True),
        ("../up", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,x", False),
        ("vbscript:x", False),
        ("mailto:a@example.com", False),
        ("https://", False),
        ("java\tscript:alert(1)", False),
    ],
)
def test_readme_links(url: str, allowed: bool) -> None:
    assert allowed_link(url) is allowed


def test_readme_headings_move_below_the_page_title() -> None:
    html = render_markdown("# Widget\n\nIntro\n\n## Setup\n\n###### Deep\n", "Widget")
    assert "<h1" not in html and "Widget" not in html
    assert "<h3>Setup</h3>" in html and "<h6>Deep</h6>" in html
    assert "<h2>Other</h2>" in render_markdown("# Other\n", "Widget")


def test_a_catalog_may_bring_its_own_templates(catalog_root: Path, tmp_path: Path) -> None:
    own = tmp_path / "catalog"
    shutil.copytree(catalog_root, own, ignore=shutil.ignore_patterns(".git"), symlinks=True)
    shutil.copytree(catalog_root / ".git", own / ".git")
    shutil.copytree(REPO / "templates", own / "templates")
    base = own / "templates" / "base.html"
    base.write_text(base.read_text().replace("<body>", "<body>\n<!-- our own theme -->"))
    result = CliRunner().invoke(
        main, ["--root", str(own), "build", "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "<!-- our own theme -->" in read(tmp_path / "out", "index.html")


def test_templates_escape_and_reject_unknown_variables() -> None:
    env = environment(template_dir(REPO), {})
    assert env.autoescape is True
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nothing_here }}").render()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    safe = env.filters["safe_url"]
    assert safe("https://ok.example/x") == "https://ok.example/x"
    for bad in ("http://x.example", "javascript:alert(1)", "//x.example", "https://u:p@x.example"):
        assert safe(bad) == ""


def test_safe_url_refuses_exactly_the_urls_with_whitespace_or_control_characters() -> None:
    """Each code point up to past the last whitespace one (U+3000), and the last ones, inside an
    otherwise good URL: refused if and only if Python calls it whitespace or it is a C0
    control or DEL."""
    codes = [*range(0x3100), *range(0x10FF00, 0x110000)]
    refused = [
        code
        for code in codes
        if safe_url(f"https://x.example/a{chr(code)}b") == ""
        and chr(code) not in "#?/\\@:%"  # characters that change what the URL says
    ]
    unsafe = [code for code in codes if chr(code).isspace() or code < 0x20 or code == 0x7F]
    assert refused == unsafe


def test_a_pages_fingerprint_names_what_it_shows() -> None:
    """The same context gives the same fingerprint in every build; markup (shown as it is)
    and text (escaped) differ, as do named tuples and plain ones, and the salt; a context
    JSON cannot hold is fingerprinted by its repr."""
    tier = pages.TIERS["community"]
    context = {"readme": Markup("<b>x</b>"), "tier": tier, "rows": (1, 2)}
    same = pages.fingerprint("salt", {"readme": Markup("<b>x</b>"), "tier": tier, "rows": (1, 2)})
    assert pages.fingerprint("salt", context) == same
    others = [
        {**context, "readme": "<b>x</b>"},
        {**context, "tier": tuple(tier)},
        {**context, "rows": (1, 3)},
        {**context, "rows": (1, 2.0)},
        {"tier": tier, "readme": Markup("<b>x</b>"), "rows": (1, 2)},
    ]
    found = {pages.fingerprint("salt", other) for other in others}
    assert len(found) == len(others) and same not in found
    assert pages.fingerprint("other salt", context) != same
    assert pages.fingerprint("salt", {1: "a"}) != pages.fingerprint("salt", {"1": "a"})
