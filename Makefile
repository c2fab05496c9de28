# The two commands of the quick start: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements/lock.txt pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: demo test install lock smoke bench-provision bench-sweep clean-data help

help:
	@echo "make demo   - set up and run the product (embedded PostgreSQL if no DATABASE_URL)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lock   - re-resolve requirements/lock.txt from pyproject.toml"

$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet --require-hashes -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

demo: install
	$(PY) -m duban.devenv demo

test: install
	$(PY) -m duban.devenv run --broker-dir broker-test -- $(PY) -m pytest $(PYTEST_ARGS)

smoke: install
	$(PY) -m duban.devenv run --broker-dir broker-test -- $(PY) -m pytest -m smoke $(PYTEST_ARGS)

bench-provision: install
	$(PY) -m duban.devenv run -- $(PY) bench/provision.py

bench-sweep: install
	$(PY) -m duban.devenv run -- $(PY) bench/sweep.py $(ARGS)

.PHONY: bench-api
bench-api: install
	$(PY) -m duban.devenv run -- $(PY) bench/api.py $(ARGS)

lock:
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --generate-hashes --extra dev --strip-extras --allow-unsafe \
		-o requirements/lock.txt pyproject.toml

clean-data:
	$(PY) -m duban.devenv pg stop || true
	rm -rf .duban
