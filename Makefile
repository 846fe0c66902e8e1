# Two commands on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# The first interpreter on PATH that is Python >= 3.12 (pyenv picks 3.12 via .python-version).
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 python; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    echo $$p; break; fi; done)

.PHONY: install train demo chat test bench evaluate clean teams-package

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

# The bot with its local browser sandbox: no Slack or Teams credentials, whatever the shell
# has set. `bot run` rebuilds the model first if it is missing or stale, then prints the URL.
demo: install
	@env -u SLACK_BOT_TOKEN -u SLACK_APP_TOKEN -u SLACK_SIGNING_SECRET -u SLACK_CLIENT_ID \
	  -u SLACK_CLIENT_SECRET -u MICROSOFT_APP_ID -u MICROSOFT_APP_PASSWORD $(PY) -m bot run

chat: install
	$(PY) -m bot chat

test: install
	@tools/ensure-postgres.sh
	@tools/ensure-chromium.sh
	@tools/ensure-npm-packages.sh
	@# Bytecode is cached (in git-ignored __pycache__ folders) even where the shell turns it off:
	@# each worker and each `python -m bot` the tests start would otherwise compile every module
	@# again, and pytest rewrite every test module's asserts (10 s of collection instead of 5).
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n auto

bench: install
	$(PY) -m benchmarks

evaluate: install
	$(PY) -m bot evaluate

# The Teams app package (manifest + icons) for MICROSOFT_APP_ID, as var/syncmedic-teams.zip.
teams-package: install
	$(PY) -m bot.teams.package

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
