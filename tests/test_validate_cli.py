"""`catalog validate` as a command: narrowing to paths, exit codes, and the exact shape of each
output format. Catalogs are real directories; the CLI is the real one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration_catalog.cli import main
from validate_support import (
    FORMATS,
    INTEGRATION,
    VALID_INTEGRATION,
    MakeCatalog,
    invoke,
    parse_output,
    validate,
)

PUBLISHERS_WITH_A_BROKEN_ENTRY = (
    'acme:\n  name: "Acme"\n  trustTiers: [verified_partner]\n'
    'beta:\n  name: "Beta"\n  colour: "red"\n'
)


def _selection_catalog(make_catalog: MakeCatalog) -> Path:
    """acme/crm claims a tier publishers.yaml does not grant; acme/good claims one it does;
    acme/bad and publishers.yaml have problems of their own."""
    return make_catalog(
        {
            "publishers.yaml": PUBLISHERS_WITH_A_BROKEN_ENTRY,
            INTEGRATION: VALID_INTEGRATION + "trustTier: first_party\n",
            "integrations/acme/good/integration.yaml": VALID_INTEGRATION
            + "trustTier: verified_partner\n",
            "integrations/acme/bad/integration.yaml": 'name: "Bad"\n',
        }
    )


def _codes_by_path(stdout: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for d in parse_output("json", stdout).diagnostics:
        found.setdefault(d.path, []).append(d.code)
    return found


def test_whole_catalog_reports_every_file(make_catalog: MakeCatalog) -> None:
    root = _selection_catalog(make_catalog)
    result = validate(root, output_format="json")
    by_path = _codes_by_path(result.stdout)
    assert by_path["publishers.yaml"] == ["field-unknown"]
    assert by_path[INTEGRATION] == ["trust-tier-not-granted"]
    assert set(by_path["integrations/acme/bad/integration.yaml"]) == {"field-missing"}
    assert "integrations/acme/good/integration.yaml" not in by_path
    assert result.exit_code == 1


@pytest.mark.parametrize("target", ["integrations/acme/crm", INTEGRATION])
def test_one_integration_is_checked_against_the_whole_catalog(
    make_catalog: MakeCatalog, target: str
) -> None:
    """The tier check reads publishers.yaml, but only this integration's problems are shown."""
    root = _selection_catalog(make_catalog)
    result = validate(root, str(root / target), output_format="json")
    out = parse_output("json", result.stdout)
    assert {d.path for d in out.diagnostics} == {INTEGRATION}
    assert [(d.code, d.line, d.column) for d in out.diagnostics] == [
        ("trust-tier-not-granted", 4, 12)
    ]
    assert (out.errors, out.files) == (1, 1)
    assert result.exit_code == 1


def test_a_valid_integration_passes_alone_while_others_fail(make_catalog: MakeCatalog) -> None:
    root = _selection_catalog(make_catalog)
    result = validate(root, str(root / "integrations/acme/good"), output_format="json")
    out = parse_output("json", result.stdout)
    assert [d for d in out.diagnostics if d.severity == "error"] == []
    assert result.exit_code == 0, result.output


def test_a_publisher_directory_selects_its_integrations(make_catalog: MakeCatalog) -> None:
    root = _selection_catalog(make_catalog)
    result = validate(root, str(root / "integrations/acme"), output_format="json")
    by_path = _codes_by_path(result.stdout)
    assert set(by_path) == {INTEGRATION, "integrations/acme/bad/integration.yaml"}
    assert parse_output("json", result.stdout).files == 3


def test_publishers_yaml_can_be_selected(make_catalog: MakeCatalog) -> None:
    root = _selection_catalog(make_catalog)
    result = validate(root, str(root / "publishers.yaml"), output_format="json")
    assert _codes_by_path(result.stdout) == {"publishers.yaml": ["field-unknown"]}


