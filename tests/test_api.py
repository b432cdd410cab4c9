"""`catalog build`: the static JSON API, read back from real builds of the sample catalog in a
real git repository, with private, unlisted, draft, deleted and tombstoned integrations planted
in it. Everything the test expects is computed here, independently of the package (ids, digests,
version order, times from the dates the commits and tags were made with)."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import semver
import yaml
from jsonschema import Draft202012Validator

from build_support import (
    BASE_URL,
    REPO_ROOT,
    SAMPLE_DATE,
    SAMPLE_TAGS,
    SHARED_DIR,
    build_ok,
    cli,
    read_tree,
    sample_repo,
)
from gitrepo_fixtures import GitCatalog, integration_yaml
from integration_catalog import model
from integration_catalog.api import Published
from integration_catalog.build import _all_files
from integration_catalog.catalog import load_catalog
from integration_catalog.output import Deferred, Made

API = "api/v1"
CONTRACT = SHARED_DIR / "integration-entity.md"
# The contract's 18 fields in its order (also checked against the contract's own text below).
FIELDS = (
    "id",
    "workspaceId",
    "slug",
    "name",
    "description",
    "iconUrl",
    "publisher",
    "trustTier",
    "currentVersion",
    "manifest",
    "variablesSchema",
    "authConfig",
    "visibility",
    "createdBy",
    "deletedAt",
    "retentionTier",
    "createdAt",
    "updatedAt",
)
NULLABLE = ("description", "iconUrl", "currentVersion", "deletedAt", "retentionTier")
SNAPSHOT_KEYS = (
    "version",
    "tag",
    "publishedAt",
    "commit",
    "manifest",
    "variablesSchema",
    "authConfig",
    "digest",
    "yanked",
)
NAMESPACE = uuid.UUID("6f1c7c0e-3b0a-5d8e-9a51-2f4c1e7b9d30")  # docs/api.md, "Ids"
UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")

# Distinctive strings planted in every part of a private integration.
SECRET_NAME = "Ledger Qx7Name"
SECRET_DESCRIPTION = "Wz4Desc private ledger"
SECRET_SLUG = "vault-k9xq"
SECRET_README = "Rm3ReadmeJv"
SECRET_ICON = "Ic8IconTz"
SECRET_WORKSPACE = "ws_Pq2Work"
SECRET_MEMBER = "mb-Hy5Member"
PRIVATE_KEY = f"acme/{SECRET_SLUG}"
SECRETS = (
    SECRET_NAME,
    SECRET_DESCRIPTION,
    SECRET_SLUG,
    SECRET_README,
    SECRET_ICON,
    SECRET_WORKSPACE,
    SECRET_MEMBER,
)
# The sample's own private integrations.
SAMPLE_PRIVATE = ("aeontel/audit-log-export", "northwind/expense-approvals")

UNLISTED_SLUG = "hidden-v6wq"
UNLISTED_KEY = f"acme/{UNLISTED_SLUG}"

PLANTED_AUTHOR_DATE = "2025-05-31T23:30:00-04:00"  # 2025-06-01T03:30:00Z
PLANTED_DATE = "2025-06-01T09:00:00Z"
UNLISTED_TAGGED_AT = "2025-06-02T10:00:00+02:00"  # 2025-06-02T08:00:00Z
HEAD_DATE = "2025-07-01T09:00:00Z"
HEAD_EPOCH = 1751360400  # HEAD_DATE as unix seconds

PRIVATE_ICON = f"""\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
  <title>{SECRET_ICON}</title>
  <rect width="16" height="16" fill="#123456"/>
