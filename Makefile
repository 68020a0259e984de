# The two commands of a fresh machine:
#   make demo   run Ingot on its embedded default (SQLite, in-process worker, simulated lab)
#   make test   run the whole test suite (on SQLite, then on a real PostgreSQL)
# Both create .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# reinstall when the dependencies change; `make demo` needs only the run dependencies
STAMP     := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.run-installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_ARGS ?=  # e.g. --i-know-demo-is-insecure, which the demo wants with a HOST beyond loopback
PYTEST_ARGS ?=

.PHONY: demo test lint test-sqlite test-postgres system-deps venv web bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test,postgres]'
	rm -f $(VENV)/.installed-*
	touch $@

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	rm -f $(VENV)/.run-installed-*
	touch $@

venv: $(STAMP)

# The web console (web/, Vite) builds into the Python package, which serves it at /;
# it is rebuilt when its sources change (index.html is the stamp). npm ci installs exactly
# the versions of web/package-lock.json from the npm registry.
WEB_DIST    := api/web/dist/index.html
WEB_MODULES := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

$(WEB_MODULES): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "the web console needs Node.js (20 or newer) and npm" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_DIST): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run build

web: $(WEB_DIST)

demo: $(RUN_STAMP) $(WEB_DIST)
	$(BIN)/ingot serve --demo --host $(HOST) --port $(PORT) $(DEMO_ARGS)

system-deps:
	bash tests/support/system-deps.sh

# The two passes run side by side: most of a pass waits (on VMs, servers, subprocesses), so
# together they take little more than the SQLite pass alone. Each one's output is printed
# whole when it ends (--output-sync); make fails if either does.
test: system-deps $(STAMP) $(WEB_DIST)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# pyflakes, import order and line length (ruff), and the layers contract (import-linter):
# imports point down the layers only. Both are configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check api tests bench migrations
	$(BIN)/lint-imports

# pytest exits 5 when it collects nothing; make stops on any non-zero exit.
test-sqlite: $(STAMP) $(WEB_DIST)
	INGOT_TEST_DB=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite on PostgreSQL, except the folders whose subject is not the
# database (QEMU boots, Terraform runs, BMC emulators, the lab, the network
# lab, the CLI and browser clients) and tests/production, which runs on
# PostgreSQL already: they run once, above (folder marks in tests/conftest.py).
test-postgres: $(STAMP) $(WEB_DIST)
	INGOT_TEST_DB=postgres $(BIN)/python -m pytest \
		-m "not qemu and not terraform and not bmc and not lab and not network and not client and not production" $(PYTEST_ARGS)

# Benchmarks (minutes each; see bench/README.md). Each prints its figures and
# a baseline measured in the same run.
bench: system-deps $(STAMP)
	$(BIN)/python bench/provision_sim.py
	$(BIN)/python bench/power_sync.py
	$(BIN)/python bench/allocation.py
	$(BIN)/python bench/api_latency.py
	$(BIN)/python bench/provisioning_scale.py

clean:
	rm -rf $(VENV) .ingot .pytest_cache web/node_modules api/web/dist
