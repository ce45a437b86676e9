# The two commands a new user needs: `make demo` (load and serve the demo) and `make test` (the whole suite
# on SQLite and PostgreSQL). Each creates the virtual environment and installs what it needs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Every dependency at the version the suite passed with, each file checked against its hash. The project
# itself is installed on top without resolving anything again.
LOCK := requirements.lock
PIP_VERSION := 26.3
PIP_TOOLS_VERSION := 7.6.2

.PHONY: demo test serve bench clean-demo lock

$(INSTALLED): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

# After changing dependencies in pyproject.toml (or to take newer releases): resolve them again into the lock
# with hashes (needs the package index), then `make test` before committing both files.
lock:
	test -x $(VENV)-lock/bin/python || $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet pip-tools==$(PIP_TOOLS_VERSION)
	$(VENV)-lock/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --extra test --output-file $(LOCK) pyproject.toml

demo: $(INSTALLED)
	$(BIN)/umbrella demo

# The local data served on plain HTTP at 127.0.0.1, like `make demo` (a deployment behind HTTPS keeps the
# default, Secure cookies).
serve: $(INSTALLED)
	UMBRELLA_SECURE_COOKIES=$${UMBRELLA_SECURE_COOKIES:-false} $(BIN)/umbrella serve

test: $(INSTALLED)
	scripts/test

# Scale work, never part of `make test`: the matching ladder (10k to 3M candidate arcs, then the
# fleet-diversity MIP at 10k and 100k), every page at demo scale 1 and 10, and a ledger of a million entries
# (append, checkpoint, proofs, verify), and pledge files of 100,000 and 1,000,000 rows through `umbrella import`.
# Results: docs/benchmarks.md.
bench: $(INSTALLED)
	$(BIN)/python benchmarks/matching_ladder.py --json var/bench-matching.json
	$(BIN)/python benchmarks/matching_ladder.py --rungs 10000 100000 --diversity 50 --json var/bench-matching-diversity.json
	$(BIN)/python benchmarks/pages.py --scales 1 10 --json var/bench-pages.json
	$(BIN)/python benchmarks/ledger.py --entries 1000000 --json var/bench-ledger.json
	$(BIN)/python benchmarks/imports.py --rows 100000 --json var/bench-imports.json
	$(BIN)/python benchmarks/imports.py --rows 1000000 --skip dry bad --json var/bench-imports-million.json
	$(BIN)/python benchmarks/eum.py --serials 1000000 --json var/bench-eum.json

clean-demo:
	rm -f var/umbrella.sqlite3 var/umbrella.sqlite3-wal var/umbrella.sqlite3-shm