</svg>
"""


def _private_yaml() -> str:
    text = integration_yaml(SECRET_NAME, description=SECRET_DESCRIPTION)
    return (
        text.replace("visibility: public", "visibility: private")
        .replace('"ws_acme"', f'"{SECRET_WORKSPACE}"')
        .replace("key: sync", f"key: {SECRET_MEMBER}")
    )


def _unlisted_yaml() -> str:
    return integration_yaml("Hidden Helper").replace("visibility: public", "visibility: unlisted")


# Fractions and a character beyond the BMP: where RFC 8785 and Python's json part ways.
NUMBERS_YAML = """\
name: "Numbers"
workspaceId: "ws_acme"
visibility: public
manifest:
  members:
    - key: sync
      kind: workflow
  defaults:
    ratio: 2.0
    share: 0.5
    tiny: 0.0000001
variablesSchema:
  type: object
  properties:
    ratio:
      type: number
      description: "Speed-up \U0001f680"
      default: 2.0
    share:
      type: number
      maximum: 1.5
    tiny:
      type: number
    "\ufb01le":
      type: string
    "\U0001f680rocket":
      type: string
authConfig:
  type: none
"""


def _draft_yaml() -> str:
    """Public, never released, with every optional value absent or empty."""
    return """\
name: "Draft Only"
description: ""
workspaceId: "ws_acme"
visibility: public
"""


@dataclass(frozen=True)
class Built:
    root: Path
    repo: GitCatalog
    out: Path
    tree: dict[str, bytes]

    def json(self, rel: str) -> Any:
        return json.loads(self.tree[rel])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitCatalog:
    """The sample, then planted integrations in a second commit, then a deletion at HEAD."""
    repo = sample_repo(tmp_path_factory.mktemp("api") / "repo")
    repo.write_integration(PRIVATE_KEY, _private_yaml())
    repo.write(f"integrations/{PRIVATE_KEY}/README.md", f"# Private\n\n{SECRET_README} notes.\n")
    repo.write(f"integrations/{PRIVATE_KEY}/icon.svg", PRIVATE_ICON)
    repo.write_integration(UNLISTED_KEY, _unlisted_yaml())
    repo.write_integration("acme/draft-only", _draft_yaml())
    repo.write_integration(
        "acme/retired",
        integration_yaml("Retired", extra='deletedAt: "2025-03-01T12:00:00+02:00"\n'),
    )
    repo.write_integration("acme/gone", integration_yaml("Gone Soon"))
    repo.write_integration("acme/numbers", NUMBERS_YAML)
    repo.commit(PLANTED_DATE, author_date=PLANTED_AUTHOR_DATE, message="planted")
    repo.tag(f"{PRIVATE_KEY}/v1.0.0")
    repo.tag(f"{UNLISTED_KEY}/v1.0.0", annotated_at=UNLISTED_TAGGED_AT)
    repo.tag("acme/retired/v1.0.0")
    repo.tag("acme/gone/v1.0.0")
    repo.tag("acme/numbers/v1.0.0")
    repo.remove("integrations/acme/gone")
    repo.commit(HEAD_DATE, message="delete acme/gone")
    return repo


@pytest.fixture(scope="module")
def site(repo: GitCatalog, tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("site") / "out"
    build_ok(repo.root, out, base_url=BASE_URL)
    return Built(repo.root, repo, out, read_tree(out))


def _records(site: Built) -> dict[str, dict[str, Any]]:
    """Every `integrations/<p>/<s>.json` by its key."""
    pattern = re.compile(rf"{API}/integrations/([^/]+)/([^/]+)\.json\Z")
    found = {}
    for rel in site.tree:
        match = pattern.match(rel)
        if match:
            found[f"{match[1]}/{match[2]}"] = site.json(rel)
    return found


def _source_visibility(root: Path) -> dict[str, str]:
    """The visibility each integration directory declares (tombstones are not included)."""
    found = {}
    for path in sorted((root / "integrations").glob("*/*/integration.yaml")):
        key = path.parent.relative_to(root / "integrations").as_posix()
        found[key] = yaml.safe_load(path.read_text(encoding="utf-8"))["visibility"]
    return found


def _digest(snapshot: dict[str, Any]) -> str:
    """docs/api.md, "Digests": SHA-256 of the RFC 8785 form of the three objects."""
    content = {key: snapshot[key] for key in ("authConfig", "manifest", "variablesSchema")}
    return "sha256:" + hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def _utc(value: str) -> str:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _contract_block() -> str:
    if not CONTRACT.is_file():
        pytest.skip(f"the record contract {CONTRACT} is not present in this checkout")
    text = CONTRACT.read_text(encoding="utf-8")
    match = re.search(r"```ts\n(interface Integration \{\n.*?\n\})\n```", text, re.DOTALL)
    assert match is not None, f"no `interface Integration` block in {CONTRACT}"
    return match[1]


# -- the records ------------------------------------------------------------------------------


def test_contract_fields_are_the_ones_this_test_checks() -> None:
    assert model.RECORD_FIELDS == FIELDS
    names = re.findall(r"^  (\w+):", _contract_block(), re.MULTILINE)
    assert tuple(names) == FIELDS


def test_every_record_has_the_18_keys_in_order_and_validates_against_the_schema(
    site: Built,
) -> None:
    schema = site.json(f"{API}/schema/integration.schema.json")
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert schema["$id"] == BASE_URL + f"{API}/schema/integration.schema.json"
    assert schema["required"] == list(FIELDS)
    assert list(schema["properties"]) == list(FIELDS)
    assert schema["additionalProperties"] is False

    listed = site.json(f"{API}/integrations.json")["integrations"]
    records = _records(site)
    assert records, "no record files"
    for record in [*listed, *records.values()]:
        assert tuple(record) == FIELDS, record.get("slug")
        errors = [e.message for e in validator.iter_errors(record)]
        assert errors == [], (record["publisher"], record["slug"], errors)
    for record in listed:  # the list holds the very same records as the files
        assert records[f"{record['publisher']}/{record['slug']}"] == record


def test_the_published_schema_rejects_what_the_contract_forbids(site: Built) -> None:
    validator = Draft202012Validator(site.json(f"{API}/schema/integration.schema.json"))
    record = _records(site)["stripe/payments"]
    missing = {k: v for k, v in record.items() if k != "deletedAt"}
    assert not validator.is_valid(missing)
    assert not validator.is_valid({**record, "extra": 1})
    assert not validator.is_valid({**record, "trustTier": "gold"})
    assert not validator.is_valid({**record, "visibility": "secret"})
    assert not validator.is_valid({**record, "retentionTier": "forever"})
    assert not validator.is_valid({**record, "manifest": None})
    assert validator.is_valid({**record, "retentionTier": None, "iconUrl": None})


def test_nullable_fields_are_null_never_empty_or_missing(site: Built) -> None:
    records = _records(site)
    for key, record in records.items():
        for name in FIELDS:
            assert name in record, (key, name)
            value = record[name]
            if name in NULLABLE:
                assert value is None or (isinstance(value, str) and value.strip()), (key, name)
            else:
                assert value is not None and value != "", (key, name)
    draft = records["acme/draft-only"]
    assert {name: draft[name] for name in NULLABLE} == dict.fromkeys(NULLABLE)
    assert draft["manifest"] == {"members": [], "dependencies": {}, "defaults": {}}
    assert draft["variablesSchema"] == {"type": "object", "properties": {}}
    assert draft["authConfig"] == {"type": "none"}
    assert draft["trustTier"] == "community"
    assert site.json(f"{API}/integrations/acme/draft-only/versions.json") == {
        "integrationId": draft["id"],
        "currentVersion": None,
        "versions": [],
    }


def test_ids_are_uuid5_of_publisher_slug(site: Built) -> None:
    assert model.ID_NAMESPACE == NAMESPACE
    records = _records(site)
    for key, record in records.items():
        assert key == f"{record['publisher']}/{record['slug']}"
        expected = str(uuid.uuid5(NAMESPACE, key))
        assert record["id"] == expected
        assert uuid.UUID(record["id"]).version == 5
        versions = site.json(f"{API}/integrations/{key}/versions.json")
        assert versions["integrationId"] == expected
    assert records["stripe/payments"]["id"] == "4f83d2ff-9b32-58b0-88ec-af2b647a3c8e"  # docs
    assert len({r["id"] for r in records.values()}) == len(records)


def test_times_are_rfc3339_utc_with_z(site: Built) -> None:
    records = _records(site)
    for key, record in records.items():
        for name in ("createdAt", "updatedAt", "deletedAt"):
            value = record[name]
            assert value is None or UTC_TIME.match(value), (key, name, value)
    for rel in (f"{API}/integrations.json", "api/index.json"):
        assert site.json(rel)["generatedAt"] == HEAD_DATE
    for key in records:
        for snapshot in site.json(f"{API}/integrations/{key}/versions.json")["versions"]:
            assert UTC_TIME.match(snapshot["publishedAt"]), (key, snapshot["version"])
    # Dates with offsets come out in UTC: authored at -04:00, deleted at +02:00.
    planted = records[UNLISTED_KEY]
    assert planted["createdAt"] == "2025-06-01T03:30:00Z"
    assert planted["updatedAt"] == PLANTED_DATE
    assert records["acme/retired"]["deletedAt"] == "2025-03-01T10:00:00Z"
    sample = records["stripe/payments"]
    assert (sample["createdAt"], sample["updatedAt"]) == (SAMPLE_DATE, SAMPLE_DATE)


def test_deleted_integrations_keep_their_records(site: Built) -> None:
    records = _records(site)
    gone = records["acme/gone"]
    assert gone["deletedAt"] == HEAD_DATE
    assert gone["updatedAt"] == HEAD_DATE
    assert gone["currentVersion"] == "1.0.0"
    assert gone["name"] == "Gone Soon"
    source = site.root / "integrations/stripe/legacy-checkout/integration.yaml"
    written = yaml.safe_load(source.read_text(encoding="utf-8"))["deletedAt"]
    assert records["stripe/legacy-checkout"]["deletedAt"] == _utc(str(written))


# -- the list -----------------------------------------------------------------------------------


def test_integrations_json_lists_exactly_the_public_ones_in_order(site: Built) -> None:
    document = site.json(f"{API}/integrations.json")
    assert list(document) == ["apiVersion", "generatedAt", "count", "integrations"]
    assert document["apiVersion"] == "v1"
    assert document["generatedAt"] == HEAD_DATE
    keys = [f"{r['publisher']}/{r['slug']}" for r in document["integrations"]]
    assert document["count"] == len(keys)

    public = {k for k, v in _source_visibility(site.root).items() if v == "public"}
    assert set(keys) == public | {"acme/gone"}  # the tombstone was public
    assert {"acme/draft-only", "acme/retired", "stripe/legacy-checkout"} <= set(keys)
    assert all(r["visibility"] == "public" for r in document["integrations"])
    # Sorted by publisher, then slug (docs/api.md).
    assert keys == [f"{p}/{s}" for p, s in sorted(tuple(k.split("/")) for k in keys)]
    drafts = [r for r in document["integrations"] if r["currentVersion"] is None]
    deleted = [r for r in document["integrations"] if r["deletedAt"] is not None]
    assert drafts and deleted
    # Compact and UTF-8 like every file, each record exactly as its own file has it.
    raw = site.tree[f"{API}/integrations.json"]
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert raw == compact.encode()
    for key in keys:
        assert site.tree[f"{API}/integrations/{key}.json"][:-1] in raw


def test_listing_order_is_by_publisher_then_slug(tmp_path: Path) -> None:
    """All of publisher `ab` comes before publisher `ab-c` (not the order of the joined
    `publisher/slug` strings, where `-` sorts before `/`)."""
    repo = GitCatalog(tmp_path / "repo")
    for key in ("ab/zeta", "ab/alpha", "ab-c/mid", "a/zz", "abc/one"):
        repo.write_integration(key, name=key)
    repo.commit("2024-01-01T00:00:00Z")
    build_ok(repo.root, tmp_path / "out")
    document = json.loads((tmp_path / "out" / API / "integrations.json").read_bytes())
    keys = [f"{r['publisher']}/{r['slug']}" for r in document["integrations"]]
    assert keys == ["a/zz", "ab/alpha", "ab/zeta", "ab-c/mid", "abc/one"]


def test_api_index_lists_every_endpoint(site: Built) -> None:
    document = site.json("api/index.json")
    assert document == {
        "apiVersion": "v1",
        "generatedAt": HEAD_DATE,
        "endpoints": {
            "integrations": f"{BASE_URL}{API}/integrations.json",
            "integration": f"{BASE_URL}{API}/integrations/{{publisher}}/{{slug}}.json",
            "versions": f"{BASE_URL}{API}/integrations/{{publisher}}/{{slug}}/versions.json",
            "schema": f"{BASE_URL}{API}/schema/integration.schema.json",
            "types": f"{BASE_URL}{API}/types.d.ts",
        },
    }
    for url in document["endpoints"].values():
        rel = url.removeprefix(BASE_URL).format(publisher="stripe", slug="payments")
        assert rel in site.tree, url


# -- versions -----------------------------------------------------------------------------------


def _tag_dates() -> dict[str, str]:
    """When each sample tag was published: the tagger date, else the commit's."""
    return {name: annotated or SAMPLE_DATE for name, annotated in SAMPLE_TAGS}


