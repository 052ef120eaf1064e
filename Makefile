# Two entry points (see README.md): `make serve` and `make test`.
# Both create .venv from pyproject.toml on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
DATA_DIR ?= ./zoro-data

.PHONY: serve test lint check torture test-workers bench clean fuse3 chromium

$(STAMP): pyproject.toml
	-@$(MAKE) --no-print-directory fuse3
	-@$(MAKE) --no-print-directory chromium
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The power-loss tests (tests/powerloss) mount a FUSE file system through libfuse3; without it
# they skip. Best effort: installs Debian's fuse3 as root with apt-get, never fails the build.
fuse3:
	@found=; for lib in /lib/*/libfuse3.so.3 /usr/lib/*/libfuse3.so.3 /usr/lib/libfuse3.so.3; do \
		[ -e "$$lib" ] && found=1; \
	done; \
	if [ -n "$$found" ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing fuse3 (libfuse3) for the power-loss tests"; \
		(apt-get install -y -q fuse3 || (apt-get update -q && apt-get install -y -q fuse3)) \
			>/dev/null 2>&1 || echo "could not install fuse3: the power-loss tests will skip"; \
	else \
		echo "no libfuse3, and apt-get is not usable as root: the power-loss tests will skip"; \
	fi

# The dashboard's browser tests (tests/dashboard) drive Debian's chromium through its
# chromedriver; without them they skip. Best effort like fuse3: never fails the build.
chromium:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver for the dashboard's browser tests"; \
		(apt-get install -y -q chromium chromium-driver \
			|| (apt-get update -q && apt-get install -y -q chromium chromium-driver)) \
			>/dev/null 2>&1 || echo "could not install chromium: the dashboard's browser tests will skip"; \
	else \
		echo "no chromium, and apt-get is not usable as root: the dashboard's browser tests will skip"; \
	fi

serve: $(STAMP)
	$(VENV)/bin/zoro serve --data-dir $(DATA_DIR)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

torture: $(STAMP)
	$(VENV)/bin/pytest -q -m torture

test-workers: $(STAMP)
	ZORO_TEST_WORKERS=2 $(VENV)/bin/pytest -q

bench: $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[dev,bench]'
	$(VENV)/bin/python -m bench.run_all
	# (the HTTP and curve benches need wrk: apt-get install wrk)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
