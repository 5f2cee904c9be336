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

# Builds the channel feed from sample_content/ and serves it; a build that fails validation
# writes nothing, so nothing invalid is ever served.
run: $(STAMP)
	$(BIN)/roku-feed build sample_content/articles --channel sample_content/channel.json \
		-o build/feed.json --report build/report.json
	@echo "Serving the channel feed at http://127.0.0.1:$(PORT)/feed.json (Ctrl-C stops)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory build

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
	rm -rf $(VENV) build dist var .pytest_cache .ruff_cache
