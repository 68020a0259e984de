# The two commands of a fresh machine:
#   make demo   run Ingot on its embedded default (SQLite, in-process worker, simulated lab)
#   make test   run the whole test suite (on SQLite, and its database-facing half on a real PostgreSQL)
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

.PHONY: demo test lint test-sqlite test-postgres test-machines test-clients system-deps venv web bench clean

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

# The suite runs in four parts side by side: the database-facing half on SQLite and on PostgreSQL, and
# the parts whose subject is not the database once, on SQLite, split in two. Most of those wait (on VMs,
# Terraform, emulators, browsers), so they fill the time the database halves leave; one pass after the
# other took 56 min on a 2-core machine. Each part's output is printed whole when it ends
# (--output-sync); make fails if any does. The marks come from the folders (tests/support/marks.py;
# tests/test_suite_parts.py checks that every mark runs in exactly one part).
NOT_DATABASE := qemu or network or terraform or bmc or fleet or lab or client or production
PARTS := test-sqlite test-postgres test-machines test-clients

test: system-deps $(STAMP) $(WEB_DIST)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j4 --output-sync=target $(PARTS)

# pyflakes, import order and line length (ruff), and the layers contract (import-linter):
# imports point down the layers only. Both are configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check api tests bench migrations
	$(BIN)/lint-imports

# pytest exits 5 when it selects nothing, which a part may do when PYTEST_ARGS names other folders;
# without PYTEST_ARGS, an empty part is a failure.
PYTEST = $(BIN)/python -m pytest $(PYTEST_ARGS) -m $(1) || { rc=$$?; [ $$rc -eq 5 ] && [ -n "$(PYTEST_ARGS)" ] || exit $$rc; }

# the database-facing half, on the embedded default
test-sqlite: $(STAMP) $(WEB_DIST)
	INGOT_TEST_DB=sqlite $(call PYTEST,"not ($(NOT_DATABASE))")

# the same half on a real PostgreSQL (tests/production runs on PostgreSQL already)
test-postgres: $(STAMP) $(WEB_DIST)
	INGOT_TEST_DB=postgres $(call PYTEST,"not ($(NOT_DATABASE))")

# QEMU machines, BMC emulators and the network lab (namespaces, bridges, FRR, BIRD, lldpd), on SQLite
test-machines: $(STAMP) $(WEB_DIST)
	INGOT_TEST_DB=sqlite $(call PYTEST,"qemu or network or bmc")

# Terraform, the fleet, the lab, the CLI and the browser, and tests/production, on SQLite. (cc10, a 2-core
# machine with a CPU hog: this part 21 min with the fleet and BMC tests elsewhere, the machines part 33 min
# with both; the other two parts 21 min)
test-clients: $(STAMP) $(WEB_DIST)
	INGOT_TEST_DB=sqlite $(call PYTEST,"terraform or fleet or lab or client or production")

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
