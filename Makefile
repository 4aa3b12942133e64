# tracer: the README's two commands are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/tracer
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build test vet lint lean generate check-generated demo bench footprint fuzz soak clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tracer

vet:
	$(GO) vet ./...

# go vet plus staticcheck, pinned (fetched through the module proxy).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@2025.1.1
lint: vet
	$(GO) run $(STATICCHECK) ./...

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

# Ends by naming the page to open: out/report.html.
demo: build
	@./$(BIN) verify --out out; st=$$?; \
	echo; echo "open out/report.html in a browser (verdicts, per-action latency, flame graphs)"; \
	exit $$st

# One run, one table: sampling and capture overhead, check throughput and
# peak RSS against a naive Python checker, pprof export of 1 M samples
# and tracer's own footprint beside perf record's (docs/performance.md).
# Needs root.
bench: build
	bench/run.sh

# bench/footprint.sh alone: tracer's own peak RSS and CPU beside perf
# record's, tracer run -- true, attach, check per million steps. Needs root.
footprint: build
	bench/footprint.sh

# Soak: 10 minutes at 999 Hz with tracer's RSS every 10 s, then 60 s that
# must lose no sample. Not part of CI.
soak: build
	bench/soak.sh

# Each fuzz target for FUZZTIME (CI: after make test), a duration (10s) or a
# count of executions (20000x). CI gives a count: with a duration, Go 1.26's
# fuzzing coordinator can report its own deadline as a failure ("context
# deadline exceeded", no failing input; golang/go#75804, fixed in Go 1.27).
# The corpora in testdata/fuzz also run as plain tests in make test.
FUZZTIME ?= 10s
FUZZ_TARGETS := model:FuzzDecodeRecord model:FuzzCheckTrace model:FuzzCheckPair \
	capture:FuzzParseFrame capture:FuzzCaptureRecord loader:FuzzDecodeRecord interp/cpython:FuzzDecodePyStack interp/cpython:FuzzDecodePyCode \
	symbolize:FuzzPerfMap symbolize:FuzzELF symbolize:FuzzProcMaps interp/cpython:FuzzLineTables \
	interp/v8:FuzzDecodeStack interp/v8:FuzzTranslation
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=./$${t%%:*}; fn=$${t##*:}; \
		$(GO) test -list "^$$fn$$" $$pkg | grep -qx "$$fn" || { echo "make fuzz: no $$fn in $$pkg" >&2; exit 1; }; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

clean:
	rm -rf bin
