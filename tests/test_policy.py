"""Catalog policy over the whole catalog: dependencies (existence, ranges, what is published,
visibility, deletion, cycles, published snapshots), yanked versions, trust tiers and names that
imitate more trusted publishers.

Every test builds a real git repository with real tags (see `gitrepo_fixtures`); diagnostics
are asserted with their code, file, line and column.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_fixtures import (
    DAY,
    cli,
    codes,
    get,
    integration,
    isolated_git,  # noqa: F401 - autouse
    load,
    position,
    release,
    where,
    with_code,
    write,
    yaml_path,
)
from gitrepo_fixtures import GitCatalog
from integration_catalog.diagnostics import Severity
from integration_catalog.policy import _neighbours, _one_edit_apart, resolves, skeleton

PUBLISHERS = """\
acme:
  name: "Acme"
  trustTiers: [verified_publisher]
stripe:
  name: "Stripe"
  trustTiers: [vendor_official]
globex:
  name: "Globex"
  trustTiers: [verified_partner, verified_publisher]
"""
APP = "acme/app"
BASE = "acme/base"


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    repo = GitCatalog(tmp_path / "repo")
    repo.write("publishers.yaml", PUBLISHERS)
    return repo


def published_base(repo: GitCatalog, *versions: str) -> None:
    """`acme/base` committed and tagged with these versions (all on one commit)."""
    write(repo, BASE, integration("Base"))
    release(repo, DAY.format(1), *(f"{BASE}/v{version}" for version in versions))


# -- dependencies ---------------------------------------------------------------------------


def test_dependencies_that_resolve_are_silent(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0", "1.2.0", "2.0.0-rc.1")
    write(repo, "globex/lib", integration("Lib", visibility="unlisted"))
    release(repo, DAY.format(2), "globex/lib/v0.3.1")
    ranges = {BASE: ">=1.1.0 <2.0.0 || 3.x", "globex/lib": "~0.3"}
    write(repo, APP, integration("App", dependencies=ranges))
    write(repo, "acme/other", integration("Other", dependencies={BASE: "1.x", APP: "*"}))
    write(repo, "acme/hidden", integration("Hidden", visibility="private"))
    release(repo, DAY.format(3), "acme/hidden/v1.0.0", f"{APP}/v1.0.0")
    # private -> private and private -> public are both fine
    internal = {"acme/hidden": "1", BASE: "1"}
    write(repo, "acme/internal", integration("In", visibility="private", dependencies=internal))
    release(repo, DAY.format(4))

    result = load(repo)

    assert result.diagnostics == []
    base = get(result, BASE)
    assert resolves(base, "^1.0.0") == "1.2.0"
    assert resolves(base, "^2.0.0-rc.0") == "2.0.0-rc.1"  # npm: pre-releases only when asked
    assert resolves(base, "^2.0.0") is None
    assert cli(repo.root, "validate").exit_code == 0


def test_unknown_dependency_suggests_a_near_miss(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0")
    text = write(
        repo,
        APP,
        integration("App", dependencies={"acme/bsae": "^1.0.0", "nobody/nothing-alike": "*"}),
    )
    release(repo, DAY.format(2))

    result = load(repo)

    near, far = with_code(result, "dependency-unknown")
    assert where(near) == (yaml_path(APP), *position(text, "acme/bsae"))
    assert near.message == "`acme/bsae` is not in the catalog"
    assert near.hint == "did you mean `acme/base`?"
    assert near.severity is Severity.ERROR
    assert where(far) == (yaml_path(APP), *position(text, "nobody/nothing-alike"))
    assert far.hint == "name an integration of this catalog"
    assert codes(result) == ["dependency-unknown"] * 2


def test_invalid_range_is_reported_at_the_range(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0")
    bad = {BASE: "^^1", "acme/base-two": ">=1.0.0 <", "acme/base-three": "latest"}
    text = write(repo, APP, integration("App", dependencies=bad))
    write(repo, "acme/base-two", integration("Two"))
    write(repo, "acme/base-three", integration("Three"))
    release(repo, DAY.format(2), "acme/base-two/v1.0.0", "acme/base-three/v1.0.0")

    result = load(repo)

    invalid = with_code(result, "dependency-invalid")
    assert [where(d) for d in invalid] == [
        (yaml_path(APP), *position(text, '"^^1"')),
        (yaml_path(APP), *position(text, '">=1.0.0 <"')),
        (yaml_path(APP), *position(text, '"latest"')),
    ]
    assert "`^^1` is not a valid version range for `acme/base`" in invalid[0].message
    assert all(d.hint is not None and "^1.2.0" in d.hint for d in invalid)
    # A range that does not parse is not also reported as unsatisfied.
    assert codes(result) == ["dependency-invalid"] * 3


def test_malformed_dependency_key_is_reported_once(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0")
    text = write(repo, APP, integration("App", dependencies={"Acme/Base": "1.x", "base": "1"}))
    release(repo, DAY.format(2))

    result = load(repo)

    assert codes(result) == ["dependency-invalid"] * 2
    first, second = result.diagnostics
    assert where(first) == (yaml_path(APP), *position(text, "Acme/Base"))
    assert where(second) == (yaml_path(APP), *position(text, "base:"))
    assert "`Acme/Base` is not `publisher/slug`" in first.message


def test_unsatisfied_range_lists_the_published_versions(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0", "1.2.0", "2.0.0")
    write(repo, "acme/draft", integration("Draft"))
    text = write(repo, APP, integration("App", dependencies={BASE: "^3.0.0", "acme/draft": "*"}))
    release(repo, DAY.format(2))

    result = load(repo)

    on_base, on_draft = with_code(result, "dependency-unsatisfied")
    assert where(on_base) == (yaml_path(APP), *position(text, '"^3.0.0"'))
    assert on_base.message == (
        "no published version of `acme/base` satisfies `^3.0.0`; published: 2.0.0, 1.2.0, 1.0.0"
    )
    assert on_base.hint is not None and "widen the range" in on_base.hint
    assert where(on_draft) == (yaml_path(APP), *position(text, '"*"'))
    assert on_draft.message.endswith("published: none (it is a draft)")
    assert codes(result) == ["dependency-unsatisfied"] * 2

    run = cli(repo.root, "validate")
    assert run.exit_code == 1
    line, column = position(text, '"^3.0.0"')
    assert f"integrations/acme/app/integration.yaml:{line}:{column}: " in run.stdout


def test_public_and_unlisted_may_not_depend_on_private(repo: GitCatalog) -> None:
    write(repo, "acme/secret-sauce", integration("Sauce", visibility="private"))
    write(repo, "acme/shared", integration("Shared", visibility="unlisted"))
    release(repo, DAY.format(1), "acme/secret-sauce/v1.0.0", "acme/shared/v1.0.0")
    public = write(repo, APP, integration("App", dependencies={"acme/secret-sauce": "1"}))
    unlisted = write(
        repo,
        "acme/quiet",
        integration("Quiet", visibility="unlisted", dependencies={"acme/secret-sauce": "1"}),
    )
    write(
        repo,
        "acme/fine",
        integration("Fine", dependencies={"acme/shared": "1"}),  # public -> unlisted is fine
    )
    write(
        repo,
        "acme/inside",
        integration("Inside", visibility="private", dependencies={"acme/secret-sauce": "1"}),
    )
    release(repo, DAY.format(2))

    result = load(repo)

    from_public, from_unlisted = with_code(result, "dependency-private")
    assert where(from_public) == (yaml_path(APP), *position(public, "acme/secret-sauce"))
    assert from_public.message == (
        "a public integration may not depend on a private one (`acme/secret-sauce`)"
    )
    assert where(from_unlisted) == (
        yaml_path("acme/quiet"),
        *position(unlisted, "acme/secret-sauce"),
    )
    assert from_unlisted.message == (
        "an unlisted integration may not depend on a private one (`acme/secret-sauce`)"
    )
    assert codes(result) == ["dependency-private"] * 2


def test_dependency_on_a_deleted_integration_is_a_warning(repo: GitCatalog) -> None:
    write(repo, "acme/retired", integration("Retired"))
    write(repo, "acme/gone", integration("Gone"))
    release(repo, DAY.format(1), "acme/retired/v1.0.0", "acme/gone/v1.0.0")
    write(repo, "acme/retired", integration("Retired", extra='deletedAt: "2024-02-01T00:00:00Z"\n'))
    repo.remove("integrations/acme/gone")  # a tombstone: its tag keeps it published
    text = write(
        repo, APP, integration("App", dependencies={"acme/retired": "1", "acme/gone": "1"})
    )
    release(repo, DAY.format(5))

    result = load(repo)

    assert get(result, "acme/gone").tombstone
    retired, gone = with_code(result, "dependency-deleted")
    assert where(retired) == (yaml_path(APP), *position(text, "acme/retired"))
    assert retired.severity is Severity.WARNING
    assert retired.message == "`acme/retired` was deleted on 2024-02-01T00:00:00Z"
    assert where(gone) == (yaml_path(APP), *position(text, "acme/gone"))
    assert gone.message == "`acme/gone` was deleted on 2024-01-05T00:00:00Z"
    assert codes(result) == ["dependency-deleted"] * 2
    assert cli(repo.root, "validate").exit_code == 0  # warnings only


# -- cycles ---------------------------------------------------------------------------------


def test_cycles_are_reported_once_each_with_the_whole_cycle(repo: GitCatalog) -> None:
    keys = ["acme/a", "acme/b", "acme/c", "acme/d", "acme/e", "acme/self", "acme/tail"]
    edges = {
        "acme/a": {"acme/b": "1"},
        "acme/b": {"acme/c": "1"},
        "acme/c": {"acme/a": "1"},  # a -> b -> c -> a
        "acme/d": {"acme/e": "1", "acme/a": "1"},
        "acme/e": {"acme/d": "1"},  # d -> e -> d, and d leads into the first cycle
        "acme/self": {"acme/self": "1"},
        "acme/tail": {"acme/a": "1", "acme/d": "1"},  # depends on cycles, is in none
    }
    for key in keys:
        write(repo, key, integration(key))
    release(repo, DAY.format(1), *(f"{key}/v1.0.0" for key in keys))
    texts = {key: write(repo, key, integration(key, dependencies=edges[key])) for key in keys}
    release(repo, DAY.format(2))

    result = load(repo)

    cycles = with_code(result, "dependency-cycle")
    assert [(d.path, d.message) for d in cycles] == [
        (yaml_path("acme/a"), "dependency cycle: acme/a -> acme/b -> acme/c -> acme/a"),
        (yaml_path("acme/d"), "dependency cycle: acme/d -> acme/e -> acme/d"),
        (yaml_path("acme/self"), "dependency cycle: acme/self -> acme/self"),
    ]
    # Each is reported at the first step of the cycle in the first integration's file.
    assert (cycles[0].line, cycles[0].column) == position(texts["acme/a"], "acme/b:")
    assert (cycles[1].line, cycles[1].column) == position(texts["acme/d"], "acme/e:")
    assert (cycles[2].line, cycles[2].column) == position(texts["acme/self"], "acme/self:")
    assert all(d.severity is Severity.ERROR for d in cycles)
    assert codes(result) == ["dependency-cycle"] * 3

    run = cli(repo.root, "validate")
    assert run.exit_code == 1
    assert "acme/a -> acme/b -> acme/c -> acme/a" in run.stdout


def test_a_diamond_is_no_cycle(repo: GitCatalog) -> None:
    graph = {
        "acme/top": {"acme/left": "1", "acme/right": "1"},
        "acme/left": {"acme/bottom": "1"},
        "acme/right": {"acme/bottom": "1"},
        "acme/bottom": {},
    }
    for key, dependencies in graph.items():
        write(repo, key, integration(key, dependencies=dependencies))
    release(repo, DAY.format(1), *(f"{key}/v1.0.0" for key in graph))

    assert load(repo).diagnostics == []


def test_a_cycle_longer_than_the_recursion_limit(repo: GitCatalog) -> None:
    count = 1050  # deeper than Python's default recursion limit of 1000
    names = [f"acme/n{index:04}" for index in range(count)]
    for index, key in enumerate(names):
        write(repo, key, integration("N", dependencies={names[(index + 1) % count]: "*"}))
    repo.commit(DAY.format(1))

    result = load(repo)

    [cycle] = with_code(result, "dependency-cycle")
    assert cycle.path == yaml_path(names[0])
    assert cycle.message == "dependency cycle: " + " -> ".join([*names, names[0]])


# -- published snapshots ----------------------------------------------------------------------


def test_snapshot_dependencies_are_checked_against_todays_catalog(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0", "2.0.0")
    write(repo, "acme/helper", integration("Helper"))
    release(repo, DAY.format(2), "acme/helper/v1.0.0")
    write(repo, APP, integration("App", dependencies={BASE: "~1.0.0", "acme/helper": "1"}))
    release(repo, DAY.format(3), f"{APP}/v1.0.0")
    # Since then: base withdrew 1.0.0, helper went private; today's app needs neither.
    write(repo, BASE, integration("Base", yanked={"1.0.0": "loses data"}))
    write(repo, "acme/helper", integration("Helper", visibility="private"))
    write(repo, APP, integration("App", dependencies={BASE: "^2.0.0"}))
    release(repo, DAY.format(4))

    result = load(repo)

    warnings = with_code(result, "snapshot-dependency")
    assert codes(result) == ["snapshot-dependency"] * 2
    assert all(where(d) == (yaml_path(APP), 1, 1) for d in warnings)
    assert all(d.severity is Severity.WARNING for d in warnings)
    on_base, on_helper = sorted(warnings, key=lambda d: "helper" in d.message)
    assert on_base.message == (
        "published version `acme/app/v1.0.0`: no published version of `acme/base` satisfies "
        "`~1.0.0`; published: 2.0.0 (yanked: 1.0.0)"
    )
    assert on_helper.message.startswith("published version `acme/app/v1.0.0`: ")
    assert "may not depend on a private one (`acme/helper`)" in on_helper.message
    # `validate` checks what a change can fix: published content only with --published
    plain = cli(repo.root, "validate", "--format", "json")
    assert plain.exit_code == 0 and json.loads(plain.stdout)["diagnostics"] == []
    audit = cli(repo.root, "validate", "--published", "--format", "json")
    assert audit.exit_code == 0
    assert [d["code"] for d in json.loads(audit.stdout)["diagnostics"]] == codes(result)


# -- yanked versions --------------------------------------------------------------------------


def test_yanked_versions_are_marked_and_skipped(repo: GitCatalog) -> None:
    published_base(repo, "1.3.0", "1.4.0")
    text = write(repo, BASE, integration("Base", yanked={"1.4.0": "corrupts data on install"}))
    write(repo, APP, integration("App", dependencies={BASE: "~1.4.0"}))
    write(repo, "acme/fine", integration("Fine", dependencies={BASE: "^1.0.0"}))
    release(repo, DAY.format(2))

    result = load(repo)

    base = get(result, BASE)
    assert base.current_version == "1.3.0"  # 1.4.0 is higher but yanked
    assert [(s.version, s.yanked) for s in base.versions] == [
        ("1.4.0", "corrupts data on install"),
        ("1.3.0", None),
    ]
    assert resolves(base, "^1.0.0") == "1.3.0"
    [unsatisfied] = result.diagnostics
    assert unsatisfied.code == "dependency-unsatisfied"
    assert unsatisfied.message.endswith("published: 1.3.0 (yanked: 1.4.0)")
    assert "yanked" in text

    run = cli(repo.root, "versions", BASE, "--format", "json")
    assert run.exit_code == 0
    payload = json.loads(run.stdout)
    assert payload["currentVersion"] == "1.3.0"
    assert [(v["version"], v["yanked"]) for v in payload["versions"]] == [
        ("1.4.0", {"reason": "corrupts data on install"}),
        ("1.3.0", None),
    ]


def test_when_every_version_is_yanked_there_is_no_current_version(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0")
    write(repo, BASE, integration("Base", yanked={"1.0.0": "broken"}))
    write(repo, APP, integration("App", dependencies={BASE: "*"}))
    release(repo, DAY.format(2))

    result = load(repo)

    assert get(result, BASE).current_version is None
    [unsatisfied] = result.diagnostics
    assert unsatisfied.message.endswith("published: none (yanked: 1.0.0)")  # not a draft


def test_yanking_an_unknown_version_is_an_error(repo: GitCatalog) -> None:
    published_base(repo, "1.0.0", "1.1.0")
    text = write(repo, BASE, integration("Base", yanked={"1.1.0": "bad", "1.4.0": "typo"}))
    draft = write(repo, "acme/draft", integration("Draft", yanked={"0.1.0": "never released"}))
    release(repo, DAY.format(2))

    result = load(repo)

    unknown, on_draft = with_code(result, "yank-unknown")
    assert where(unknown) == (yaml_path(BASE), *position(text, '"1.4.0"'))
    assert unknown.message == "cannot yank `1.4.0`: no such published version"
    assert unknown.hint == "published: 1.1.0, 1.0.0"
    assert where(on_draft) == (yaml_path("acme/draft"), *position(draft, '"0.1.0"'))
    assert on_draft.hint == "published: none"
    assert codes(result) == ["yank-unknown"] * 2
    assert get(result, BASE).current_version == "1.0.0"
    assert cli(repo.root, "validate").exit_code == 1


# -- trust tiers ------------------------------------------------------------------------------


def test_trust_tiers_only_as_publishers_yaml_grants(repo: GitCatalog) -> None:
    write(repo, "globex/ok", integration("Ok", trust_tier="verified_partner"))
    write(repo, "zeta/humble", integration("Humble", trust_tier="community"))
    too_high = write(repo, "acme/bold", integration("Bold", trust_tier="vendor_official"))
    unknown = write(repo, "zeta/bold", integration("Zeta", trust_tier="verified_publisher"))
    release(repo, DAY.format(1))

    result = load(repo)

    acme, zeta = with_code(result, "trust-tier-not-granted")
    assert where(acme) == (yaml_path("acme/bold"), *position(too_high, "vendor_official"))
    assert acme.message == (
        "trust tier `vendor_official` is not granted to this publisher "
        "(publishers.yaml grants `acme` only: community, verified_publisher)"
    )
    assert acme.hint is not None and "community, verified_publisher" in acme.hint
    # A publisher directory that publishers.yaml does not list may only claim community.
    assert where(zeta) == (yaml_path("zeta/bold"), *position(unknown, "verified_publisher"))
    assert "`zeta` is not in publishers.yaml" in zeta.message
    assert zeta.hint is not None and zeta.hint.startswith("claim one of: community;")
    assert codes(result) == ["trust-tier-not-granted"] * 2


# -- names that imitate more trusted publishers ------------------------------------------------


def test_names_imitating_a_more_trusted_integration_are_warned(repo: GitCatalog) -> None:
    write(repo, "stripe/payments", integration("Payments", trust_tier="vendor_official"))
    write(repo, "globex/crm", integration("CRM", trust_tier="verified_partner"))
    imitators = {
        "strlpe/payments": "stripe/payments",  # a homoglyph, also one edit away
        "stripes/payments": "stripe/payments",  # one insertion
        "str1pe/payrnents": "stripe/payments",  # 1 for i, rn for m
        "acme/payments": None,  # same slug, but no look-alike of the whole name
        "globex/crn": None,  # the same publisher: no imitation
        "gl0bex/crm": "globex/crm",  # verified_publisher is below verified_partner
        "acme/crm": None,
    }
    for key in imitators:
        tier = "verified_publisher" if key == "gl0bex/crm" else "community"
        write(repo, key, integration(key, trust_tier=tier))
    repo.write(
        "publishers.yaml", PUBLISHERS + 'gl0bex:\n  name: "G"\n  trustTiers: [verified_publisher]\n'
    )
    release(repo, DAY.format(1))

    result = load(repo)

    warned = {d.path: d for d in with_code(result, "name-imitation")}
    expected = {yaml_path(k): v for k, v in imitators.items() if v is not None}
    assert sorted(warned) == sorted(expected)
    for path, original in expected.items():
        warning = warned[path]
        assert (warning.line, warning.column, warning.severity) == (1, 1, Severity.WARNING)
        assert f"looks like `{original}` of a more trusted publisher" in warning.message
    assert "(vendor_official)" in warned[yaml_path("strlpe/payments")].message
    assert codes(result) == ["name-imitation"] * len(expected)
    assert cli(repo.root, "validate").exit_code == 0


def test_equal_tiers_do_not_imitate_each_other(repo: GitCatalog) -> None:
    write(repo, "stripe/payments", integration("P", trust_tier="vendor_official"))
    repo.write(
        "publishers.yaml", PUBLISHERS + 'strlpe:\n  name: "S"\n  trustTiers: [vendor_official]\n'
    )
    write(repo, "strlpe/payments", integration("P", trust_tier="vendor_official"))
    write(repo, "acme/widget", integration("W"))
    write(repo, "zeta/widget", integration("W"))
    release(repo, DAY.format(1))

    assert load(repo).diagnostics == []


_NAME = st.text(alphabet="abc1l-", min_size=1, max_size=5)


@given(st.lists(st.tuples(_NAME, _NAME), max_size=40))
def test_neighbours_are_the_pairs_a_full_comparison_finds(parts: list[tuple[str, str]]) -> None:
    """The shortcut (edit distance between publishers that share a slug) finds exactly the
    pairs that comparing every pair of keys finds."""
    keys = sorted({f"{publisher}/{slug}" for publisher, slug in parts})
    expected = {
        (a, b)
        for a in keys
        for b in keys
        if a < b
        and a.partition("/")[0] != b.partition("/")[0]
        and (skeleton(a) == skeleton(b) or _one_edit_apart(a, b))
    }
    found = {
        pair for pair in _neighbours(keys) if pair[0].partition("/")[0] != pair[1].partition("/")[0]
    }
    assert found == expected
