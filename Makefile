# tracer: the README's two commands are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/tracer
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build test vet lean generate check-generated demo bench clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tracer

vet:
	$(GO) vet ./...

# Privileged tests (BPF, perf_event, uprobes) run as root and skip only when the
# kernel feature is missing.
test: build vet
	$(GO) test -count=1 -timeout 30m ./...

# lean/ builds with lake where a Lean toolchain exists; this machine has none.
lean:
	@if command -v lake >/dev/null 2>&1; then \
		cd lean && lake build; \
	else \
		echo "make lean: skipped: 'lake' is not installed (install elan, or use 'nix build .#lean')"; \
	fi

# Regenerates the BPF objects with Debian's clang-19 (apt-get install -y clang-19 llvm-19).
generate:
	$(GO) generate ./bpf/...

# Fails when the committed BPF objects differ from what the sources generate.
check-generated: generate
	git diff --exit-code -- bpf/

demo: build
	./$(BIN) check testdata/traces/valid.jsonl

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./model/...
	bench/sampling.sh

clean:
	rm -rf bin
