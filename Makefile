# Every target bootstraps its own environment from PyPI: nothing relies on what is installed already.
# Installs come from uv.lock (exact versions with hashes, every platform); `make lock` refreshes it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-uv
UV := $(TOOLS)/bin/uv
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
SAMPLE := data/sample
LOCK_HINT := install failed; if uv says the lockfile needs to be updated, pyproject.toml changed: run make lock

# uv builds .venv on this Python and never downloads an interpreter of its own; it trusts the machine's
# certificate store, as pip does (a proxy's CA installed there works).
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_SYSTEM_CERTS := 1

.PHONY: install lock lock-upgrade demo test test-fast notebooks serve bench lint clean screenshots

# A pinned, hash-checked uv in its own small venv: the only thing installed with plain pip.
$(UV): tools/uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes --no-deps -r tools/uv.txt
	touch $@

# --locked: install exactly uv.lock, and stop if pyproject.toml changed without `make lock`.
# --compile-bytecode: every library is compiled once here, so no command pays for it at start-up.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode --extra dev || { echo "$(LOCK_HINT)" >&2; exit 1; }
	touch $@

# The benchmark baselines on top of dev; a dev-only re-sync (newer $(STAMP)) removes them, so this re-adds them.
$(BENCH_STAMP): $(STAMP)
	$(UV) sync --locked --compile-bytecode --extra dev --extra bench || { echo "$(LOCK_HINT)" >&2; exit 1; }
	touch $@

install: $(STAMP)

# After adding or removing a dependency in pyproject.toml: re-resolve, keeping every other pin.
lock: $(UV)
	$(UV) lock
	@echo "uv.lock matches pyproject.toml: if it changed, run 'make test' on it before committing it"

# Move every pin to the newest release pyproject.toml allows.
lock-upgrade: $(UV)
	$(UV) lock --upgrade
	@echo "uv.lock upgraded: run 'make test' (and 'make bench' for the bench extra) on it before committing it"

demo: $(STAMP)
	$(BIN)/roadshow demo --data $(SAMPLE)

# One worker per core (pytest-xdist); a file's tests stay on one worker, so its fixtures are built once.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit -m "not slow" -q

notebooks: $(STAMP)
	$(BIN)/python -m tools.notebooks

serve: $(STAMP)
	$(BIN)/roadshow serve --import-if-empty $(SAMPLE)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

# Pictures of the console for docs/ (the browser tests' steps in Debian's Chromium: apt-get install -y chromium).
screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots

lint: $(STAMP)
	$(BIN)/ruff check matcher api roadshow tests bench tools notebooks
	$(BIN)/mypy matcher api roadshow

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
