# Headend — the two commands a newcomer needs: `make demo` and `make test`.
# Both set themselves up: a virtualenv in .venv, the package and its dependencies,
# and ffmpeg (from the OS packages when missing; see scripts/ensure-system-deps).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint typecheck bench setup clean

setup: $(STAMP) system-deps web-assets

# The admin panel's browser libraries (htmx, hls.js) from the npm registry, pinned in web-assets/;
# copied into src/headend/web/static/vendor/ (gitignored). Without npm the panel says what is missing.
.PHONY: web-assets
web-assets:
	@bash scripts/ensure-web-assets

$(STAMP): pyproject.toml
	@bash scripts/ensure-venv $(PYTHON) $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

.PHONY: system-deps
system-deps: $(STAMP)
	@PATH="$(abspath $(BIN)):$$PATH" bash scripts/ensure-system-deps $(SYSTEM_DEPS)

demo: SYSTEM_DEPS = ffmpeg
demo: setup
	$(BIN)/headend demo

test: SYSTEM_DEPS = ffmpeg test-players browser
test: setup
	bash scripts/check
	$(BIN)/python -m pytest

check: setup
	bash scripts/check

bench: SYSTEM_DEPS = ffmpeg bench-peers
bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
