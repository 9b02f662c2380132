# One-command entry points; each does its own set-up (venv, services).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv services test demo lint format bench clean

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

services:
	scripts/services.sh

test: venv services
	$(PY) -m pytest -q

demo: venv services
	$(PY) scripts/demo.py

lint: venv
	$(VENV)/bin/ruff check reddit_crawler standin tests benchmarks scripts
	$(VENV)/bin/ruff format --check reddit_crawler standin tests benchmarks scripts

format: venv
	$(VENV)/bin/ruff check --fix reddit_crawler standin tests benchmarks scripts
	$(VENV)/bin/ruff format reddit_crawler standin tests benchmarks scripts

bench: venv services
	$(PY) benchmarks/bench_storage.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo-out
