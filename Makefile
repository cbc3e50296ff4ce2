# Almanac: `make run` starts the demo catalog, `make test` runs every test.
GO       ?= go
BIN      := bin/almanac
PKGS     := ./...
# Generated code that CI regenerates and compares.
GENERATED = $(shell git ls-files '*_templ.go' 'graph/generated*.go' 'graph/model/*_gen.go' 2>/dev/null)

.PHONY: run build test unit generate check-generate lint bench schema clean

run: build
	./$(BIN) demo

build:
	$(GO) build -o $(BIN) ./cmd/almanac

# The whole suite: generated code in sync, vet, then every test on real
# PostgreSQL (127.0.0.1:5432 if it answers, else a private cluster).
test: check-generate
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 9m $(PKGS)

generate:
	$(GO) tool templ generate -path ui
	@if [ -f gqlgen.yml ] && [ -f graph/schema.graphqls ]; then $(GO) tool gqlgen generate && $(GO) run ./graph/internal/inlinelists graph/generated.go; fi

# Regenerate and fail if that changed any committed generated file.
check-generate:
	@before=$$(cat $(GENERATED) /dev/null | sha256sum); \
	$(MAKE) --no-print-directory generate >/dev/null; \
	after=$$(cat $(GENERATED) /dev/null | sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "generated code is stale: run 'make generate' and commit"; git status --short; exit 1; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

# Benchmarks: long, not part of `make test`. Figures go to docs/performance.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKGS)

# Rewrite the committed schema dump after adding a migration.
schema:
	$(GO) test ./migrations -run TestSchemaDump -update

clean:
	rm -rf bin
