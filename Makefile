# The project's vocabulary. Every target is one short line you can copy.
GO       ?= go
BIN      := bin
MODULES  := ./contracts/... ./ingest/... ./reconciler/...

.PHONY: build test run lint fmt clean
build:
	$(GO) build -trimpath -o $(BIN)/ingest ./ingest/cmd/ingest
	$(GO) build -trimpath -o $(BIN)/reconciler ./reconciler/cmd/reconciler

test:
	$(GO) test -race -count=1 $(MODULES)

lint:
	gofmt -l contracts ingest reconciler | (! grep .) || (echo "gofmt needed on the files above" && exit 1)
	$(GO) vet $(MODULES)

fmt:
	gofmt -w contracts ingest reconciler

clean:
	rm -rf $(BIN)
