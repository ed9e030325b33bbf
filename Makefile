# Persona Hub: every target sets up what it needs on a fresh machine.
# The two commands a newcomer needs: `make run` and `make test`.
# `make lint`: ruff, the import contract (lint-imports, pyproject.toml) and the type checker (mypy, pyproject.toml).

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
UV     := $(PYTHON) -m uv
STAMP  := $(VENV)/.synced

.PHONY: run sandbox test test-fast lint format bench lock clean-venv

run: $(STAMP)
	$(VPY) -m bot run

sandbox: $(STAMP)
	$(VPY) -m bot sandbox

test: $(STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(VPY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VPY) -m ruff check bot tests bench
	$(VPY) -m ruff format --check bot tests bench
	$(VENV)/bin/lint-imports --no-cache
	$(VPY) -m mypy

format: $(STAMP)
	$(VPY) -m ruff format bot tests bench
	$(VPY) -m ruff check --fix bot tests bench

bench: $(STAMP)
	$(VPY) -m bench $(BENCH_ARGS)

# Re-resolve the locked dependencies after changing pyproject.toml.
lock:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	$(UV) pip compile --universal --python-version 3.11 --generate-hashes --extra dev \
		pyproject.toml -o requirements.lock

# The environment: uv (installed with pip when missing), .venv, the locked dependencies, the project.
$(STAMP): requirements.lock pyproject.toml
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@test -x $(VPY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(VPY) requirements.lock
	$(UV) pip install --quiet --python $(VPY) --no-deps -e .
	@touch $@

clean-venv:
	rm -rf $(VENV)
