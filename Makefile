# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PORT ?= 8001
PYTEST_ARGS ?=
TEST_WORKERS ?= 2

.PHONY: run demo test check lint format bench peers clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "IROA needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: set up, migrate the embedded SQLite database and serve IROA on http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/iroa db upgrade
	@echo "IROA is starting on http://$(HOST):$(PORT) (health: http://$(HOST):$(PORT)/api/v1/health)"
	@echo "Add a vCenter:  $(BIN)/iroa integration add vcenter NAME --url https://VCENTER --username USER --password-stdin"
	@echo "Log in as user admin: on the first start its password is printed below once (or taken from IROA_ADMIN_PASSWORD);"
	@echo "  get an API token:  curl -s -X POST http://$(HOST):$(PORT)/api/v1/auth/token -H 'Content-Type: application/json' -d '{\"username\": \"admin\", \"password\": \"...\"}'"
	@echo "  API docs: http://$(HOST):$(PORT)/api/v1/docs   (more users: $(BIN)/iroa user add NAME --role viewer)"
	$(BIN)/iroa serve --host $(HOST) --port $(PORT)

## demo: try IROA without a vCenter: VMware's simulator (1,000 VMs) and a recorded Hyper-V
##       cluster on loopback, IROA serving on ./demo-data, changes every few seconds; Ctrl-C stops all
demo: $(STAMP)
	bash tests/peers/install.sh golang-go golang-github-vmware-govmomi-dev
	$(BIN)/python -m demo --host $(HOST) --port $(DEMO_PORT)

## peers: install what the local test peers need (Go and govmomi for the vCenter simulator)
peers:
	bash tests/peers/install.sh

## test: set up, install the test peers, lint and run every test on SQLite and PostgreSQL,
##       in $(TEST_WORKERS) processes; the tests that time delays then run alone
test: $(STAMP) peers lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not serial" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS)

## check: the inner loop: lint, type check and every test that needs no peer
check: $(STAMP) lint
	$(BIN)/python -m pytest -m "not peer" -q $(PYTEST_ARGS)

## lint: ruff and mypy (strict on src/)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: sync a 10,000-VM simulator beside pyVmomi's and the lean decoder's retrieval;
##        its peak RSS at 20,000 VMs;
##        apply a 100,000-VM snapshot into an empty database and again unchanged, beside raw inserts;
##        list 100,000 VMs through the API on SQLite and PostgreSQL beside the raw SQL;
##        export 100,000 VMs to XLSX and check its peak memory;
##        list and export 10,000 VMs as of a moment three churning syncs ago;
##        watch a 10,000-VM simulator: delay, idle CPU, a burst, peak RSS;
##        time make demo to both platforms shown, its install steps from nothing included.
##        Every script runs; bench fails at the end if any missed a target.
bench: $(STAMP) peers
	@status=0; \
	for script in sync_vcenter.py apply_large.py api_lists.py export_xlsx.py history_as_of.py \
	              watch_vcenter.py "demo_start.py --install"; do \
	  (cd benchmarks && ../$(BIN)/python $$script) || status=1; \
	done; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
