# iocmatch — make targets. `make test` is the command CI runs (see .ci/run).
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 20s
COUNT    ?= 6
BIN      := bin/iocmatch

.PHONY: build run test race fuzz bench bench-e2e lint vuln clean

build:
	$(GO) build -o $(BIN) ./cmd/iocmatch

run: build
	./$(BIN) serve

# The test command of README.md: every package, with the race detector.
test:
	$(GO) test -race -count=1 $(PKGS)

race: test

# Runs every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# Go benchmarks of every stage (decode, extract, each structure, the whole
# match path, compile, alert encoding, feeds), COUNT runs of BENCHTIME each,
# summarised with benchstat (pinned; fetched through the module proxy on
# first use). Narrow with BENCH='Match' PKGS=./engine/match/ (write $$ for
# a $ in BENCH: make expands $). Compare two
# runs: cp bench.out old.out; make bench; go run $(BENCHSTAT) old.out bench.out
# The end-to-end figures (engine vs raw NATS) come from `make bench-e2e`.
BENCHSTAT ?= golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCHTIME ?= 200ms
BENCH     ?= .
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(COUNT) $(PKGS) | tee bench.out
	@if grep -q '^FAIL' bench.out; then echo "make bench: a benchmark failed (see bench.out)"; exit 1; fi
	$(GO) run $(BENCHSTAT) bench.out

# End to end: iocmatch vs raw NATS (core) and raw JetStream, with the
# correctness check (see bench/README.md).
bench-e2e: build
	./$(BIN) bench
	./$(BIN) bench --mode jetstream

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); else echo "staticcheck not installed: skipped"; fi

vuln:
	@if command -v govulncheck >/dev/null; then govulncheck $(PKGS); else echo "govulncheck not installed: skipped"; fi

clean:
	rm -rf bin bench.out
