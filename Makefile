# Two entry points (see README.md): `make serve` and `make test`.
# Both create .venv from pyproject.toml on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
DATA_DIR ?= ./zoro-data

.PHONY: serve test lint check torture bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/zoro serve --data-dir $(DATA_DIR)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

torture: $(STAMP)
	$(VENV)/bin/pytest -q -m torture

bench: $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[dev,bench]'
	$(VENV)/bin/python -m bench.run_all
	# (the HTTP and curve benches need wrk: apt-get install wrk)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
