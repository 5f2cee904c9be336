# Two commands matter on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

PORT ?= 8000

# Until the feed service lands (issue #4), `make run` checks the sample channel feed and serves
# it as a static file; it refuses to serve a feed that fails validation.
run: $(STAMP)
	$(BIN)/roku-feed validate sample_content/feed.json
	@echo "Serving the sample channel feed at http://127.0.0.1:$(PORT)/feed.json (Ctrl-C stops)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory sample_content

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/bench_validate.py --write-readme

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
