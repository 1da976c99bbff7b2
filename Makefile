# iocmatch — make targets. `make test` is the command CI runs (see .ci/run).
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 20s
COUNT    ?= 6
BIN      := bin/iocmatch

.PHONY: build run test race fuzz bench lint vuln clean

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

# Go benchmarks of every stage, COUNT runs each, summarised with benchstat.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count $(COUNT) $(PKGS) | tee bench.out
	$(GO) run golang.org/x/perf/cmd/benchstat@latest bench.out

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); else echo "staticcheck not installed: skipped"; fi

vuln:
	@if command -v govulncheck >/dev/null; then govulncheck $(PKGS); else echo "govulncheck not installed: skipped"; fi

clean:
	rm -rf bin bench.out
