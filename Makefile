# Two commands for a fresh machine:
#   make demo   sets up a virtualenv and runs the sandbox and the bot on embedded defaults
#   make test   sets up a virtualenv and runs the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/smsbot demo

# The suite spends most of its time waiting on real processes and sockets, so it runs in more
# worker processes than there are cores; worksteal evens out the long tests. `TEST_WORKERS=0`
# runs it in one process.
TEST_WORKERS ?= 3
test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
