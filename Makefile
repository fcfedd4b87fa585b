# Two commands on a fresh machine: `make demo` and `make test`. Both create the virtual
# environment in .venv and install the project (and its test tools) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The trained classification model: built from data/train by `ticketflow train` (~30 s), rebuilt
# when the training data or the feature code changes.
MODEL := streams/artefacts/classifier-model.json
MODEL_INPUTS := $(wildcard data/train/*/*) streams/training/train.py streams/training/datasets.py streams/domain/text.py

.PHONY: install model demo up test test-unit test-tools report-font bench bench-report fuzz eval clean format

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,train]'
	touch $(STAMP)

$(MODEL): $(MODEL_INPUTS) | $(STAMP)
	$(BIN)/ticketflow train

install: $(STAMP) $(MODEL) report-font

model: $(MODEL)

demo: $(STAMP) $(MODEL)
	$(BIN)/ticketflow demo

up: $(STAMP) $(MODEL)
	$(BIN)/ticketflow up

# The IMAP poller is tested against a real Dovecot, the alert rules with promtool and a real
# Prometheus server (Debian's prometheus package), and the live board in a real headless
# chromium; installed here when missing.
test-tools: report-font
	sh scripts/ensure-test-tools.sh

# The report's charts need a CJK font where they are drawn (none where they are read).
report-font:
	sh scripts/ensure-report-font.sh

test: $(STAMP) $(MODEL) test-tools
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-unit: $(STAMP) $(MODEL) test-tools
	$(BIN)/python -m pytest -m "not integration"

bench: $(STAMP) $(MODEL)
	$(BIN)/python -m bench

# `ticketflow report` over a generated period of 350,000 requests (and as many before it).
bench-report: $(STAMP) report-font
	$(BIN)/python -m bench.report

# 100,000 generated hostile payloads against a running gateway (a short run is in `make test`).
fuzz: $(STAMP) $(MODEL)
	$(BIN)/python -m bench.fuzz --payloads 100000

eval: $(STAMP) $(MODEL)
	$(BIN)/ticketflow eval

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache $(MODEL)

# Format and fix what ruff can (make test checks both).
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
