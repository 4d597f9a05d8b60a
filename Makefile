# Two commands: `make demo` (set up + render the demo dataset) and `make test`.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast assets bench clean

$(VENV)/.standalone: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh standalone
	touch $@

$(VENV)/.dev: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh standalone,dev
	touch $@ $(VENV)/.standalone

demo: $(VENV)/.standalone
	$(BIN)/wearforge generate recipes/demo.yaml

test: $(VENV)/.dev
	$(BIN)/python -m pytest

test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -m "not slow"

assets: $(VENV)/.standalone
	$(BIN)/python usd_assets/build_assets.py

bench: $(VENV)/.standalone
	$(BIN)/python -m pip install -q -e ".[standalone,bench]"
	$(BIN)/python benchmarks/render_frame.py
	$(BIN)/python benchmarks/wear_stack.py
	$(BIN)/python benchmarks/writers.py

clean:
	rm -rf out .pytest_cache