def test_versions_are_newest_first_with_recomputed_digests(site: Built) -> None:
    records = _records(site)
    published = _tag_dates()
    published[f"{UNLISTED_KEY}/v1.0.0"] = "2025-06-02T08:00:00Z"
    published["acme/retired/v1.0.0"] = PLANTED_DATE
    published["acme/gone/v1.0.0"] = PLANTED_DATE
    published["acme/numbers/v1.0.0"] = PLANTED_DATE
    seen_tags = set()
    for key, record in records.items():
        document = site.json(f"{API}/integrations/{key}/versions.json")
        assert list(document) == ["integrationId", "currentVersion", "versions"]
        assert document["currentVersion"] == record["currentVersion"]
        versions = document["versions"]
        parsed = [semver.Version.parse(v["version"]) for v in versions]
        assert parsed == sorted(parsed, reverse=True), key
        for snapshot in versions:
            assert tuple(snapshot) == SNAPSHOT_KEYS
            assert snapshot["tag"] == f"{key}/v{snapshot['version']}"
            assert snapshot["digest"] == _digest(snapshot), (key, snapshot["version"])
            assert snapshot["commit"] == site.repo.sha(f"{snapshot['tag']}^{{commit}}")
            assert snapshot["publishedAt"] == published[snapshot["tag"]]
            assert snapshot["yanked"] is None
            seen_tags.add(snapshot["tag"])
            at_tag = yaml.safe_load(
                site.repo.git("show", f"{snapshot['tag']}:integrations/{key}/integration.yaml")
            )
            assert snapshot["variablesSchema"] == at_tag["variablesSchema"]
            assert snapshot["authConfig"]["type"] == at_tag["authConfig"]["type"]
        if versions:
            releases = [v for v in parsed if v.prerelease is None] or parsed
            assert record["currentVersion"] == str(max(releases))
    public_tags = {t for t in published if not t.startswith((*SAMPLE_PRIVATE, PRIVATE_KEY))}
    assert seen_tags == public_tags
    payments = site.json(f"{API}/integrations/stripe/payments/versions.json")
    assert [v["version"] for v in payments["versions"]] == ["2.0.0-rc.1", "1.1.0", "1.0.0"]
    assert payments["currentVersion"] == "1.1.0"


