"""`catalog diff BASE [HEAD]`: what a change does to the published catalog, each change classed
routine or needs-maintainer, in text, markdown and JSON. Every test compares two commits of a
real git repository with real tags.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalog_fixtures import (
    DAY,
    cli,
    integration,
    isolated_git,  # noqa: F401 - autouse
    release,
    write,
)
from gitrepo_fixtures import GitCatalog

ROUTINE, MAINTAINER = "routine", "needs-maintainer"
PUBLISHERS = """\
acme:
  name: "Acme"
  trustTiers: [verified_publisher]
stripe:
  name: "Stripe"
  trustTiers: [vendor_official]
"""


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    """acme/widget 1.0.0 published and stripe/payments 1.0.0 (vendor_official) published."""
    repo = GitCatalog(tmp_path / "repo")
    repo.write("publishers.yaml", PUBLISHERS)
    write(repo, "acme/widget", integration("Widget"))
    write(repo, "stripe/payments", integration("Payments", trust_tier="vendor_official"))
    release(repo, DAY.format(1), "acme/widget/v1.0.0", "stripe/payments/v1.0.0")
    return repo


def diff(repo: GitCatalog, base: str, head: str = "HEAD") -> dict[str, Any]:
    run = cli(repo.root, "diff", base, head, "--format", "json")
    assert run.exit_code == 0
    payload: dict[str, Any] = json.loads(run.stdout)
    return payload


def changes(payload: dict[str, Any]) -> list[tuple[str, str | None, str, str]]:
    """(kind, integration, detail, review) of each change."""
    return [(c["kind"], c["integration"], c["detail"], c["review"]) for c in payload["changes"]]


# -- routine: a publisher editing its own integrations ------------------------------------------


def test_content_edits_new_versions_and_yanks_are_routine(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    write(repo, "acme/widget", integration("Widget", interval=30, extra='description: "New."\n'))
    repo.write("integrations/acme/widget/README.md", "# Widget\n")
    release(repo, DAY.format(2), "acme/widget/v1.1.0")
    write(
        repo,
        "acme/widget",
        integration(
            "Widget", interval=30, extra='description: "New."\n', yanked={"1.0.0": "leaks memory"}
        ),
    )
    head = release(repo, DAY.format(3))

    payload = diff(repo, base, head)

    assert (payload["base"], payload["head"], payload["review"]) == (base, head, ROUTINE)
    assert changes(payload) == [
        ("changed", "acme/widget", "changed: description, manifest", ROUTINE),
        ("yank", "acme/widget", "yanked 1.0.0: leaks memory", ROUTINE),
        ("version", "acme/widget", "new version 1.1.0 (`acme/widget/v1.1.0`)", ROUTINE),
    ]
    assert all(c["reason"] is None for c in payload["changes"])

    text = cli(repo.root, "diff", base, head).stdout
    assert text == (
        f"{base}..{head}: routine (3 changes)\n"
        "- acme/widget: changed: description, manifest\n"
        "- acme/widget: yanked 1.0.0: leaks memory\n"
        "- acme/widget: new version 1.1.0 (`acme/widget/v1.1.0`)\n"
    )
    markdown = cli(repo.root, "diff", base, head, "--format", "markdown").stdout
    assert "**Routine:** a publisher editing its own integrations." in markdown
    assert "| ✅ | acme/widget | new version 1.1.0 (`acme/widget/v1.1.0`) |  |" in markdown
    assert "⚠️" not in markdown


def test_head_defaults_to_head_and_nothing_changed(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    repo.write("integrations/acme/widget/README.md", "# Only prose\n")
    release(repo, DAY.format(2))

    assert diff(repo, base) == {"base": base, "head": "HEAD", "review": ROUTINE, "changes": []}
    markdown = cli(repo.root, "diff", base, "--format", "markdown").stdout
    assert "No change to the published catalog." in markdown
    assert repo.git("worktree", "list").count("\n") == 0  # temporary work trees are gone


ADDED = [  # (slug, visibility, trust tier, review)
    ("open", "public", "community", ROUTINE),
    ("quiet", "unlisted", "verified_publisher", ROUTINE),
    ("inside", "private", "verified_publisher", ROUTINE),
    ("claims", "public", "verified_publisher", MAINTAINER),
]


def test_added_integrations(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    for slug, visibility, tier, _ in ADDED:
        write(repo, f"acme/{slug}", integration(slug, visibility=visibility, trust_tier=tier))
    release(repo, DAY.format(2), "acme/open/v0.1.0")

    payload = diff(repo, base)

    expected = [
        ("added", f"acme/{slug}", f"new {visibility} integration `{slug}` ({tier})", review)
        for slug, visibility, tier, review in sorted(ADDED)
    ]
    expected.insert(3, ("version", "acme/open", "new version 0.1.0 (`acme/open/v0.1.0`)", ROUTINE))
    assert changes(payload) == expected
    assert payload["review"] == MAINTAINER
    reasons = {c["integration"]: c["reason"] for c in payload["changes"] if c["kind"] == "added"}
    assert reasons.pop("acme/claims") == "a new public integration claims a trust tier"
    assert set(reasons.values()) == {None}


def test_deleting_is_routine(repo: GitCatalog) -> None:
    write(repo, "acme/draft", integration("Draft"))
    write(repo, "acme/old", integration("Old"))
    base = release(repo, DAY.format(2), "acme/old/v1.0.0")
    write(repo, "acme/widget", integration("Widget", extra='deletedAt: "2024-03-01T00:00:00Z"\n'))
    repo.remove("integrations/acme/old")  # published: it stays as a tombstone
    repo.remove("integrations/acme/draft")  # never published: simply gone
    release(repo, DAY.format(9))

    payload = diff(repo, base)

    assert changes(payload) == [
        ("removed", "acme/draft", "removed from the catalog (a draft)", ROUTINE),
        ("deleted", "acme/old", "deleted (2024-01-09T00:00:00Z)", ROUTINE),
        ("deleted", "acme/widget", "deleted (2024-03-01T00:00:00Z)", ROUTINE),
    ]
    assert payload["review"] == ROUTINE


# -- needs a maintainer -----------------------------------------------------------------------


VISIBILITY = [  # (slug, before, after, review, reason)
    ("a", "private", "public", MAINTAINER, "it becomes public"),
    ("b", "unlisted", "public", MAINTAINER, "it becomes public"),
    ("c", "public", "unlisted", ROUTINE, None),
    ("d", "unlisted", "private", ROUTINE, None),
]


def test_visibility_changes(repo: GitCatalog) -> None:
    for slug, before, *_ in VISIBILITY:
        write(repo, f"acme/{slug}", integration(slug, visibility=before))
    base = release(repo, DAY.format(2))
    for slug, _, after, *_ in VISIBILITY:
        write(repo, f"acme/{slug}", integration(slug, visibility=after))
    release(repo, DAY.format(3))

    payload = diff(repo, base)

    assert payload["changes"] == [
        {
            "kind": "visibility",
            "integration": f"acme/{slug}",
            "detail": f"visibility {before} -> {after}",
            "review": review,
            "reason": reason,
        }
        for slug, before, after, review, reason in VISIBILITY
    ]
    assert payload["review"] == MAINTAINER


def test_trust_tier_change_needs_a_maintainer(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    write(repo, "acme/widget", integration("Widget", trust_tier="verified_publisher"))
    release(repo, DAY.format(2))

    payload = diff(repo, base)

    assert payload["review"] == MAINTAINER
    [change] = payload["changes"]
    assert (change["kind"], change["detail"], change["review"], change["reason"]) == (
        "trust-tier",
        "trust tier community -> verified_publisher",
        MAINTAINER,
        "trust tiers are granted by maintainers",
    )


def test_maintainer_files(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    for path in ("catalog.yaml", "publishers.yaml"):
        repo.write(path, (repo.root / path).read_text() + "# a comment\n")
    repo.write("templates/base.html", "<html></html>\n")
    repo.write(".github/workflows/ci.yml", "on: push\n")
    release(repo, DAY.format(2))

    payload = diff(repo, base)

    assert [
        (c["kind"], c["integration"], c["detail"], c["reason"]) for c in payload["changes"]
    ] == [
        ("configuration", None, "catalog.yaml changed", "catalog.yaml is owned by the maintainers"),
        (
            "configuration",
            None,
            "publishers.yaml changed",
            "publishers.yaml is owned by the maintainers",
        ),
        (
            "code",
            None,
            "files outside integrations/ changed: .github/workflows/ci.yml, templates/base.html",
            "templates, code and workflows are the maintainers'",
        ),
    ]
    assert {c["review"] for c in payload["changes"]} == {MAINTAINER}
    text = cli(repo.root, "diff", base).stdout
    assert text.startswith(f"{base}..HEAD: needs-maintainer (3 changes)\n")
    assert "! catalog: catalog.yaml changed  [catalog.yaml is owned by the maintainers]\n" in text


def test_files_outside_a_catalog_below_the_top_level(tmp_path: Path) -> None:
    repo = GitCatalog(tmp_path / "mono", "catalogs/market")
    write(repo, "acme/widget", integration("Widget"))
    base = release(repo, DAY.format(1))
    tool = tmp_path / "mono" / "tools" / "publish.sh"  # beside the catalog, not in it
    tool.parent.mkdir()
    tool.write_text("echo publish\n")
    repo.git("add", str(tool))
    write(repo, "acme/widget", integration("Widget", interval=20))
    release(repo, DAY.format(2))

    payload = diff(repo, base)

    assert changes(payload) == [
        ("code", None, "files outside integrations/ changed: ../tools/publish.sh", MAINTAINER),
        ("changed", "acme/widget", "changed: manifest", ROUTINE),
    ]


def test_several_publishers_directories(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    repo.write("integrations/acme/widget/README.md", "# Widget\n")
    repo.write("integrations/stripe/payments/README.md", "# Payments\n")
    prose = release(repo, DAY.format(2))

    # Only prose changed, but in two publishers' directories.
    assert changes(diff(repo, base, prose)) == [
        (
            "publishers",
            None,
            "touches the integrations of several publishers: acme, stripe",
            MAINTAINER,
        )
    ]

    write(repo, "acme/widget", integration("Widget", interval=16))
    write(repo, "stripe/payments", integration("Pay", trust_tier="vendor_official"))
    release(repo, DAY.format(3))
    payload = diff(repo, prose)
    assert payload["review"] == MAINTAINER
    assert [c[0] for c in changes(payload)] == ["changed", "changed", "publishers"]


def test_new_policy_warnings_need_a_maintainer(repo: GitCatalog) -> None:
    write(repo, "str1pe/payments", integration("Old look-alike"))  # already there at BASE
    base = release(repo, DAY.format(2))
    write(repo, "strlpe/payments", integration("Payments"))
    release(repo, DAY.format(3))

    payload = diff(repo, base)

    assert changes(payload) == [
        ("added", "strlpe/payments", "new public integration `Payments` (community)", ROUTINE),
        (
            "policy-warning",
            "strlpe/payments",
            "name-imitation: `strlpe/payments` looks like `stripe/payments` of a more trusted "
            "publisher (vendor_official)",
            MAINTAINER,
        ),
    ]
    assert payload["changes"][1]["reason"] == "a new policy warning"


def test_changes_that_do_not_validate_need_a_maintainer(repo: GitCatalog) -> None:
    write(repo, "acme/draft", integration("Draft"))
    base = release(repo, DAY.format(2))
    write(
        repo,
        "acme/widget",
        integration("Widget").replace("visibility: public", "visibility: publik"),
    )
    write(repo, "acme/draft", "name: [unclosed\n")
    release(repo, DAY.format(3))

    payload = diff(repo, base)

    # Neither is reported as deleted or removed: their files are there, but broken.
    assert [(c["kind"], c["integration"], c["review"]) for c in payload["changes"]] == [
        ("error", "acme/draft", MAINTAINER),
        ("error", "acme/widget", MAINTAINER),
    ]
    draft, widget = payload["changes"]
    assert draft["detail"].startswith("yaml-syntax: ")
    assert widget["detail"] == (
        "field-invalid: `visibility` must be 'private', 'public' or 'unlisted', not `publik`"
    )
    assert widget["reason"] == "the change does not validate"


def test_a_new_problem_of_another_publishers_integration(repo: GitCatalog) -> None:
    depends = {"acme/widget": "~1.0.0"}
    write(
        repo,
        "stripe/payments",
        integration("Pay", trust_tier="vendor_official", dependencies=depends),
    )
    base = release(repo, DAY.format(2))
    write(repo, "acme/widget", integration("Widget", yanked={"1.0.0": "unsafe"}))
    release(repo, DAY.format(3))

    payload = diff(repo, base)

    # acme's own change is routine; what it does to stripe's integration is not. Only acme's
    # directory was touched, so it is no change of several publishers.
    assert changes(payload) == [
        ("yank", "acme/widget", "yanked 1.0.0: unsafe", ROUTINE),
        (
            "error",
            "stripe/payments",
            "dependency-unsatisfied: no published version of `acme/widget` satisfies `~1.0.0`; "
            "published: none (yanked: 1.0.0)",
            MAINTAINER,
        ),
    ]


def test_removed_published_integration_needs_a_maintainer(repo: GitCatalog) -> None:
    start = repo.sha("HEAD")
    write(repo, "acme/gone", integration("Gone"))
    published = release(repo, DAY.format(2), "acme/gone/v1.0.0")
    # A branch from before it, where acme/gone and its tag are not part of the history.
    repo.git("checkout", "-q", "-b", "rewrite", start)
    write(repo, "acme/widget", integration("Widget"))
    rewritten = release(repo, DAY.format(3))

    [change] = diff(repo, published, rewritten)["changes"]

    assert (change["kind"], change["integration"], change["review"]) == (
        "removed",
        "acme/gone",
        MAINTAINER,
    )
    assert change["reason"] == "integrations are withdrawn with `deletedAt`, not removed"


def test_a_published_version_with_new_content_needs_a_maintainer(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    # A new tag pattern makes another tag publish 1.0.0, with other content.
    repo.write("catalog.yaml", 'title: "Test"\ntagPattern: "rel/{publisher}/{slug}/{version}"\n')
    write(repo, "acme/widget", integration("Widget", interval=99))
    release(repo, DAY.format(2), "rel/acme/widget/1.0.0")

    payload = diff(repo, base)

    assert changes(payload) == [
        ("configuration", None, "catalog.yaml changed", MAINTAINER),
        ("changed", "acme/widget", "changed: manifest", ROUTINE),
        ("version", "acme/widget", "version 1.0.0 changed content", MAINTAINER),
    ]
    assert payload["changes"][2]["reason"] == "published versions are immutable"


# -- rendering ---------------------------------------------------------------------------------


def test_markdown_is_safe_in_a_pull_request_comment(repo: GitCatalog) -> None:
    base = repo.sha("HEAD")
    name = "Pipes | @octocat <img src=x>"
    write(repo, "acme/pipes", integration(name, trust_tier="verified_publisher"))
    release(repo, DAY.format(2))

    markdown = cli(repo.root, "diff", base, "--format", "markdown").stdout

    assert markdown.startswith(f"### Catalog changes `{base}..HEAD`\n\n")
    assert "**Needs a maintainer's review.**" in markdown
    row = next(line for line in markdown.splitlines() if "acme/pipes" in line)
    assert row == (
        "| ⚠️ | acme/pipes | new public integration `Pipes \\| @\u200boctocat &lt;img src=x>` "
        "(verified_publisher) | a new public integration claims a trust tier |"
    )
    assert "@octocat" not in markdown  # no one gets notified


def test_an_unknown_revision_is_an_environment_error(repo: GitCatalog) -> None:
    run = cli(repo.root, "diff", "no-such-branch")

    assert run.exit_code == 2
    assert "`no-such-branch` is not a commit of this repository" in run.stderr
