# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test` (and `make docs`).
# All create (once) and reuse a virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DOCS_STAMP := $(VENV)/.docs-stamp

.PHONY: demo test lint types docs gallery bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,demo,notebooks]'
	touch $(STAMP)

# The docs extra (Sphinx, MyST, myst-nb, MathJax, selenium for tests/test_docs.py), installed once.
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[docs]'
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(BIN)/python -m jaxsched demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check jaxsched tests benchmarks tools docs/conf.py

# The type check: the package as users see it (it ships py.typed).
types: $(STAMP)
	$(BIN)/mypy jaxsched

# tests/test_docs.py builds the site and reads it in headless Chromium (skipped without it).
test: lint types $(DOCS_STAMP)
	$(BIN)/python -m pytest -q -n 2 --doctest-modules jaxsched tests

# The documentation site, docs/_build/html; any warning fails the build.
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -b html -W --keep-going -n -q docs docs/_build/html

# docs/gallery.png: every shape and combinator (committed; regenerate after adding one)
gallery: $(STAMP)
	$(BIN)/python tools/gallery.py --out docs/gallery.png

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done
	echo "== benchmarks/finder_accuracy.py"; $(BIN)/python benchmarks/finder_accuracy.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache docs/_build docs/notebooks
