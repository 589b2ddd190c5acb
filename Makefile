# Every target bootstraps its own virtual environment: nothing relies on what is installed already.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := data/sample

.PHONY: install demo test test-fast serve bench lint clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/roadshow demo --data $(SAMPLE)

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not notebook"

serve: $(STAMP)
	$(BIN)/roadshow serve --import-if-empty $(SAMPLE)

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

# Pictures of the console for docs/ (the browser tests' steps in Debian's Chromium: apt-get install -y chromium).
screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots

lint: $(STAMP)
	$(BIN)/ruff check matcher api roadshow tests bench
	$(BIN)/mypy matcher api roadshow

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
