# Two commands on a fresh machine: `make demo` and `make test`. Both create the virtual
# environment in .venv and install the project (and its test tools) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo up test test-unit test-tools bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ticketflow demo

up: $(STAMP)
	$(BIN)/ticketflow up

# The IMAP poller is tested against a real Dovecot, installed here when missing.
test-tools:
	sh scripts/ensure-test-tools.sh

test: $(STAMP) test-tools
	$(BIN)/python -m pytest

test-unit: $(STAMP) test-tools
	$(BIN)/python -m pytest -m "not integration"

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
