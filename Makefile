# Two commands on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# The first interpreter on PATH that is Python >= 3.12 (pyenv picks 3.12 via .python-version).
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 python; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    echo $$p; break; fi; done)

.PHONY: install train demo chat test bench evaluate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.12 or newer is needed (none found on PATH)"; exit 1; fi
	@echo "creating $(VENV) with $$($(PYTHON) --version)"
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

train: install
	$(PY) -m bot train

demo: train
	$(PY) -m bot chat

chat: install
	$(PY) -m bot chat

test: install
	@tools/ensure-postgres.sh
	$(PY) -m pytest

bench: install
	$(PY) -m benchmarks

evaluate: install
	$(PY) -m bot evaluate

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
