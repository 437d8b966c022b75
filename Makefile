# The two commands a new user runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ADDR ?= 127.0.0.1:8000
STAMP := $(VENV)/.installed

.PHONY: install test lint run demo migrate clean bench-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml sdks/python/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]' -e sdks/python
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install lint chromium toolchains sentry-node sdk-js-modules
	$(VENV)/bin/pytest -m "not reliability"
	cd sdks/python && ../../$(VENV)/bin/pytest -q
	cd sdks/javascript && npm test
	$(MAKE) sdk-go sdk-ruby
	cd demo/shop && ../../$(VENV)/bin/pytest -q

# The Go SDK's tests, under the race detector; standard library only, so no module proxy is asked.
.PHONY: sdk-go
sdk-go: toolchains
	cd sdks/go && GOPROXY=off GOFLAGS=-mod=mod go test -race -count=1 ./...

# The Ruby SDK's minitest files, each in a ruby process of its own (one boots Rails).
.PHONY: sdk-ruby
sdk-ruby: toolchains
	cd sdks/ruby && rake test

# Real processes (two web workers, two task clusters, a digest worker) on PostgreSQL and Redis, a worker
# SIGKILLed at each stage of the pipeline: each stage's line says what was killed and what came of it.
RELIABILITY_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bugstack
.PHONY: test-reliability
test-reliability: install
	DATABASE_URL=$${DATABASE_URL:-$(RELIABILITY_DATABASE_URL)} $(VENV)/bin/pytest -m reliability -s -q tests/reliability

# The dashboard's browser tests use Debian's chromium at /usr/bin/chromium; Playwright downloads nothing.
.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The fix rules' tests run real Ruby and Go programs; the patch policy checks syntax with ruby and gofmt; the
# Go and Ruby SDKs are tested with Debian's Go, Ruby, Rack and Rails (the `rails` metapackage pulls Node.js
# packages that clash with the machine's own Node.js, so its parts are installed instead).
RUBY_PACKAGES := ruby rake ruby-rack ruby-webrick ruby-railties ruby-actionpack ruby-activejob
.PHONY: toolchains
toolchains:
	@command -v go >/dev/null && command -v rake >/dev/null \
	  && ruby -e 'require "rack"; require "webrick"; require "rails"; require "action_controller/railtie"; require "active_job/railtie"' 2>/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go $(RUBY_PACKAGES))

# The Sentry SDK tests run an Express app with @sentry/node, from the modules its lock file pins; Node.js and
# npm from Debian where the machine has none.
SENTRY_NODE := tests/ingest/sentry_node
.PHONY: sentry-node
sentry-node: $(SENTRY_NODE)/node_modules/.package-lock.json

$(SENTRY_NODE)/node_modules/.package-lock.json: $(SENTRY_NODE)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm)
	npm ci --prefix $(SENTRY_NODE) --no-audit --no-fund

# The JavaScript SDK's tests (node --test) run a real Express app and type-check index.d.ts, with the dev
# modules its lock file pins; reinstalled when node_modules is missing or older than the lock file.
SDK_JS := sdks/javascript
.PHONY: sdk-js sdk-js-modules
sdk-js: sdk-js-modules
	cd $(SDK_JS) && npm test

sdk-js-modules: $(SDK_JS)/node_modules/.package-lock.json

$(SDK_JS)/node_modules/.package-lock.json: $(SDK_JS)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm)
	npm ci --prefix $(SDK_JS) --no-audit --no-fund

migrate: install
	mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

# Web server and task cluster together on the embedded default (SQLite + ORM broker); Ctrl-C stops both.
run: migrate
	DEBUG=$${DEBUG:-1} $(PY) manage.py serve $(ADDR)

demo: migrate
	DEBUG=$${DEBUG:-1} $(PY) demo/run.py --addr $(ADDR)

clean:
	rm -rf $(VENV) var/*.sqlite3* var/screenshots

# Load generator for bench/ingest.py (Debian/Ubuntu).
bench-deps:
	command -v wrk >/dev/null || $$([ "$$(id -u)" = 0 ] || echo sudo) apt-get install -y wrk
