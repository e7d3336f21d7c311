# Two commands: `make run` serves the app on http://127.0.0.1:5000; `make test` runs the whole suite.
# Both set everything up first (Debian packages, virtual environment, catalogues); each step is skipped
# when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
FLASK := $(BIN)/flask --app wsgi
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 5000

# Debian packages: CJK fonts and Pango for WeasyPrint (PDFs); Chromium for the browser tests.
RUN_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 shared-mime-info
TEST_PACKAGES := chromium

.PHONY: run test setup setup-test system system-test i18n lint bench clean

run: setup
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Serving on http://$(HOST):$(PORT)"
	$(BIN)/gunicorn --config python:exam.gunicorn_conf --bind $(HOST):$(PORT) wsgi:app

test: setup-test
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

lint: $(STAMPS)/venv
	$(BIN)/ruff check .

# The load tool (locust) and the profiler live in their own virtualenv, bench/.venv, from bench/requirements.txt,
# so nothing of them reaches the app's environment. BENCH_ARGS: --quick, --only NAME, --db sqlite|postgresql|both.
# The clock starts before the set-up: on a fresh clone the virtualenvs and packages count in the 15 minutes.
bench:
	@export BENCH_STARTED_AT=$$(date +%s.%N); \
	$(MAKE) --no-print-directory setup && \
	{ test -x bench/.venv/bin/python || $(PYTHON) -m venv bench/.venv; } && \
	bench/.venv/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements.txt && \
	$(BIN)/python -m bench --started-at $$BENCH_STARTED_AT $(BENCH_ARGS)

setup: system $(STAMPS)/venv i18n

setup-test: setup system-test

system:
	@$(call apt_ensure,$(RUN_PACKAGES))
	@$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || $(call apt_ensure,python3-venv)

system-test:
	@$(call apt_ensure,$(TEST_PACKAGES))

$(STAMPS)/venv: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

i18n: $(STAMPS)/venv
	@$(FLASK) i18n compile

clean:
	rm -rf $(VENV) $(STAMPS)

# Install the Debian packages in $(1) that are missing (dpkg-query is fast; apt only runs when needed).
define apt_ensure
missing=""; for p in $(1); do \
  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
  echo "Installing Debian packages:$$missing"; \
  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef
