"""Every page of the sample site in a real browser: what the detail page shows, no console
error and no request outside the site anywhere, the site under a path prefix, without
JavaScript, and contrast in both colour schemes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from browsing import Site, Tab
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_the_detail_page_shows_versions_variables_auth_and_dependencies(
    tab: Tab, site: Site
) -> None:
    page = tab.page
    page.goto(site.url + "integrations/aeontel/slack-alerts/")
    expect(page.locator("h1")).to_have_text("Slack Alerts")
    expect(page.locator(".detail-head .badge.tier")).to_have_text("First party")
    expect(page.locator(".trust-panel")).to_contain_text("Built, maintained and supported")
    install = page.get_by_role("link", name="Install v1.2.0")
    expect(install).to_have_attribute(
        "href", "https://app.aeontel.example/install/aeontel/slack-alerts"
    )

    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("1.2.0")
    expect(versions.nth(0)).to_contain_text("Current")
    expect(versions.nth(1)).to_contain_text("1.0.0")
    snapshot = versions.nth(0).get_by_role("link", name="versions.json")
    response = page.request.get(snapshot.evaluate("a => a.href"))
    assert response.ok and response.json()["currentVersion"] == "1.2.0"

    variables = page.locator("table.variables tbody tr")
    expect(variables.filter(has_text="defaultChannel")).to_contain_text("Required")
    expect(variables.filter(has_text="minimumSeverity")).to_contain_text('"warning"')
    expect(variables.filter(has_text="minimumSeverity")).to_contain_text('"critical"')

    auth = page.locator("section[aria-labelledby='auth']")
    expect(auth).to_contain_text("OAuth 2.0")
    expect(auth).to_contain_text("chat:write")

    dependency = page.locator("section[aria-labelledby='deps-heading'] li")
    expect(dependency).to_contain_text("^1.0.0")
    dependency.get_by_role("link", name="Aeontel Core Auth").click()
    page.wait_for_url("**/integrations/aeontel/core-auth/")
    expect(page.locator("h1")).to_have_text("Aeontel Core Auth")
    expect(page.locator(".prose h3").first).to_be_visible()  # the README
    used_by = page.locator("section[aria-labelledby='used-by-heading']")
    expect(used_by.get_by_role("link", name="Slack Alerts")).to_be_visible()
    assert not tab.errors and not tab.outside


def test_a_withdrawn_integration_shows_a_banner(tab: Tab, site: Site) -> None:
    tab.page.goto(site.url + "integrations/stripe/legacy-checkout/")
    expect(tab.page.locator(".banner-danger")).to_contain_text("withdrawn")
    expect(tab.page.get_by_role("link", name="Install")).to_have_count(0)


def visit_all(tab: Tab, site: Site) -> list[str]:
    visited = []
    for path in site.pages():
        response = tab.page.goto(site.url + path)
        assert response is not None and response.ok, path
        expect(tab.page.locator("h1")).to_have_count(1)
        visited.append(path)
    return visited


def test_every_page_loads_without_console_errors_or_outside_requests(tab: Tab, site: Site) -> None:
    visited = visit_all(tab, site)
    assert len(visited) >= 25
    assert tab.errors == []
    assert tab.outside == []
    assert tab.icons, "the integrations' own icons were requested (and answered locally)"
    assert set(tab.icons) <= site.icons()


def test_a_missing_page_gets_the_404_page(tab: Tab, site: Site) -> None:
    response = tab.page.goto(site.url + "no/such/page/")
    assert response is not None and response.status == 404
    expect(tab.page.locator("h1")).to_have_text("Page not found")
    background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(250, 250, 250)"  # the stylesheet loaded from this depth
    tab.page.get_by_role("link", name="Browse integrations").click()
    tab.page.wait_for_url(site.url)
    assert tab.outside == []


@pytest.fixture
def prefixed_tab(open_tab: Callable[..., Tab], prefixed_site: Site) -> Tab:
    return open_tab()


def test_the_site_works_under_a_path_prefix(prefixed_tab: Tab, prefixed_site: Site) -> None:
    tab, site = prefixed_tab, prefixed_site
    assert site.url.endswith("/some/prefix/")
    page = tab.page
    page.goto(site.url)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 250)"
    page.locator("#q").fill("payments")
    link = page.locator("#results-list .card-link", has_text="Stripe Payments")
    expect(link).to_have_attribute("href", site.url + "integrations/stripe/payments/")
    link.click()
    page.wait_for_url(site.url + "integrations/stripe/payments/")
    expect(page.locator("table.versions tbody tr")).to_have_count(2)
    page.get_by_role("link", name="How trust tiers work").click()
    page.wait_for_url(site.url + "trust/")
    page.goto(site.url + "404.html")
    page.get_by_role("link", name="Publishers").first.click()
    page.wait_for_url(site.url + "publishers/")
    for path in ("updated/", "publishers/stripe/", "integrations/jdoe/github-issues/", "trust/"):
        page.goto(site.url + path)
        expect(page.locator("h1")).to_have_count(1)
    assert tab.requests and all(url.startswith(site.url) for url in tab.requests)
    assert tab.errors == [] and tab.outside == []


def test_browsing_works_without_javascript(open_tab: Callable[..., Tab], site: Site) -> None:
    tab = open_tab(javascript=False)
    page = tab.page
    page.goto(site.url)
    expect(page.locator("[data-browse] .grid .card").first).to_be_visible()
    expect(page.locator("noscript")).to_have_count(1)
    page.get_by_role("link", name="Last updated").click()
    page.wait_for_url(site.url + "updated/")
    page.locator(".card-link").first.click()
    expect(page.locator("table.versions")).to_be_visible()


CONTRAST = """() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let color = {r: 255, g: 255, b: 255, a: 1};
    for (let i = layers.length - 1; i >= 0; i--) color = over(layers[i], color);
    return color;
  };
  const luminance = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const failures = [];
  let checked = 0;
  for (const element of document.querySelectorAll("body *")) {
    const text = Array.from(element.childNodes).filter((n) => n.nodeType === 3)
      .map((n) => n.textContent).join("").trim();
    if (!text || !element.getClientRects().length) continue;
    if (element.closest("[hidden], template, noscript, .visually-hidden, .skip-link")) continue;
    const style = getComputedStyle(element);
    const fg = parse(style.color);
    if (!fg || fg.a === 0 || style.visibility !== "visible") continue;
    const bg = background(element);
    const l1 = luminance(over(fg, bg)), l2 = luminance(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    checked += 1;
    const where = `${element.tagName}.${element.className} "${text.slice(0, 30)}"`;
    if (ratio < needed) failures.push(`${where} ${ratio.toFixed(2)}`);
  }
  return {checked, failures};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa(open_tab: Callable[..., Tab], site: Site, scheme: str) -> None:
    tab = open_tab(color_scheme=scheme)
    page: Page = tab.page
    for path in (
        "?drafts=1",
        "integrations/aeontel/slack-alerts/",
        "integrations/stripe/legacy-checkout/",
        "integrations/brightloop/nps-surveys/",
        "trust/",
        "publishers/",
        "404.html",
    ):
        page.goto(site.url + path)
        if path.startswith("?"):
            expect(page.locator("#results-list .card").first).to_be_visible()
            page.locator("#f-tier").focus()
        result = page.evaluate(CONTRAST)
        assert result["checked"] > 10, path
        assert result["failures"] == [], (scheme, path)
