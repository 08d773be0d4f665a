# Two commands matter for a fresh machine: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The database `make run` serves: the practice's (data/caseload.duckdb) when it exists, else the
# demo practice (data/demo.duckdb, built when missing). The choice is made in Python
# (analytics/store/paths.py, serve_path), the same one the app makes. DB=path overrides it.
DB     ?=
PORT   ?= 8501

.PHONY: run test test-fast e2e fuzz lint bench demo lock clean-env help

help:
	@echo "make run        - set up (if needed), serve data/caseload.duckdb, or else the demo (built if missing), on http://localhost:$(PORT)"
	@echo "make test       - set up (if needed) and run the whole test suite"
	@echo "make test-fast  - the test suite without the real-browser tests"
	@echo "make e2e        - only the real-browser tests (Debian's /usr/bin/chromium)"
	@echo "make fuzz       - run the hostile corpus (1,000+ malformed files) through the importer"
	@echo "make lint       - ruff, mypy and the import-linter contracts (no UI in the core; layers)"
	@echo "make bench      - print one benchmark table for both backends (DuckDB file, PostgreSQL): pages, import, reports, memory, load; BENCH_FULL=1 adds 5,000 couples"
	@echo "make demo       - rebuild the demo practice in data/demo.duckdb (never replaces a practice's records)"
	@echo "make lock       - re-resolve requirements.lock from pyproject.toml (needs network to PyPI)"
	@echo "make clean-env  - delete the virtual environment ($(VENV))"

# The environment is rebuilt when the lock file changes. Hashes are checked on install.
$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	@touch $(STAMP)

run: $(STAMP)
	$(if $(DB),CASELOAD_DB=$(DB)) $(BIN)/python -m analytics serve-path --build-demo
	$(if $(DB),CASELOAD_DB=$(DB)) $(BIN)/streamlit run app.py --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e"

e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e

fuzz: $(STAMP)
	$(BIN)/python -m tests.hostile.runner

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

demo: $(STAMP)
	$(BIN)/python -m analytics demo --force

lock:
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes -o requirements.lock

clean-env:
	rm -rf $(VENV)
