# The two commands of the quick start: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements/lock.txt pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
NPM    ?= npm
# Third-party front-end files (htmx, ECharts) are copied here from node_modules: never committed.
VENDOR := platform/duban/web/static/vendor
LOCALE := platform/duban/locale
PO_FILES := $(wildcard $(LOCALE)/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: demo test lint install lock smoke bench-provision bench-sweep clean-data help static makemessages

help:
	@echo "make demo   - set up and run the product (embedded PostgreSQL if no DATABASE_URL)"
	@echo "make test   - set up, lint (ruff) and run the whole test suite"
	@echo "make lint   - ruff check . (the rule set in pyproject.toml)"
	@echo "make test-days - the suite once per hard day (DUBAN_TODAY: quarter end, 31 Dec, after Spring Festival, 调休 Saturday, 29 Feb 2028)"
	@echo "make lock   - re-resolve requirements/lock.txt from pyproject.toml"
	@echo "make static - npm ci if needed, copy htmx/ECharts into the web app's static/vendor, compile catalogues"
	@echo "make drills - the fault drills, 20 runs each (kill -9 of workers, Redis restart, two beats, dropped database connection)"
	@echo "make makemessages - re-extract the English catalogue (translate new entries afterwards)"

$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet --require-hashes -r requirements/lock.txt
	@# Two source roots (".", "platform") make setuptools install through a meta-path finder and print an
	@# "Editable installation." note about same-named folders (information only, not a deprecation): hidden
	@# by its exact text, so that any real warning of our pyproject still shows.
	PYTHONWARNINGS="ignore:Editable installation." $(PY) -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) static

# --- web assets: npm packages (exact versions, package-lock.json) and compiled catalogues ----
# `npm ci` runs when node_modules is missing or older than the lock file.
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

$(VENDOR)/htmx.min.js: node_modules/.package-lock.json
	@mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $@

$(VENDOR)/echarts.min.js: node_modules/.package-lock.json
	@mkdir -p $(VENDOR)
	cp node_modules/echarts/dist/echarts.min.js $@

# compilemessages (GNU gettext's msgfmt) for every catalogue; the .po files are committed.
$(MO_FILES): %.mo: %.po | $(STAMP)
	cd platform/duban && env -u DJANGO_SETTINGS_MODULE $(CURDIR)/$(VENV)/bin/django-admin compilemessages --verbosity 0

static: $(VENDOR)/htmx.min.js $(VENDOR)/echarts.min.js $(MO_FILES)

# Re-extract the message catalogues from templates and code (then translate the new entries
# in $(LOCALE)/en/LC_MESSAGES/django.po; `make` compiles them).
makemessages: $(STAMP)
	$(PY) -m duban.devenv run -- $(VENV)/bin/duban makemessages -l en --no-obsolete --no-wrap --add-location=file \
		--ignore=.venv --ignore=node_modules --ignore=.duban --ignore=tests --ignore=bench --ignore=build \
		--ignore=helm --ignore=docs --ignore=dist

demo: install
	$(PY) -m duban.devenv demo

# ruff first: pyflakes, pycodestyle, isort, bugbear, pyupgrade and PLC0415 (imports inside
# functions); the layer rules are a test (tests/test_architecture.py).
lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: install lint
	$(PY) -m duban.devenv run --broker-dir broker-test -- $(PY) -m pytest $(PYTEST_ARGS)

# The suite on the days that are hard for this domain, the county's date pinned by DUBAN_TODAY in
# every process (tests, workers, CLI): the last day of a quarter, 31 December, the first working
# day after Spring Festival 2026, a make-up Saturday (调休), 29 February 2028 (a year the official
# calendar does not know yet). Every day runs even when one fails; the summary names the failures.
HARD_DAYS ?= 2026-09-30 2026-12-31 2026-02-24 2026-10-10 2028-02-29
.PHONY: test-days
test-days: install
	@failed=""; for day in $(HARD_DAYS); do \
	  echo "== the suite as of $$day (DUBAN_TODAY=$$day)"; \
	  DUBAN_TODAY=$$day DUBAN_TEST_DAYS=1 $(PY) -m duban.devenv run --broker-dir broker-test -- $(PY) -m pytest $(PYTEST_ARGS) \
	    || failed="$$failed $$day"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-days: the suite failed as of:$$failed"; exit 1; fi; \
	echo "test-days: the suite passed as of each of $(HARD_DAYS)"

smoke: install
	$(PY) -m duban.devenv run --broker-dir broker-test -- $(PY) -m pytest -m smoke $(PYTEST_ARGS)

bench-provision: install
	$(PY) -m duban.devenv run -- $(PY) bench/provision.py

bench-sweep: install
	$(PY) -m duban.devenv run -- $(PY) bench/sweep.py $(ARGS)

.PHONY: bench-api
bench-api: install
	$(PY) -m duban.devenv run -- $(PY) bench/api.py $(ARGS)

.PHONY: bench-city
bench-city: install
	$(PY) -m duban.devenv run -- $(PY) bench/city.py $(ARGS)

.PHONY: drills
drills: install
	DUBAN_DRILL_RUNS=20 $(PY) -m duban.devenv run --broker-dir broker-drills -- $(PY) -m pytest -m drill $(PYTEST_ARGS)

.PHONY: bench-scale
bench-scale: install
	$(PY) -m duban.devenv run -- $(PY) bench/scale.py $(ARGS)

.PHONY: bench-load
bench-load: install
	$(PY) -m duban.devenv run -- $(PY) bench/load.py $(ARGS)

lock:
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --generate-hashes --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements/lock.txt pyproject.toml
	@# The image's lock: the same versions (constrained by lock.txt) without the dev extra, plus
	@# what building the project needs (setuptools, wheel: the image builds it without downloading).
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --build-deps-for wheel -c requirements/lock.txt \
		-o requirements/runtime.txt pyproject.toml

clean-data:
	$(PY) -m duban.devenv pg stop || true
	rm -rf .duban
