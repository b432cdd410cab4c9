"""Range matching agrees with node-semver (the npm rules) on every pair of a grid of ranges and
versions, pre-releases and build metadata included."""

from __future__ import annotations

import itertools

import nodesemver
import pytest

from integration_catalog.ranges import max_satisfying, parse_range, parse_version, satisfies

RANGES = [
    "^1.2.0",
    "~1.4",
    ">=1.2.0 <2.0.0",
    "1.x",
    "1.x || >=3",
    "*",
    "^0.2.3",
    "~0.0.1",
    "1.2.3",
    "=1.2.3",
    ">1.2.3",
    "<=2.0.0",
    "1.0.0 - 1.4.0",
    "^1.0.0 || ^2.0.0",
    ">=2.0.0-rc.1",
    "^2.0.0-rc.1",
    "~1.2.3-beta.2",
    "1.2.x",
    "2",
    "<1.0.0-0",
    ">=0.0.0",
    "^0.0.3",
]
VERSIONS = [
    "0.0.1",
    "0.0.3",
    "0.2.3",
    "0.2.9",
    "0.3.0",
    "1.0.0",
    "1.2.0",
    "1.2.3",
    "1.2.3-beta.2",
    "1.2.3-beta.3",
    "1.2.4-beta.1",
    "1.4.0",
    "1.4.9",
    "1.5.0",
    "1.10.0",
    "2.0.0-rc.1",
    "2.0.0-rc.2",
    "2.0.0",
    "2.1.0",
    "3.0.0",
    "3.1.0-alpha",
    "1.0.0+build.7",
]


@pytest.mark.parametrize("text", RANGES)
def test_satisfies_agrees_with_node_semver(text: str) -> None:
    allowed = parse_range(text)
    assert allowed is not None
    for version in VERSIONS:
        expected = nodesemver.satisfies(version, text, loose=False)
        assert satisfies(parse_version(version), allowed) == expected, (text, version)


@pytest.mark.parametrize(("text", "count"), list(itertools.product(RANGES, [3, len(VERSIONS)])))
def test_max_satisfying_agrees_with_node_semver(text: str, count: int) -> None:
    versions = VERSIONS[:count]
    assert max_satisfying(versions, text) == nodesemver.max_satisfying(versions, text, loose=False)


@pytest.mark.parametrize("text", ["", "   ", "^1.x.y", ">=>1", "garbage!!", "1.2.3.4"])
def test_invalid_ranges(text: str) -> None:
    assert parse_range(text) is None
    assert max_satisfying(VERSIONS, text) is None
