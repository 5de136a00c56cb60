# collab_fastai: `make reproduce` runs the chapter, `make test` checks everything. Both install first if needed.
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3
STAMP  := $(VENV)/.installed-stamp
NBSTAMP := $(VENV)/.notebooks-stamp
LAB_PORT ?= 8888
LAB_TOKEN ?=

.PHONY: install install-notebooks lab app docs readme check-readme reproduce test test-fast test-all test-portability test-portability-quick arm64 test-arm64 \
        ci-times qemu test-wheel test-versions export check-export bench benchmark golden clean

install: $(STAMP)

# Idempotent: reinstalls only when pyproject.toml or constraints.txt change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Everything the tests, the notebooks, the grader and the site need (the `dev`, `notebooks`, `docs` and `teach` extras) in
# one pip install, one resolver run, under the same pins; pip's cache stays where the machine keeps it. It counts as
# `make install` too.
install-notebooks: $(NBSTAMP)

$(NBSTAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,notebooks,docs,teach]'
	@touch $(STAMP) $(NBSTAMP)

# JupyterLab on nbs/, on this machine only (127.0.0.1), with a kernel registered for .venv ("Python 3 (collab_fastai)").
lab: $(NBSTAMP)
	$(BIN)/python -m ipykernel install --user --name collab-fastai --display-name "Python 3 (collab_fastai)"
	@echo "JupyterLab on nbs/: open the http://127.0.0.1:$(LAB_PORT)/lab?token=... address it prints below (Ctrl-C stops it)"
	$(BIN)/jupyter lab --notebook-dir=nbs --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) --ServerApp.port_retries=0 \
	  --no-browser $(if $(LAB_TOKEN),--IdentityProvider.token=$(LAB_TOKEN)) $(if $(filter 0,$(shell id -u)),--allow-root)

# The page for a class (47_app): rate films, get the chapter's recommendations with reasons, the film map; on this machine only
# (http://127.0.0.1:$(APP_PORT)/), the chapter's collab_learner trained on start unless APP_MODEL=FILE (saved by `collab-fastai train`).
APP_PORT ?= 8000
APP_MODEL ?=
app: $(NBSTAMP)
	$(BIN)/collab-fastai app --port $(APP_PORT) $(if $(APP_MODEL),--model $(APP_MODEL))

# Every notebook run (slow cells too) and rendered by MkDocs (Material, mkdocs-jupyter) into a static site in _docs/:
# sections, a table of contents per page, a search that works from a folder; and a screenshot of the chapter's page.
# Two notebooks at a time, each on one thread (90_docs): DOCS_JOBS=1 runs them one after another.
DOCS_JOBS ?= 2
docs: $(NBSTAMP)
	$(BIN)/collab-fastai docs --out _docs --jobs $(DOCS_JOBS)

# README.md is made from nbs/index.ipynb (nbconvert's Markdown exporter; nbdev-readme would need Quarto).
readme: $(NBSTAMP)
	$(BIN)/python -c "from collab_fastai.tools.docs import write_readme; write_readme()"

check-readme: $(NBSTAMP)
	@$(BIN)/python -c "import sys; from collab_fastai.tools.docs import readme_md; \
	  sys.exit(0 if readme_md('nbs/index.ipynb') == open('README.md').read() else 'README.md is out of step with nbs/index.ipynb: edit the notebook, run make readme and commit')"
	@echo "README.md is in step with nbs/index.ipynb"

# The whole chapter under the book profile (judged) and stock fastai (its drift), into reproduction/.
reproduce: install
	$(BIN)/collab-fastai reproduce --profile both --out reproduction

# Record the reference numbers anew (collab_fastai/golden.json): the whole chapter, both profiles, portable numerics.
golden: install
	$(BIN)/collab-fastai reproduce --profile both --out reproduction-golden
	$(BIN)/python -c "from collab_fastai.golden import write_golden; print(write_golden('reproduction-golden/results.json'))"

# Seconds per epoch (stock loader, fast loader, plain PyTorch) and the full chapter's wall time, into bench.json; then
# a made-up class of 300 notebooks (right, wrong and hostile) graded at --jobs 1 and 2 (45_course), into bench-grade/; the page of
# `make app` under 30 people at once, each rating 10 films (47_app): response times (p50, p95, max) into bench-app.json.
bench: install-notebooks
	$(BIN)/collab-fastai bench --out bench.json
	$(BIN)/collab-fastai grade --bench 300 --out bench-grade
	$(BIN)/collab-fastai app --bench --sessions 30 --out bench-app.json

# MovieLens 100k's own five folds u1..u5 beside the published results (21_benchmark): every row, the tuned ones with 30
# trials per fold, two runs at a time; into benchmark/. Hours on 2 cores; interrupted, the same command goes on.
benchmark: install
	$(BIN)/collab-fastai benchmark --jobs 2 --out benchmark

# The notebooks in nbs/ are the source: export them, and fail if that changed anything in collab_fastai/.
export: install
	$(BIN)/nbdev-export

