#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the OTLP export tests run against, with the
# Collector builder and pinned versions, into a cache directory. Skips the build
# when the cached binary was made from the same builder config (its hash).
# Prints the binary's path on the last line of stdout.
#
#   .ci/otelcol.sh            # cache in $TRACER_OTELCOL_CACHE, default below
#   export TRACER_TEST_OTELCOL=$(.ci/otelcol.sh | tail -n1)
set -euo pipefail

BUILDER_VERSION=v0.161.0
cache="${TRACER_OTELCOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracer/otelcol}"
mkdir -p "$cache"

config=$(cat <<'YAML'
dist:
  name: otelcol-tracer
  description: OpenTelemetry Collector for tracer's OTLP export tests
  output_path: ./dist
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v0.161.0
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v0.161.0
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter v0.161.0
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider v1.67.0
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider v1.67.0
YAML
)
hash=$(printf '%s\n%s\n%s\n' "$BUILDER_VERSION" "$(go env GOVERSION)" "$config" | sha256sum | cut -c1-16)
bin="$cache/$hash/otelcol-tracer"
if [ -x "$bin" ]; then
  echo "otelcol: cached $bin" >&2
  echo "$bin"
  exit 0
fi

work="$cache/$hash"
mkdir -p "$work"
printf '%s\n' "$config" > "$work/builder.yaml"
if [ ! -x "$cache/builder-$BUILDER_VERSION" ]; then
  GOBIN="$cache/gobin" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
  mv "$cache/gobin/builder" "$cache/builder-$BUILDER_VERSION"
fi
start=$(date +%s)
(cd "$work" && "$cache/builder-$BUILDER_VERSION" --config builder.yaml)
mv "$work/dist/otelcol-tracer" "$bin"
rm -rf "$work/dist"
echo "otelcol: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
