# Two commands do everything on a fresh machine:
#   make reproduce   set up .venv from the lock, then run the whole workflow (snakemake --cores all)
#   make test        set up .venv from the lock, then run the test suite
# Options: ENV=cuda (CUDA torch from envs/requirements-cuda.lock), FIND_LINKS=<folder of the torch CPU wheel>,
# CORES=<n> (default: all), SNAKEMAKE_ARGS="--configfile configs/paper.yaml" (extra Snakemake arguments).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
ENV ?= cpu
LOCK := $(if $(filter cuda,$(ENV)),envs/requirements-cuda.lock,envs/requirements.lock)
# Where this kind of machine keeps the CPU torch wheel (the find-links entry of `pip config list`).
FIND_LINKS ?= $(shell pip config get global.find-links 2>/dev/null || echo /opt/wheels)
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
UV_VERSION := 0.13.8
CORES ?= all
SNAKEMAKE_ARGS ?=

# uv: the one on PATH, else a private copy bootstrapped from PyPI with pip (a few seconds, once).
UV := $(or $(shell command -v uv 2>/dev/null),.tools/uv/bin/uv)

.PHONY: help setup reproduce test lock schema benchmark clean-results

help:
	@echo "make reproduce   set up .venv and run the whole workflow (snakemake --cores $(CORES))"
	@echo "make test        set up .venv and run the tests"
	@echo "make lock        recompile envs/*.lock from envs/*.in"
	@echo "make schema      regenerate workflow/schemas/config.schema.yaml from the config dataclasses"
	@echo "make benchmark   run the benchmarks (benchmarks/): SAE sweep trainer, toy models of superposition"

.tools/uv/bin/uv:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .tools/uv "uv==$(UV_VERSION)"

# The venv is rebuilt from the lock whenever the lock or the package metadata change.
$(VENV)/.installed-$(ENV): $(LOCK) pyproject.toml | $(UV)
	@set -e; lock="$(LOCK)"; extra=""; \
	if [ "$(ENV)" = cpu ] && grep -q '^--find-links' "$$lock" && [ ! -d "$(FIND_LINKS)" ]; then \
	  echo "note: the local torch wheel folder '$(FIND_LINKS)' does not exist on this machine;"; \
	  echo "      installing torch==2.13.0+cpu from $(TORCH_CPU_INDEX) instead (needs internet)."; \
	  echo "      Set FIND_LINKS=<folder> if the wheel lies elsewhere, or ENV=cuda on a GPU machine."; \
	  grep -v '^--find-links' "$$lock" > $(VENV).lock.tmp; lock=$(VENV).lock.tmp; \
	  extra="--extra-index-url $(TORCH_CPU_INDEX) --index-strategy unsafe-best-match"; \
	elif [ "$(ENV)" = cpu ]; then \
	  extra="--find-links $(FIND_LINKS)"; \
	fi; \
	[ -x $(VENV_PY) ] || $(UV) venv --quiet --python $(PYTHON) $(VENV); \
	if ! $(UV) pip sync --quiet --python $(VENV_PY) $$extra "$$lock"; then \
	  echo "error: could not install $(LOCK) into $(VENV). If torch==2.13.0+cpu was not found, point" >&2; \
	  echo "       FIND_LINKS at the folder holding its wheel, or use ENV=cuda on a GPU machine." >&2; \
	  rm -f $(VENV).lock.tmp; exit 1; \
	fi; \
	rm -f $(VENV).lock.tmp; \
	$(UV) pip install --quiet --python $(VENV_PY) --no-deps --no-build-isolation -e .; \
	$(VENV_PY) -m superposition.reporting --install-kernel; \
	rm -f $(VENV)/.installed-*; touch $@

setup: $(VENV)/.installed-$(ENV)

reproduce: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

test: setup
	$(VENV)/bin/pytest

lock: | $(UV)
	$(UV) pip compile envs/requirements.in --find-links $(FIND_LINKS) --emit-find-links --python-version 3.11 \
	  --quiet -o envs/requirements.lock
	$(UV) pip compile envs/requirements-cuda.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --quiet -o envs/requirements-cuda.lock

schema: setup
	$(VENV_PY) -m superposition.workflow_config workflow/schemas/config.schema.yaml

benchmark: setup
	$(VENV_PY) benchmarks/bench_sweep.py
	$(VENV_PY) benchmarks/bench_tms.py

clean-results:
	rm -rf results/toy_sae results/scorecard.* data/toy_sae logs .snakemake/incomplete
