# Two entry points a newcomer needs: `make demo` and `make test`. Both create .venv on first use,
# installing the exact versions of requirements-lock.txt (hash-checked), then curator itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements-lock.txt
RUNTIME_LOCK := requirements-runtime-lock.txt
# The lock is resolved for the platform CI and the team use, whatever machine runs `make lock`.
COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu pyproject.toml

.PHONY: demo test test-fast lint bench lock lock-upgrade clean

# A fresh venv each time the lock or the packaging changes, so .venv holds exactly the lock.
# No build isolation: the build backend (setuptools) comes from the lock too.
$(STAMP): pyproject.toml setup.py $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/curator demo

# The suite runs on TEST_WORKERS processes (pytest-xdist; `make test TEST_WORKERS=0` runs it in
# one). --dist loadgroup keeps the modules with a costly module fixture on one worker (their
# xdist_group), in the order tests/conftest.py gives (slowest first, not biggest group first);
# --durations keeps the slowest tests in sight in CI's log.
TEST_WORKERS ?= 3
PYTEST = $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder \
	--durations=25

test: $(STAMP)
	$(PYTEST)

# Everything but the wheel-install test (about a minute): for quick rounds while developing.
test-fast: $(STAMP)
	$(PYTEST) -m 'not packaging'

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	scripts/typecheck.sh
	scripts/lint_imports.sh

bench: $(STAMP)
	$(BIN)/python bench/import_bench.py

# uv resolves the lock; it comes from the lock itself (dev extra), or is bootstrapped into .venv
# when there is no usable lock yet.
$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.5,<1'

# After editing dependencies in pyproject.toml: re-resolve, keeping every pin that still fits.
lock: $(BIN)/uv
	$(COMPILE) --extra dev -o $(LOCK)
	$(COMPILE) -c $(LOCK) -o $(RUNTIME_LOCK)

# Move every pin to the newest release within pyproject's bounds (then run make test).
lock-upgrade: $(BIN)/uv
	$(COMPILE) --extra dev --upgrade -o $(LOCK)
	$(COMPILE) -c $(LOCK) -o $(RUNTIME_LOCK)

clean:
	rm -rf $(VENV) build dist *.egg-info curator-demo.duckdb
