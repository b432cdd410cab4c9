"""Search and filters on the home page: typing narrows the cards, every filter works alone and
with the others, the query lives in the URL, and the keyboard alone can do all of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browsing import Site, Tab
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

RESULTS = "#results-list .card-title"


def index(site: Site) -> list[dict[str, Any]]:
    data = json.loads((site.out / "api/v1/search.json").read_text())
    entries: list[dict[str, Any]] = data["integrations"]
    return entries


def expected(site: Site, keep: Callable[[dict[str, Any]], bool], drafts: bool = False) -> set[str]:
    return {e["name"] for e in index(site) if keep(e) and (drafts or e["version"] is not None)}


def text_of(site: Site, entry: dict[str, Any]) -> str:
    """What the search reads: name, description, publisher id and name, member keys."""
    publishers = json.loads((site.out / "api/v1/search.json").read_text())["publishers"]
    parts = [entry["name"], entry["description"], entry["publisher"]]
    parts += [publishers[entry["publisher"]], *entry["members"]]
    return " ".join(parts).lower()


def shown(page: Page, count: int) -> set[str]:
    """The result cards once the status says `count` of them match."""
    noun = "integration" if count == 1 else "integrations"
    expect(page.locator("#results-status")).to_contain_text(f"{count} {noun} match")
    expect(page.locator(RESULTS)).to_have_count(count)
    return set(page.locator(RESULTS).all_inner_texts())


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_the_index_is_fetched_on_first_use_only(tab: Tab, site: Site) -> None:
    tab.page.goto(site.url)
    expect(tab.page.locator("[data-browse] .card").first).to_be_visible()
    assert not tab.requested(r"search\.json")
    with tab.page.expect_response(lambda r: r.url.endswith("/api/v1/search.json")):
        tab.page.locator("#q").focus()
    tab.page.locator("#q").fill("slack")
    tab.page.locator("#q").fill("slack git")
    assert len(tab.requested(r"search\.json")) == 1


def test_typing_narrows_the_cards_and_updates_the_url(tab: Tab, site: Site) -> None:
    page = tab.page
    page.goto(site.url)
    browse = page.locator("[data-browse] .grid .card")
    released = expected(site, lambda e: True)
    expect(browse).to_have_count(len(released))

    page.locator("#q").press_sequentially("slack")
    broad = shown(page, len(expected(site, lambda e: "slack" in text_of(site, e))))
    assert "Slack Alerts" in broad and len(broad) < len(released)
    expect(page.locator("[data-browse]")).to_be_hidden()
    assert query(page) == {"q": ["slack"]}

    page.locator("#q").press_sequentially(" git")
    assert shown(page, 1) == {"GitHub Issues to Slack"}
    assert query(page) == {"q": ["slack git"]}

    page.locator("#q").fill("payout-reconciliation")  # a member's key
    assert shown(page, 1) == {"Stripe Payments"}

    page.locator("#q").fill("")
    expect(page.locator("#results")).to_be_hidden()
    expect(browse).to_have_count(len(released))
    assert urlsplit(page.url).query == ""
    assert not tab.errors and not tab.outside


def test_each_filter_works_alone(tab: Tab, site: Site) -> None:
    page = tab.page
    page.goto(site.url)
    cases = [
        ("#f-tier", "vendor_official", lambda e: e["tier"] == "vendor_official"),
        ("#f-publisher", "aeontel", lambda e: e["publisher"] == "aeontel"),
        ("#f-auth", "api_key", lambda e: e["auth"] == "api_key"),
    ]
    for selector, value, keep in cases:
        page.locator(selector).select_option(value)
        want = expected(site, keep)
        assert shown(page, len(want)) == want, selector
        assert query(page) == {selector.removeprefix("#f-"): [value]}
        page.locator(selector).select_option("")
        expect(page.locator("#results")).to_be_hidden()

    page.locator("#f-drafts").check()
    everything = expected(site, lambda e: True, drafts=True)
    assert shown(page, len(everything)) == everything
    assert "Stripe Billing Sync" in everything - expected(site, lambda e: True)
    expect(page.locator("#results-list .card.is-draft .badge.draft")).to_have_count(
        len(everything - expected(site, lambda e: True))
    )
    assert query(page) == {"drafts": ["1"]}
    assert not tab.errors and not tab.outside


def test_filters_and_the_query_combine(tab: Tab, site: Site) -> None:
    page = tab.page
    page.goto(site.url)
    page.locator("#f-tier").select_option("vendor_official")
    page.locator("#f-auth").select_option("api_key")
    assert shown(page, 1) == {"Stripe Payments"}  # Billing Sync is a draft
    page.locator("#f-drafts").check()
    assert shown(page, 2) == {"Stripe Payments", "Stripe Billing Sync"}
    page.locator("#q").fill("billing")
    assert shown(page, 1) == {"Stripe Billing Sync"}
    page.locator("#f-publisher").select_option("hubspot")
    expect(page.locator("#results-empty")).to_be_visible()
    assert query(page) == {
        "q": ["billing"],
        "tier": ["vendor_official"],
        "publisher": ["hubspot"],
        "auth": ["api_key"],
        "drafts": ["1"],
    }
    page.get_by_role("button", name="Clear all").click()
    expect(page.locator("#results")).to_be_hidden()
    assert urlsplit(page.url).query == ""
    assert not tab.errors and not tab.outside


def test_a_shared_or_reloaded_url_restores_the_search(tab: Tab, site: Site) -> None:
    page = tab.page
    page.goto(site.url + "?q=sync&auth=oauth2&drafts=1")
    want = expected(
        site, lambda e: e["auth"] == "oauth2" and "sync" in text_of(site, e), drafts=True
    )
    first = shown(page, len(want))
    assert first == want
    expect(page.locator("#q")).to_have_value("sync")
    expect(page.locator("#f-auth")).to_have_value("oauth2")
    expect(page.locator("#f-drafts")).to_be_checked()
    page.reload()
    assert shown(page, len(want)) == first
    expect(page.locator("#f-auth")).to_have_value("oauth2")
    assert len(tab.requested(r"search\.json")) == 2  # once per page load, on load
    assert not tab.errors and not tab.outside


def test_the_sort_control_keeps_the_query(tab: Tab, site: Site) -> None:
    page = tab.page
    page.goto(site.url)
    page.locator("#f-tier").select_option("first_party")
    link = page.get_by_role("link", name="Last updated")
    expect(link).to_have_attribute("href", "./updated/?tier=first_party")
    link.click()
    page.wait_for_url("**/updated/?tier=first_party")
    expect(page.get_by_role("link", name="Last updated")).to_have_attribute("aria-current", "page")
    expect(page.locator("#f-tier")).to_have_value("first_party")
    want = expected(site, lambda e: e["tier"] == "first_party")
    assert shown(page, len(want)) == want


def focused(page: Page) -> str:
    value: str = page.evaluate("document.activeElement.id || document.activeElement.tagName")
    return value


def test_keyboard_alone_reaches_and_uses_the_filters(tab: Tab, site: Site) -> None:
    page = tab.page
    page.goto(site.url)
    for _ in range(12):
        page.keyboard.press("Tab")
        if focused(page) == "q":
            break
    assert focused(page) == "q"
    page.keyboard.type("a")
    expect(page.locator("#results")).to_be_visible()

    page.keyboard.press("Tab")
    assert focused(page) == "f-tier"
    outline = "getComputedStyle(document.activeElement.closest('.pill')).outlineStyle"
    assert page.evaluate(outline) == "solid"  # focus is visible
    page.keyboard.press("ArrowDown")
    first_tier = page.locator("#f-tier option").nth(1).get_attribute("value")
    expect(page.locator("#f-tier")).to_have_value(first_tier or "")
    page.wait_for_function("location.search.includes('tier=')")

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "f-auth"
    page.keyboard.press("Tab")
    assert focused(page) == "f-drafts"
    assert page.evaluate(outline) == "solid"
    page.keyboard.press("Space")
    expect(page.locator("#f-drafts")).to_be_checked()
    page.wait_for_function("location.search.includes('drafts=1')")
    assert query(page)["q"] == ["a"] and query(page)["tier"] == [first_tier]

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Clear all"
    page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_hidden()
    assert focused(page) == "q"

    page.locator("h1").click()
    page.keyboard.press("/")
    assert focused(page) == "q"
    assert not tab.errors and not tab.outside