def test_digests_follow_rfc8785_where_it_differs_from_plain_json(site: Built) -> None:
    document = site.json(f"{API}/integrations/acme/numbers/versions.json")
    (snapshot,) = document["versions"]
    content = {key: snapshot[key] for key in ("authConfig", "manifest", "variablesSchema")}
    # The values as written in the YAML: 2.0 is a float there.
    content["manifest"]["defaults"]["ratio"] = 2.0
    content["variablesSchema"]["properties"]["ratio"]["default"] = 2.0
    canonical = rfc8785.dumps(content)
    plain = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical != plain.encode()  # 2.0 is 2, and keys sort by UTF-16 code units
    assert snapshot["digest"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert snapshot["digest"] == _digest(snapshot)
    assert snapshot["manifest"]["defaults"] == {"ratio": 2, "share": 0.5, "tiny": 1e-7}
    properties = snapshot["variablesSchema"]["properties"]
    assert properties["ratio"]["description"] == "Speed-up \U0001f680"
    assert list(properties) == sorted(properties, key=lambda k: k.encode("utf-16-be"))


def test_versions_files_hold_each_versions_fields_as_their_canonical_json(site: Built) -> None:
    """A consumer can check a digest against the bytes as served: every published field of
    every version is written exactly as its canonical JSON (numbers as RFC 8785 writes them,
    keys in its order), and each file is compact, UTF-8 and ends with one line break."""
    files = [rel for rel in site.tree if rel.endswith("/versions.json")]
    assert len(files) > 5
    for rel in files:
        raw = site.tree[rel]
        assert raw.endswith(b"}\n") and b"\n" not in raw[:-1]
        document = json.loads(raw)
        head = {k: document[k] for k in ("integrationId", "currentVersion")}
        assert raw.startswith(json.dumps(head, separators=(",", ":")).encode()[:-1] + b",")
        for snapshot in document["versions"]:
            for name in ("manifest", "variablesSchema", "authConfig"):
                assert f'"{name}":'.encode() + rfc8785.dumps(snapshot[name]) in raw, (rel, name)


# -- icons ---------------------------------------------------------------------------------------


def test_local_icons_are_copied_and_linked_absolutely(site: Built) -> None:
    records = _records(site)
    local = sorted((site.root / "integrations").glob("*/*/icon.*"))
    copied = 0
    for icon in local:
        key = icon.parent.relative_to(site.root / "integrations").as_posix()
        if key not in records:
            continue  # private
        rel = f"{API}/icons/{key}{icon.suffix}"
        assert site.tree[rel] == icon.read_bytes()
        assert records[key]["iconUrl"] == BASE_URL + rel
        copied += 1
    assert copied >= 3
    assert records["hubspot/crm-contacts"]["iconUrl"] == (
        "https://assets.aeontel.example/icons/hubspot-crm-contacts.svg"
    )
    icons = {rel for rel in site.tree if rel.startswith(f"{API}/icons/")}
    assert len(icons) == copied


# -- types ---------------------------------------------------------------------------------------


def test_types_contain_the_contracts_interface_exactly(site: Built) -> None:
    block = _contract_block()
    types = site.tree[f"{API}/types.d.ts"].decode()
    assert f"export {block}\n" in types
    assert types.count("interface Integration {") == 1


# -- visibility ----------------------------------------------------------------------------------


def _files_mentioning(tree: dict[str, bytes], needle: str) -> list[str]:
    raw = needle.encode()
    return sorted(rel for rel, data in tree.items() if raw in data or raw in rel.encode())


def test_private_integrations_leave_no_trace_in_any_file(site: Built) -> None:
    for secret in (*SECRETS, *SAMPLE_PRIVATE):
        assert _files_mentioning(site.tree, secret) == [], secret
    # Nor under another spelling: JSON escapes and HTML entities of the name.
    for variant in (json.dumps(SECRET_NAME), SECRET_NAME.replace(" ", "&#32;")):
        assert _files_mentioning(site.tree, variant) == []


def test_include_private_writes_them_and_says_the_build_is_internal(
    repo: GitCatalog, tmp_path: Path
) -> None:
    out = tmp_path / "internal"
    result = cli(repo.root, "build", "--out", str(out), "--base-url", BASE_URL, "--include-private")
    assert result.exit_code == 0
    assert "internal" in result.output
    tree = read_tree(out)
    for secret in SECRETS:
        assert _files_mentioning(tree, secret), secret
    listed = json.loads(tree[f"{API}/integrations.json"])["integrations"]
    keys = {f"{r['publisher']}/{r['slug']}" for r in listed}
    assert {PRIVATE_KEY, *SAMPLE_PRIVATE} <= keys
    record = json.loads(tree[f"{API}/integrations/{PRIVATE_KEY}.json"])
    assert record["visibility"] == "private"
    assert record["iconUrl"] == f"{BASE_URL}{API}/icons/{PRIVATE_KEY}.svg"
    assert tree[f"{API}/icons/{PRIVATE_KEY}.svg"] == PRIVATE_ICON.encode()
    assert SECRET_README.encode() in tree[f"integrations/{PRIVATE_KEY}/index.html"]


def _listing_files(tree: dict[str, bytes]) -> list[str]:
    """Where listed integrations show: the lists, feeds, search index, index and publisher
    pages."""
    fixed = [f"{API}/integrations.json", f"{API}/search.json", "sitemap.xml", "feed.xml"]
    pages = [
        rel
        for rel in tree
        if rel.endswith("index.html")
        and (
            rel in ("index.html", "updated/index.html")
            or rel.startswith(("page/", "updated/page/", "publishers/"))
        )
    ]
    return fixed + sorted(pages)


def test_unlisted_have_their_own_files_but_are_in_no_listing(site: Built) -> None:
    tree = site.tree
    own = [
        f"{API}/integrations/{UNLISTED_KEY}.json",
        f"{API}/integrations/{UNLISTED_KEY}/versions.json",
        f"integrations/{UNLISTED_KEY}/index.html",
    ]
    for rel in own:
        assert rel in tree, rel
    assert json.loads(tree[own[0]])["visibility"] == "unlisted"
    assert json.loads(tree[own[1]])["versions"][0]["version"] == "1.0.0"
    assert b'<meta name="robots" content="noindex">' in tree[own[2]]

    listings = _listing_files(tree)
    assert "publishers/acme/index.html" in listings
    assert "publishers/index.html" in listings
    for rel in listings:
        assert UNLISTED_SLUG.encode() not in tree[rel], rel
    # The sample's unlisted integrations neither.
    unlisted = [k for k, v in _source_visibility(site.root).items() if v == "unlisted"]
    assert len(unlisted) == 4
    for key in unlisted:
        assert f"{API}/integrations/{key}.json" in tree
        for rel in listings:
            assert f"integrations/{key}/".encode() not in tree[rel], (key, rel)
            assert f'"{key}"'.encode() not in tree[rel], (key, rel)
    # Yet the public ones are listed there.
    for rel in (f"{API}/search.json", "sitemap.xml", "index.html", "publishers/stripe/index.html"):
        assert b"stripe/payments" in tree[rel], rel


# -- reproducibility -----------------------------------------------------------------------------


def test_two_builds_of_one_commit_are_byte_identical(
    repo: GitCatalog, site: Built, tmp_path: Path
) -> None:
    first = tmp_path / "a" / "site"
    second = tmp_path / "b" / "elsewhere"
    assert cli(repo.root, "build", "--out", str(first), "--base-url", BASE_URL).exit_code == 0
    assert cli(repo.root, "build", "--out", str(second), "--base-url", BASE_URL).exit_code == 0
    assert read_tree(first) == read_tree(second) == site.tree


def test_source_date_epoch_sets_generated_at_and_nothing_else(
    repo: GitCatalog, site: Built, tmp_path: Path
) -> None:
    epoch = 1767225600  # 2026-01-01T00:00:00Z
    trees = []
    for name in ("one", "two"):
        out = tmp_path / name
        run = cli(
            repo.root,
            "build",
            "--out",
            str(out),
            "--base-url",
            BASE_URL,
            env={"SOURCE_DATE_EPOCH": str(epoch)},
        )
        assert run.exit_code == 0
        trees.append(read_tree(out))
    assert trees[0] == trees[1]
    for rel in ("api/index.json", f"{API}/integrations.json"):
        assert json.loads(trees[0][rel])["generatedAt"] == "2026-01-01T00:00:00Z"
    # The records do not depend on it; with HEAD's own time it is the plain build exactly.
    for rel, data in site.tree.items():
        if rel.startswith(f"{API}/integrations/"):
            assert trees[0][rel] == data, rel
    same = tmp_path / "head"
    run = cli(
        repo.root,
        "build",
        "--out",
        str(same),
        "--base-url",
        BASE_URL,
        env={"SOURCE_DATE_EPOCH": str(HEAD_EPOCH)},
    )
    assert run.exit_code == 0
    assert read_tree(same) == site.tree


def test_a_fresh_clone_builds_the_same_bytes(repo: GitCatalog, site: Built, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.toplevel), str(clone))
    out = tmp_path / "out"
    build_ok(clone, out, base_url=BASE_URL)
    assert read_tree(out) == site.tree