def test_root_is_found_from_a_subdirectory_and_paths_are_relative_to_it(
    make_catalog: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _selection_catalog(make_catalog)
    monkeypatch.chdir(root / "integrations/acme")
    result = invoke(["validate", "--format", "json", "crm"])
    out = parse_output("json", result.stdout)
    assert [(d.path, d.code) for d in out.diagnostics] == [(INTEGRATION, "trust-tier-not-granted")]
    monkeypatch.chdir(root / "integrations/acme/good")
    assert invoke(["validate", "."]).exit_code == 0
    assert invoke(["validate"]).exit_code == 1  # no path: the whole catalog


# -- exit code 2: usage and environment ------------------------------------------------------


@pytest.mark.parametrize("output_format", FORMATS)
def test_no_catalog_root_given(tmp_path: Path, output_format: str) -> None:
    result = validate(tmp_path, output_format=output_format)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "has no catalog.yaml" in result.stderr


def test_no_catalog_root_above_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if any((d / "catalog.yaml").is_file() for d in (tmp_path, *tmp_path.parents)):
        pytest.skip("a directory above tmp_path holds a catalog.yaml")
    monkeypatch.chdir(tmp_path)
    result = invoke(["validate", "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no catalog.yaml" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--bogus"],
        ["validate", "--format", "xml"],
        ["--bogus", "validate"],
        ["valdiate"],
    ],
    ids=["unknown-flag", "unknown-format", "unknown-global-flag", "unknown-command"],
)
def test_usage_errors_exit_2(make_catalog: MakeCatalog, args: list[str]) -> None:
    root = make_catalog({INTEGRATION: VALID_INTEGRATION})
    result = invoke(["--root", str(root), *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error:" in result.stderr


@pytest.mark.parametrize(
    "path", ["/", "integrations/acme/missing"], ids=["outside", "does-not-exist"]
)
def test_paths_outside_the_catalog_exit_2(make_catalog: MakeCatalog, path: str) -> None:
    root = make_catalog({INTEGRATION: VALID_INTEGRATION})
    result = validate(root, str(root / path), output_format="json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("catalog: ")


# -- output formats ----------------------------------------------------------------------------


def test_json_is_the_only_thing_on_stdout(make_catalog: MakeCatalog) -> None:
    root = make_catalog({INTEGRATION: 'name: no\nworkspaceId: 0123\nvisibility: "x"\n'})
    result = validate(root, output_format="json")
    payload = json.loads(result.stdout)  # the whole of stdout, or this raises
    assert result.stderr == ""
    assert payload["summary"]["errors"] == 3
    assert [d["code"] for d in payload["diagnostics"] if d["path"] == INTEGRATION] == [
        "yaml-ambiguous-value",
        "yaml-ambiguous-value",
        "field-invalid",
    ]
    first = payload["diagnostics"][-3]
    assert first == {
        "path": INTEGRATION,
        "line": 1,
        "column": 7,
        "severity": "error",
        "code": "yaml-ambiguous-value",
        "message": "`no` is read as a boolean by some YAML tools and differently by others",
        "hint": 'quote it ("no") for text, or write it as plain JSON (true, false, 123, 1.5)',
    }


def test_text_format_lines(make_catalog: MakeCatalog) -> None:
    root = make_catalog({INTEGRATION: VALID_INTEGRATION + "trust_tier: community\n"})
    result = validate(root, output_format="text")
    lines = result.stdout.splitlines()
    at = lines.index(f"{INTEGRATION}:4:1: error[field-unknown] unknown field `trust_tier`")
    assert lines[at + 1] == "    hint: did you mean `trustTier`?"
    assert re.fullmatch(r"1 error, \d+ warnings? in 3 files", lines[-1]), lines[-1]
    assert result.exit_code == 1


def test_summary_of_a_clean_catalog(make_catalog: MakeCatalog) -> None:
    root = make_catalog({INTEGRATION: VALID_INTEGRATION})
    result = validate(root, output_format="text")
    assert re.fullmatch(r"0 errors, \d+ warnings? in 3 files", result.stdout.splitlines()[-1])
    assert result.exit_code == 0


def test_github_escapes_percent_newline_colon_and_comma(make_catalog: MakeCatalog) -> None:
    """A directory name carries %, CR, LF, `:` and `,` into both the file property and the
    message: properties escape all five, the message only %, CR and LF."""
    name = "we%ird,name:x\ny\rz"
    root = make_catalog({INTEGRATION: VALID_INTEGRATION})
    (root / "integrations" / name).mkdir()
    result = validate(root, output_format="github")
    lines = [line for line in result.stdout.splitlines() if "title=path-invalid" in line]
    assert lines == [
        "::error file=integrations/we%25ird%2Cname%3Ax%0Ay%0Dz,line=1,col=1,title=path-invalid"
        "::publisher directory `we%25ird,name:x%0Ay%0Dz` is not lowercase kebab-case "
        "(a-z, 0-9 and single hyphens, 1 to 64 characters) "
        "(hint: rename it to `we-ird-name-x-y-z`)"
    ]
    found = parse_output("github", result.stdout).diagnostics
    assert [d.path for d in found if d.code == "path-invalid"] == [f"integrations/{name}"]
    assert result.exit_code == 1


def test_text_and_json_carry_the_same_awkward_name(make_catalog: MakeCatalog) -> None:
    name = "we%ird,name:x\ny"
    root = make_catalog({INTEGRATION: VALID_INTEGRATION})
    (root / "integrations" / name).mkdir()
    as_json = parse_output("json", validate(root, output_format="json").stdout)
    assert f"integrations/{name}" in {d.path for d in as_json.diagnostics}
    text = validate(root, output_format="text").stdout
    # one diagnostic, one line: the newline is shown escaped, never printed
    assert "integrations/we%ird,name:x\\u000ay:1:1: error[path-invalid]" in text


def test_github_format_is_the_default_on_github_actions(make_catalog: MakeCatalog) -> None:
    root = make_catalog({INTEGRATION: VALID_INTEGRATION + "trust_tier: community\n"})
    runner = CliRunner(env={"GITHUB_ACTIONS": "true"})
    result = runner.invoke(main, ["--root", str(root), "validate"], catch_exceptions=False)
    assert f"::error file={INTEGRATION},line=4,col=1,title=field-unknown::" in result.stdout


@pytest.mark.parametrize("output_format", FORMATS)
def test_all_formats_report_the_same_diagnostics(
    make_catalog: MakeCatalog, output_format: str
) -> None:
    files = {
        INTEGRATION: "name: no\nworkspaceId: 1.10\nvisibility: public\nvariableSchema: {}\n",
        "integrations/acme/other/integration.yaml": "- a list\n",
        "integrations/acme/other/notes.txt": "stray\n",
    }
    root = make_catalog(files)
    reference = parse_output("json", validate(root, output_format="json").stdout)
    result = validate(root, output_format=output_format)
    assert parse_output(output_format, result.stdout) == reference
    assert result.exit_code == 1


# -- the module entry point --------------------------------------------------------------------


def test_python_dash_m_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "integration_catalog", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: catalog ")
    assert "validate" in result.stdout


def test_python_dash_m_validate_in_a_catalog(make_catalog: MakeCatalog) -> None:
    root = make_catalog({INTEGRATION: VALID_INTEGRATION + "id: x\n"})
    result = subprocess.run(
        [sys.executable, "-m", "integration_catalog", "validate", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=root,
        env={**os.environ, "GITHUB_ACTIONS": ""},
    )
    assert result.returncode == 1, result.stderr
    codes = [d["code"] for d in json.loads(result.stdout)["diagnostics"]]
    assert "field-derived" in codes


def test_a_fifo_is_refused_without_hanging(make_catalog: MakeCatalog) -> None:
    """Opening a FIFO for reading blocks until a writer comes; validate must not wait."""
    root = make_catalog({"publishers.yaml": None, INTEGRATION: VALID_INTEGRATION})
    os.mkfifo(root / "publishers.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "integration_catalog", "--root", str(root), "validate"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "GITHUB_ACTIONS": ""},
    )
    assert result.returncode == 1, result.stderr
    assert "publishers.yaml:1:1: error[file-unreadable]" in result.stdout
