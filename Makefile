# Two commands matter on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core, which the browser tests run in each page (tests/test_console_browser.py): installed
# here with npm, so that the tests themselves run offline.
AXE_CORE := axe-core@4.14.1

.PHONY: run test fuzz lint bench bench-build bench-probe bench-service bench-serve bench-pg clean

# Reinstalled when the C scanner changes too: the editable install builds it in place.
$(STAMP): pyproject.toml setup.py roku_feed/_locate.c
	PYTHON=$(PYTHON) bash scripts/system-deps.sh build
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	npm install --prefix $(VENV)/npm --no-audit --no-fund --loglevel=error $(AXE_CORE)
	touch $(STAMP)

PORT ?= 8000

# Serves the channel feed built from sample_content/ with the production server (granian):
# the feed at /feed.json, the operator API under /api/v1, /healthz, /readyz and /metrics.
run: $(STAMP)
	$(BIN)/roku-feed serve --bind 127.0.0.1:$(PORT) --content sample_content/articles \
		--channel sample_content/channel.json --data-dir var

test: $(STAMP)
	bash scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# The property tests with fresh random examples, 2,000 per property (make test draws a fixed set);
# hypothesis prints how many examples each property ran and how they ended.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q --hypothesis-show-statistics \
		$(shell grep -l "from hypothesis" tests/*.py)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/bench_validate.py --write-readme

bench-build: $(STAMP)
	$(BIN)/python bench/bench_build.py --write-readme

bench-probe: $(STAMP)
	$(BIN)/python bench/bench_probe.py --write-readme

bench-service: $(STAMP)
	$(BIN)/python bench/bench_service.py --write-readme

# gunicorn is a contender of the serving benchmark only, not a dependency of roku_feed
bench-serve: $(STAMP)
	$(BIN)/pip install --quiet gunicorn
	$(BIN)/python bench/bench_serve.py --write-readme

# a throwaway PostgreSQL server (tests/pg.py) and three `roku-feed serve`; needs wrk
bench-pg: $(STAMP)
	$(BIN)/python bench/bench_pg.py --write-readme

clean:
	rm -rf $(VENV) build dist var .pytest_cache .ruff_cache
