# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Both create (once) and reuse a virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint doctest gallery bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,demo,notebooks]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m jaxsched demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check jaxsched tests benchmarks tools

test: lint
	$(BIN)/python -m pytest -q -n 2 --doctest-modules jaxsched tests

# docs/gallery.png: every shape and combinator (committed; regenerate after adding one)
gallery: $(STAMP)
	$(BIN)/python tools/gallery.py --out docs/gallery.png

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done
	echo "== benchmarks/finder_accuracy.py"; $(BIN)/python benchmarks/finder_accuracy.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