check-export: install
	@find collab_fastai -type f -name '*.py' | sort | xargs md5sum > .export-before
	@$(BIN)/nbdev-export
	@find collab_fastai -type f -name '*.py' | sort | xargs md5sum > .export-after
	@if ! cmp -s .export-before .export-after; then \
	  echo "nbdev-export changed collab_fastai/: edit the notebooks in nbs/, never the exported files; run 'make export' and commit:"; \
	  diff .export-before .export-after; rm -f .export-before .export-after; exit 1; fi
	@rm -f .export-before .export-after
	@echo "nbdev-export: collab_fastai/ is in sync with nbs/"

test: $(NBSTAMP) check-export check-readme
	$(BIN)/pytest
	$(BIN)/nbdev-test $(NBTEST_FLAGS)

# Every check there is: the tests, the full proof on emulated CPUs, the wheel, other versions, and the site with every notebook run (slow cells too).
test-all: test test-portability test-wheel test-versions docs

# The same bits on other CPUs: short runs of the eight experiments on this machine and under emulated Intel and AMD
# CPUs (Debian's qemu-user, installed here if missing), at 1 and 2 threads, each checked bit for bit (09_portability).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
qemu:
	@command -v qemu-x86_64 >/dev/null || $(SUDO) apt-get install -y -q qemu-user >/dev/null || \
	  { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q qemu-user >/dev/null; }
test-portability: install qemu
	$(BIN)/collab-fastai portability --out portability

# What CI runs (a few minutes): this machine, one emulated Intel and one emulated AMD CPU, at one thread. The full proof
# above runs when the numerics, the pins or the reference numbers change (the before-stop hook says when), and in test-all.
QUICK_CPUS ?= Haswell-v4,EPYC-Rome
test-portability-quick: install qemu
	$(BIN)/collab-fastai portability --cpus $(QUICK_CPUS) --threads 1 --out portability

# ARM64 (Apple Silicon's and Graviton's instruction set) under qemu-aarch64 user mode, away from the host's Python: Debian's
# arm64 Python 3.11 unpacked into $(ARM64)/root and the core's aarch64 wheels under the pins of constraints.txt in
# $(ARM64)/site (scripts/arm64-env.sh says how; outside the repository; re-running it redoes only what is missing).
ARM64 ?= /work/arm64
arm64: qemu
	ARM64=$(ARM64) bash scripts/arm64-env.sh

# The ARM64 checks of 09_portability, each printing its verdict (exit 1 if any differs from this machine's bits): the short
# runs under each model against this machine's probe; the operations of a collab_nn short run replayed on this machine's
# inputs; and collab_nn and dot_product_bias_wd in full under Neoverse N1. Measured 2026-12-07 on 2 cores: 3, 3 and 13 minutes
# (not for CI). Into portability-arm64/. ARM64_FULL_CPUS='neoverse-n1,max+sve-default-vector-length=32' adds SVE256's full runs
# (well over an hour: collab_nn's first epoch took 740 s under its emulation).
ARM64_CPUS ?= neoverse-n1,max+sve-default-vector-length=32
ARM64_FULL ?= collab_nn,dot_product_bias_wd
ARM64_FULL_CPUS ?= neoverse-n1
test-arm64: install arm64
	@rc=0; \
	$(BIN)/collab-fastai portability --arm64 $(ARM64) --cpus $(ARM64_CPUS) --threads 1 --out portability-arm64 || rc=1; \
	$(BIN)/collab-fastai portability --arm64 $(ARM64) --cpus $(ARM64_CPUS) --kernels collab_nn --out portability-arm64 || rc=1; \
	$(BIN)/collab-fastai portability --arm64 $(ARM64) --cpus $(ARM64_FULL_CPUS) --full $(ARM64_FULL) --out portability-arm64/full || rc=1; \
	exit $$rc

# Where the last CI run (.ci/run) spent its time: each step, the slowest tests, each notebook (from ci-times/).
ci-times: install
	$(BIN)/collab-fastai ci-times

# The package outside the checkout (94_package): the sdist and the wheel built and checked (twine), the wheel installed alone
# into a new environment in wheel-check/, the chapter's commands run away from the checkout, then with [all]. In CI.
test-wheel: install
	$(BIN)/collab-fastai wheel --out wheel-check

# The whole chapter under the oldest and the newest releases that pyproject.toml allows, in environments made by uv
# (94_package): verdicts against the book, bits against the reference numbers. Several GB and about 10 minutes: not in CI.
test-versions: install
	$(BIN)/collab-fastai versions --out versions

# Quick loop while editing: no training on the real data.
test-fast: install
	$(BIN)/pytest -m 'not slow'

clean:
	rm -rf $(VENV) reproduction reproduction-golden leaderboard benchmark portability portability-arm64 bench.json bench-grade bench-app.json tmp/out _docs .pytest_cache ci-times wheel-check versions
