# The two commands of the README: `make site` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE ?= site

.PHONY: site sample-tags test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The sample catalog's release tags travel in a committed bundle, since a clone or a push of
# main alone may not carry tags. Restoring adds only the tags that are missing.
RELEASES := sample-releases.bundle

sample-tags:
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -f $(RELEASES) ]; then \
		git fetch --quiet --no-write-fetch-head $(RELEASES) 'refs/tags/*:refs/tags/*' 2>/dev/null \
		|| echo "note: some sample release tags could not be restored from $(RELEASES)"; \
	fi

site: $(VENV)/.installed sample-tags
	$(BIN)/catalog validate
	$(BIN)/catalog build --out $(SITE)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/pre-commit validate-manifest .pre-commit-hooks.yaml
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml
	$(BIN)/catalog schema --check

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy --strict src

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest

test: lint typecheck pytest

# Benchmarks (not part of `make test`): synthetic catalogs of 1,000 and 10,000 integrations,
# timed against check-jsonschema and Hugo; writes docs/performance.md. A quick check:
# `make bench BENCH_ARGS="--sizes 1000"`.
BENCH_ARGS ?=

$(VENV)/.installed-bench: benchmarks/requirements.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	touch $@

bench: $(VENV)/.installed-bench
	@command -v hugo >/dev/null 2>&1 || { \
		echo "installing hugo (the reference the site build is compared with)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo >/dev/null 2>&1 \
		|| { apt-get update -qq >/dev/null 2>&1 \
			&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo >/dev/null 2>&1; } \
		|| echo "note: hugo could not be installed; the Hugo reference is skipped"; \
	}
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(SITE) .catalog-cache .pytest_cache .mypy_cache .ruff_cache
