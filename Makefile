# The project's vocabulary. Every target is one short line you can copy.
SHELL    := /bin/bash
GO       ?= go
BIN      := bin
MODULES  := ./contracts/... ./ingest/... ./reconciler/... ./system/... ./system/testkit/...
# Used by `make run` only when WEBHOOK_TOKENS is not set; then both services listen on 127.0.0.1
# (unless INGEST_ADDR or RECONCILER_ADDR say otherwise). Never use it in production.
# Both services read METRICS_ADDR: `make run` gives the reconciler RECONCILER_METRICS_ADDR as its own.
DEV_TOKEN := dev-only-token-0123456789

.PHONY: build test run demo bench chaos lint fmt clean screenshots
build:
	$(GO) build -trimpath -o $(BIN)/ingest ./ingest/cmd/ingest
	$(GO) build -trimpath -o $(BIN)/reconciler ./reconciler/cmd/reconciler
	$(GO) build -trimpath -o $(BIN)/nubefact-sim ./system/cmd/nubefact-sim

# Integration tests use TEST_DATABASE_URL and TEST_NATS_URL when set, testcontainers otherwise.
test:
	$(GO) test -race -count=1 $(MODULES)

# Starts reconciler and ingest against DATABASE_URL and NATS_URL (default: the local servers).
run: build
	@$(BIN)/reconciler check
	@if [ -z "$$WEBHOOK_TOKENS" ]; then \
	  export WEBHOOK_TOKENS=$(DEV_TOKEN) INGEST_ADDR=$${INGEST_ADDR:-127.0.0.1:8080} RECONCILER_ADDR=$${RECONCILER_ADDR:-127.0.0.1:8081} METRICS_ADDR=$${METRICS_ADDR:-127.0.0.1:9091} RECONCILER_METRICS_ADDR=$${RECONCILER_METRICS_ADDR:-127.0.0.1:9092}; \
	  echo "WEBHOOK_TOKENS not set: using the development token $(DEV_TOKEN); listening on $$INGEST_ADDR and $$RECONCILER_ADDR"; \
	fi; \
	METRICS_ADDR=$${RECONCILER_METRICS_ADDR-:9092} $(BIN)/reconciler & r=$$!; $(BIN)/ingest & i=$$!; \
	trap 'kill -TERM $$r $$i 2>/dev/null; wait' INT TERM; wait

# The whole system on this machine: a webhook, a regularization, the events; cleans up after itself.
# Its own nats-server with the shipped configuration, every program on its identity (NATS_URL: another server).
demo: build $(BIN)/nats-server
	$(GO) run ./system/cmd/demo -bin $(BIN)

# Measurements against baselines taken in the same run (not part of test or CI).
# BENCH_COMPARE=old.json prints how each figure changed since that run.
bench: build $(BIN)/nats-server
	$(GO) run ./system/cmd/bench -bin $(BIN) -json $(BIN)/bench.json $(if $(BENCH_COMPARE),-compare $(BENCH_COMPARE))
	$(GO) test -run=NONE -bench=. -benchmem ./contracts/

# The fault-injection suite: real binaries, its own NATS and PostgreSQL, killed on purpose.
chaos: build $(BIN)/nats-server
	$(GO) test -tags chaos -count=1 -v -timeout 30m -run TestChaos ./system/chaos/

$(BIN)/nats-server:
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/nats-io/nats-server/v2@v2.15.2

lint:
	@test -z "$$(gofmt -l contracts ingest reconciler system)" || { gofmt -l contracts ingest reconciler system; echo "run make fmt"; exit 1; }
	$(GO) vet $(MODULES)

fmt:
	gofmt -w contracts ingest reconciler system

clean:
	rm -rf $(BIN)

# The console's screenshots in docs/img, taken by its Chromium test (needs chromium and the test servers).
screenshots:
	SCREENSHOTS_DIR=$(CURDIR)/docs/img $(GO) test -count=1 -run TestConsoleInChromium ./system/e2e/
