# Almanac: `make run` starts the demo catalog, `make test` runs every test.
GO       ?= go
# Go 1.27.3 carries the standard-library security fixes go.mod asks for;
# machines start on 1.26.8, and the go command fetches this toolchain
# through the module proxy.
export GOTOOLCHAIN := go1.27.3
BIN      := bin/almanac
# Profile-guided optimisation: go build applies cmd/almanac/default.pgo (a
# CPU profile of index builds, searches and OpenLineage ingest; `make pgo`
# records it again) to the almanac binary by itself. Benchmarks are built
# with it too, to measure what the binary runs; tests are not (it only
# changes how fast the code runs, and compiling every package twice would
# cost the suite a minute or more).
PGO      := $(CURDIR)/cmd/almanac/default.pgo
PKGS     := ./...
# Generated code that CI regenerates and compares.
GENERATED = $(shell git ls-files '*_templ.go' 'graph/generated*.go' 'graph/model/*_gen.go' 2>/dev/null)

.PHONY: run build test unit generate check-generate lint vuln bench bench-1m loadtest pgo schema clean

run: build
	./$(BIN) demo

build:
	$(GO) build -o $(BIN) ./cmd/almanac

# The whole suite: generated code in sync, vet, then every test on real
# PostgreSQL (127.0.0.1:5432 if it answers, else a private cluster).
test: check-generate
	$(GO) vet $(PKGS)
	$(GO) test -pgo=off -count=1 -timeout 9m $(PKGS)

# The //go:generate lines in graph/generate.go (gqlgen, then the list-inlining
# pass) and ui/generate.go (templ).
generate:
	$(GO) generate ./...

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

# Known vulnerabilities in the code's call graph. The vulnerability database
# comes as the golang.org/x/vulndb module through the Go module proxy (the
# vuln.go.dev site is not reachable everywhere), indexed once per version
# under ~/.cache/almanac. VULNDB=<pseudo-version> pins an older snapshot.
VULNDB      ?= latest
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.10.0
vuln:
	@set -e; \
	info=$$(cd / && $(GO) mod download -json golang.org/x/vulndb@$(VULNDB)); \
	ver=$$(printf '%s\n' "$$info" | sed -n 's/^[[:space:]]*"Version": "\(.*\)",$$/\1/p'); \
	src=$$(printf '%s\n' "$$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	db=$${XDG_CACHE_HOME:-$$HOME/.cache}/almanac/vulndb-$$ver; \
	if [ ! -f "$$db/index/db.json" ]; then \
		echo "indexing vulnerability database $$ver"; \
		rm -rf "$$db.tmp"; \
		(cd / && $(GO) run golang.org/x/vulndb/cmd/indexdb@$$ver -vulns "$$src/data/osv" -out "$$db.tmp"); \
		mv "$$db.tmp" "$$db"; \
	fi; \
	echo "govulncheck with golang.org/x/vulndb@$$ver"; \
	$(GO) run $(GOVULNCHECK) -db "file://$$db" ./...

# Benchmarks: long, not part of `make test`. Figures go to docs/performance.md.
# One package at a time (-p 1): go test otherwise runs as many packages'
# benchmarks at once as there are cores, and each measures the other.
bench:
	$(GO) test -pgo=$(PGO) -p 1 -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKGS)

# Record the profile of `go build` (PGO above) again: the build of an index
# of 100,000 datasets from PostgreSQL (and their ingest), searches, and
# OpenLineage events received and derived, merged into one profile. About
# a minute and a half; commit the new cmd/almanac/default.pgo.
pgo:
	rm -rf .pgo && mkdir .pgo
	$(GO) test -pgo=off -run '^$$' -bench 'BenchmarkRebuild/build' -benchtime 1x -timeout 30m -cpuprofile $(CURDIR)/.pgo/build.pprof ./search
	$(GO) test -pgo=off -run '^$$' -bench 'BenchmarkSearch/(build|bleve)' -benchtime 1x -timeout 30m -cpuprofile $(CURDIR)/.pgo/search.pprof ./search
	$(GO) test -pgo=off -run '^$$' -bench 'BenchmarkIngest' -benchtime 5x -timeout 30m -cpuprofile $(CURDIR)/.pgo/ingest.pprof ./lineage/olapi
	$(GO) tool pprof -proto .pgo/build.pprof .pgo/search.pprof .pgo/ingest.pprof > $(PGO)
	rm -rf .pgo

# The load test: three replicas on one database, mixed traffic for
# LOADTEST at the highest rate the machine holds (LOADTEST_WORKERS
# requests in flight), one replica killed with SIGKILL half-way and
# restarted; it fails on any error of a surviving replica or any
# acknowledged OpenLineage event lost or duplicated, and prints
# throughput and latency per endpoint before, during and after the kill.
# Figures go to docs/performance.md. `make test` runs a short version.
LOADTEST         ?= 60s
LOADTEST_WORKERS ?= 8
loadtest:
	ALMANAC_LOADTEST=$(LOADTEST) ALMANAC_LOADTEST_WORKERS=$(LOADTEST_WORKERS) \
		$(GO) test -pgo=$(PGO) -count=1 -run '^TestLoadTest$$' -v -timeout 20m ./cmd/almanac

# One node at a million datasets (BenchmarkScale at 100,000 and 1,000,000
# datasets side by side): about 7 GB of PostgreSQL (dropped after) and 7-10
# minutes on 2 idle cores (more when busy), so not part of `make bench`, which runs the 100,000 only.
bench-1m:
	ALMANAC_BENCH_SCALE=100000,1000000 $(GO) test -pgo=$(PGO) ./ui -run '^$$' -bench BenchmarkScale -benchtime 1x -timeout 240m

# Rewrite the committed schema dump after adding a migration.
schema:
	$(GO) test ./migrations -run TestSchemaDump -update

clean:
	rm -rf bin
