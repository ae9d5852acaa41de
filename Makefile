# ArrestCast. `make` lists the targets; `make demo` and `make test` are the first two to run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := $(CURDIR)/.bin
MINIO     := $(BIN)/minio
MINIO_MOD := github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
DEV       := $(CURDIR)/.dev
FN        ?=
AS_OF     ?=
CRIMES    ?=
export GOFLAGS := -buildvcs=false

# The conformance tests against the real OpenFaaS tools (faas-cli, of-watchdog: FAAS_CLI / OF_WATCHDOG,
# else PATH, else ../shared/bin; `go run ./cmd/devstack tools` says which).
OPENFAAS_TESTS := TestFaasCLI|TestDaemonRunsFunctionsBehindTheRealWatchdog|TestFunctionsGeneratedFromStack
RUNS      ?=

.PHONY: help build test test-openfaas unit integration lint verify-functions test-browser up logs invoke dev dev-down demo status bench clean tools minio postgres kubernetes

help: ## list the targets
	@echo "ArrestCast: monthly Chicago arrest-prediction pipeline as OpenFaaS functions"
	@echo
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## compile every package and command
	$(GO) build ./...

lint: ## gofmt + go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

test: lint minio postgres ## unit + integration tests against a real MinIO and PostgreSQL (started here), with the OpenFaaS conformance tests when faas-cli and of-watchdog are found
	@$(GO) run ./cmd/devstack tools
	MINIO_BIN=$(MINIO) $(GO) test -tags integration -count=1 -timeout 30m ./...

test-openfaas: minio postgres ## the real faas-cli against the local stack, functions behind the real of-watchdog, deploy/kubernetes regenerated
	@$(GO) run ./cmd/devstack tools -require
	MINIO_BIN=$(MINIO) $(GO) test -tags integration -count=1 -timeout 20m -run '$(OPENFAAS_TESTS)' ./internal/devstack/ ./internal/deploycheck/

kubernetes: ## regenerate deploy/kubernetes/functions.yml from stack.yml (faas-cli generate)
	$(GO) run ./cmd/devstack kubernetes

unit: ## unit tests only (no services)
	$(GO) test -count=1 ./...

CHROMIUM ?= /usr/bin/chromium

test-browser: postgres ## the dashboard and predict's docs page in headless Chromium over a real chain run; writes docs/screenshots/
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium from Debian's packages..."; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	  else echo "Chromium is needed at $(CHROMIUM): apt-get install chromium, or CHROMIUM=/path/to/chromium"; exit 1; fi; \
	fi
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null; \
	  else echo "node >= 20 and npm are needed"; exit 1; fi; \
	fi
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { echo "node >= 20 is needed (playwright-core), found $$(node --version)"; exit 1; }
	cd internal/browsertest && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	$(GO) vet -tags browser ./internal/browsertest/
	CHROMIUM=$(CHROMIUM) $(GO) test -tags browser -count=1 -timeout 20m -v -run TestBrowser ./internal/browsertest/

verify-functions: ## build every function in stack.yml as faas-cli would (shrinkwrap + Dockerfile build stage), offline
	$(GO) run ./cmd/faasbuild -f stack.yml verify

minio: $(MINIO) ## build the MinIO server (AGPL: a separate program, never imported)
$(MINIO):
	@echo "Building MinIO into $(BIN) (first time only: about 5 minutes on 2 cores)..."
	@mkdir -p $(BIN)
	GOBIN=$(BIN) GOFLAGS= $(GO) install $(MINIO_MOD)

postgres: ## make sure PostgreSQL can be had: DATABASE_URL, a local server, or the system's binaries
	@if [ -n "$$DATABASE_URL" ]; then exit 0; fi; \
	if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then exit 0; fi; \
	if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing PostgreSQL from Debian's packages..."; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null && exit 0; \
	fi; \
	echo "PostgreSQL is needed: install it (apt-get install postgresql / brew install postgresql) or set DATABASE_URL"; exit 1

up: ## deploy to OpenFaaS: faas-cli up -f stack.yml
	@command -v faas-cli >/dev/null || { echo "faas-cli is not installed: see faasd/README.md (or run 'make dev' for the local stack)"; exit 1; }
	faas-cli up -f stack.yml

dev: minio postgres ## start the local stack (MinIO, PostgreSQL, Socrata stand-in, gateway, functions) in the background; CRIMES=FILE as for demo
	@if [ -n "$(CRIMES)" ] && [ ! -f "$(CRIMES)" ]; then echo "CRIMES=$(CRIMES): no such file"; exit 2; fi
	$(if $(CRIMES),SOCRATA_CRIMES=$(abspath $(CRIMES))) $(GO) run ./cmd/devstack up

dev-down: ## stop the local stack
	$(GO) run ./cmd/devstack down

status: ## processes and services, every unfinished or failed run, then the newest finished ones (RUNS=10 for more)
	$(GO) run ./cmd/devstack status $(if $(RUNS),-runs $(RUNS))

logs: ## a function's logs: make logs FN=train (faas-cli logs when deployed)
	@test -n "$(FN)" || { echo "usage: make logs FN=<function>"; exit 2; }
	@if [ -f $(DEV)/stack.json ]; then $(GO) run ./cmd/devstack logs $(FN); \
	 elif command -v faas-cli >/dev/null; then faas-cli logs $(FN); \
	 else echo "no local stack running and faas-cli is not installed"; exit 1; fi

invoke: ## call a function as the cron-connector does: make invoke FN=download; AS_OF=YYYY-MM-DD runs that date (or BODY='{...}')
	@test -n "$(FN)" || { echo "usage: make invoke FN=<function> [AS_OF=YYYY-MM-DD]"; exit 2; }
	$(if $(AS_OF),BODY='{"as_of":"$(AS_OF)"}') $(GO) run ./cmd/devstack invoke $(FN)

demo: minio postgres ## the whole system on the bundled 2017 data; CRIMES=FILE serves another portal export (CSV, plain or .gz, any years)
	@if [ -n "$(CRIMES)" ] && [ ! -f "$(CRIMES)" ]; then echo "CRIMES=$(CRIMES): no such file"; exit 2; fi
	$(if $(CRIMES),SOCRATA_CRIMES=$(abspath $(CRIMES))) $(GO) run ./cmd/devstack demo

bench: ## benchmarks vs the Python reference; writes bench/results.md
	$(GO) run ./cmd/bench

clean: ## stop the local stack and remove build outputs (keeps the MinIO binary)
	-@[ -f $(DEV)/stack.json ] && $(GO) run ./cmd/devstack down
	rm -rf build $(DEV)
