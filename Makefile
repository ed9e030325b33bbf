# Persona Hub: every target sets up what it needs on a fresh machine.
# The two commands a newcomer needs: `make run` and `make test`.
# With no DISCORD_TOKEN, `make run` is the offline playground; it keeps its world, database and log in
# var/playground (`make run FRESH=1` starts over); `make tour` plays scripts/tour.txt in a new, temporary world.
# `make lint`: ruff, the import contract (lint-imports, pyproject.toml) and the type checker (mypy, pyproject.toml).
# `make model`: a real local model (llama.cpp's server with SmolLM2-135M-Instruct), built once per machine into
# a cache outside the repository (scripts/realmodel.sh); `make test-realmodel`: the bot's tests against it.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
UV     := $(PYTHON) -m uv
STAMP  := $(VENV)/.synced

.PHONY: run sandbox tour test test-fast test-realmodel model model-build lint format bench lock clean-venv

PLAYGROUND_FLAGS := $(if $(FRESH),--fresh)

run: $(STAMP)
	$(VPY) -m bot run $(PLAYGROUND_FLAGS)

sandbox: $(STAMP)
	$(VPY) -m bot sandbox $(PLAYGROUND_FLAGS)

# The five-minute tour, offline, in a temporary folder (its own world and database; nothing of var/ is touched).
tour: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		DATABASE_URL="sqlite+aiosqlite:///$$tmp/tour.db" LLM_BASE_URL= \
		$(VPY) -m bot sandbox --home "$$tmp" --script scripts/tour.txt

MODEL_PORT ?= 8181

test: $(STAMP)
	$(VPY) -m pytest -m "not realmodel" $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(VPY) -m pytest -m "not slow and not realmodel" $(PYTEST_ARGS)

# The suite against the real model: the first run on a machine builds the server (8 to 20 minutes on 2 cores).
test-realmodel: $(STAMP) model-build
	$(VPY) -m pytest -m realmodel tests/realmodel $(PYTEST_ARGS)

model-build:
	bash scripts/realmodel.sh build

# Serve the real model on 127.0.0.1:$(MODEL_PORT) (it prints the LLM_BASE_URL to put in .env).
model: model-build
	bash scripts/realmodel.sh serve $(MODEL_PORT)

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