def test_sample_catalog_of_this_repository_builds(tmp_path: Path) -> None:
    """The sample alone: its public integrations listed, all but the private ones written."""
    repo = sample_repo(tmp_path / "repo")
    build_ok(repo.root, tmp_path / "out")
    visibility = _source_visibility(REPO_ROOT)
    document = json.loads((tmp_path / "out" / API / "integrations.json").read_bytes())
    listed = [f"{r['publisher']}/{r['slug']}" for r in document["integrations"]]
    assert listed == sorted(k for k, v in visibility.items() if v == "public")
    assert document["count"] == len(listed)
    assert document["generatedAt"] == SAMPLE_DATE
    records = sorted(
        p.relative_to(tmp_path / "out" / API / "integrations").with_suffix("").as_posix()
        for p in (tmp_path / "out" / API / "integrations").glob("*/*.json")
    )
    assert records == sorted(k for k, v in visibility.items() if v != "private")


# -- options that cannot make a valid API --------------------------------------------------------


def test_a_base_url_without_a_scheme_is_refused(repo: GitCatalog, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(repo.root, "build", "--out", str(out), "--base-url", "catalog.example.test")
    assert result.exit_code == 2
    assert not out.exists()


def test_a_source_date_epoch_past_year_9999_is_a_usage_error(
    repo: GitCatalog, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    env = {"SOURCE_DATE_EPOCH": "253402300800"}  # 10000-01-01T00:00:00Z
    result = cli(repo.root, "build", "--out", str(out), env=env)
    assert result.exit_code == 2
    assert "SOURCE_DATE_EPOCH" in result.output
    assert not out.exists()


def test_integrations_pickle_as_they_are_for_the_workers(repo: GitCatalog) -> None:
    items = load_catalog(repo.root).catalog.integrations
    assert any(item.tombstone for item in items) and any(item.deleted_at for item in items)
    for item in items:
        copy = pickle.loads(pickle.dumps(item))
        assert copy == item
        assert copy.spec.model_dump_json() == item.spec.model_dump_json()
        # (a snapshot's spec is not compared by ==)
        assert [s.spec_json for s in copy.versions] == [s.spec_json for s in item.versions]


def _made(make: Callable[[], Made]) -> tuple[str, bytes]:
    made = make()
    return made.fingerprint, made.render()


def test_what_the_workers_are_sent_carries_all_they_need(repo: GitCatalog) -> None:
    # The workers are forked before the catalog is loaded: a file made in a spawned process,
    # which inherits nothing, must be the file made here.
    catalog = load_catalog(repo.root).catalog
    published = Published(catalog, BASE_URL, include_private=True, generated_at=HEAD_DATE)
    deferred = [e for e in _all_files(published, lambda: None) if isinstance(e, Deferred)]
    kinds = {entry.path.rsplit("/", 1)[-1] for entry in deferred}
    assert {"index.html", "versions.json"} <= kinds
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        there = list(pool.map(_made, [entry.make for entry in deferred]))
    assert there == [_made(entry.make) for entry in deferred]
