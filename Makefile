# The two commands a new user needs: `make demo` (load and serve the demo) and `make test` (the whole suite
# on SQLite and PostgreSQL). Each creates the virtual environment and installs what it needs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test serve bench clean-demo

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/umbrella demo

serve: $(INSTALLED)
	$(BIN)/umbrella serve

test: $(INSTALLED)
	scripts/test

# Scale work, never part of `make test`: the matching ladder (10k to 3M candidate arcs, then the
# fleet-diversity MIP at 10k and 100k), and every page at demo scale 1 and 10. Results: docs/benchmarks.md.
bench: $(INSTALLED)
	$(BIN)/python benchmarks/matching_ladder.py --json var/bench-matching.json
	$(BIN)/python benchmarks/matching_ladder.py --rungs 10000 100000 --diversity 50 --json var/bench-matching-diversity.json
	$(BIN)/python benchmarks/pages.py --scales 1 10 --json var/bench-pages.json

clean-demo:
	rm -f var/umbrella.sqlite3 var/umbrella.sqlite3-wal var/umbrella.sqlite3-shm
