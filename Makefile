# collab_fastai: `make reproduce` runs the chapter, `make test` checks everything. Both install first if needed.
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3
STAMP  := $(VENV)/.installed-stamp

.PHONY: install reproduce test test-fast export check-export bench clean

install: $(STAMP)

# Idempotent: reinstalls only when pyproject.toml or constraints.txt change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

reproduce: install
	$(BIN)/collab-fastai sizes --profile book
	$(BIN)/collab-fastai sizes --profile fastai

# The notebooks in nbs/ are the source: export them, and fail if that changed collab_fastai/.
export: install
	$(BIN)/nbdev-export

check-export: export
	@if [ -n "$$(git status --porcelain -- collab_fastai)" ]; then \
	  echo "nbdev-export changed collab_fastai/ (edit the notebooks in nbs/, then run 'make export' and commit):"; \
	  git status --short -- collab_fastai; exit 1; fi

test: check-export
	$(BIN)/pytest
	$(BIN)/nbdev-test

# Quick loop while editing: no training on the real data.
test-fast: install
	$(BIN)/pytest -m 'not slow'

clean:
	rm -rf $(VENV) reproduction bench.json .pytest_cache
