# The two commands a new user needs: `make demo` (load and serve the demo) and `make test` (the whole suite
# on SQLite and PostgreSQL). Each creates the virtual environment and installs what it needs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test serve clean-demo

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

clean-demo:
	rm -f var/umbrella.sqlite3 var/umbrella.sqlite3-wal var/umbrella.sqlite3-shm
