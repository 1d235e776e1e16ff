# Every target bootstraps .venv from the lock files first; nothing is assumed beyond python3
# (with venv and pip) and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest

.DEFAULT_GOAL := help
.PHONY: help install lock generate check-generated lint fmt test test-static test-unit test-integration test-install test-e2e sandbox bench chaos mutation clean test-cluster-build test-cluster-up test-cluster-down test-cluster-build-for-tests

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

# The product (the repository root) and its development tools (tools/, a second distribution),
# both editable and without dependencies: every dependency comes from the lock.
$(STAMP): requirements/dev.txt pyproject.toml tools/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . -e tools
	@touch $(STAMP)

install: $(STAMP) ## create or update .venv from the lock files (idempotent)

lock: $(STAMP) ## re-resolve requirements/*.txt from pyproject.toml and tools/pyproject.toml
	cd requirements && ../$(BIN)/pip-compile --quiet --strip-extras --no-header --no-emit-index-url \
	  --no-emit-find-links --output-file dev.txt dev.in && sed -i '/^-e /d' dev.txt
	cd requirements && ../$(BIN)/pip-compile --quiet --strip-extras --no-header --no-emit-index-url \
	  --no-emit-find-links --constraint dev.txt --output-file runtime.txt ../pyproject.toml

generate: $(STAMP) ## regenerate the DataStorage models and the package-data copies of the spec and the CRD
	scripts/generate.sh

check-generated: $(STAMP) ## fail when a generated file is stale (fix: make generate)
	scripts/generate.sh --check

lint: $(STAMP) ## ruff (lint + format check), mypy --strict, import-linter contracts, vulture (dead code)
	$(BIN)/ruff check src tools/src tests bench chaos
	$(BIN)/ruff format --check src tools/src tests bench chaos
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vulture

fmt: $(STAMP) ## format and autofix
	$(BIN)/ruff format src tools/src tests bench chaos
	$(BIN)/ruff check --fix src tools/src tests bench

# pytest exits 5 when it collected nothing: a tier that silently ran no test is a failure here.
define run_pytest
	$(PYTEST) $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests in $(1)" >&2; exit 1; fi; exit $$rc
endef

test-unit: $(STAMP) ## the unit tier: pure core, no I/O
	@$(call run_pytest,tests/unit)

# The install suite shares nothing with the others (a cluster of its own): it runs alongside them,
# its output printed after theirs.
test-integration: $(STAMP) ## the integration tier: real processes over HTTP (emulator, simulator, audit service), the install suite alongside
	@log=$$(mktemp); $(PYTEST) -p no:cacheprovider tests/integration/install >$$log 2>&1 & install=$$!; \
	$(PYTEST) tests/integration --ignore=tests/integration/install; rc=$$?; \
	wait $$install; install_rc=$$?; \
	echo "=== tests/integration/install (ran alongside) ==="; cat $$log; rm -f $$log; \
	for code in $$rc $$install_rc; do \
	  if [ $$code -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; \
	  if [ $$code -ne 0 ]; then exit $$code; fi; \
	done

TESTCLUSTER := $(BIN)/python -m kubernaut_wfe_tools.testing.testcluster

test-install: test-cluster-build ## the chart installed until the controller's own pod is Ready, run by the node stand-in (root; about 2 min; also in test-integration)
	@$(call run_pytest,tests/integration/install)

test-cluster-build: $(STAMP) ## build kube-apiserver, kube-controller-manager, kubectl and etcd from tools/testcluster (cached outside the tree)
	$(TESTCLUSTER) build

test-cluster-up: test-cluster-build ## start a real API server in .testcluster/ (kubeconfigs there) and return once it is ready
	$(TESTCLUSTER) up

test-cluster-down: $(STAMP) ## stop the .testcluster/ cluster and remove its data
	$(TESTCLUSTER) down

sandbox: $(STAMP) ## the whole stack on loopback with the examples applied (Ctrl-C stops it)
	$(BIN)/kubernaut-wfe sandbox

test-static: $(STAMP) ## offline checks: Helm chart, kustomize, Dockerfile, bundles, Kind script rehearsal
	@$(call run_pytest,tests/static)

test-e2e: $(STAMP) ## e2e: E2E_TARGET=cluster (default, the real API server), sandbox (the emulator) or kind (tests/e2e/kind/run.sh)
	@export E2E_TARGET=$${E2E_TARGET:-cluster}; if [ "$$E2E_TARGET" = kind ]; then exec tests/e2e/kind/run.sh; fi; $(call run_pytest,tests/e2e)

# Without Go the binaries cannot be built: outside CI the real-server tests then skip (one line
# says what to install); in CI that is a failure.
test-cluster-build-for-tests: $(STAMP)
	$(TESTCLUSTER) build --unless-no-go

test: check-generated lint test-static test-unit test-cluster-build-for-tests test-integration test-e2e ## everything CI runs

bench: $(STAMP) ## benchmarks (about 50 min on 2 cores, both API servers and both engines; `python -m bench --target emulator`: 9 min; not in `test`): writes bench/results/latest.md
	$(BIN)/python -m bench

chaos: test-cluster-build ## the chaos soak (about 15 min on 2 cores; not in `test`, which runs its short version): 500 WFEs, 20 leader kills, a 5-min DataStorage outage; writes chaos/results/latest.md (CHAOS_SEED=N replays a run)
	$(BIN)/python -m chaos

mutation: $(STAMP) ## mutation testing of the pure core (slow; not in CI)
	$(BIN)/mutmut run; $(BIN)/mutmut results

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache mutants
