// Package otlp sends what a tracing session sees to an OpenTelemetry
// Collector, continuously, over OTLP/HTTP with protobuf bodies:
//
//   - profiles (POST {endpoint}/v1development/profiles, the path of the
//     Collector's OTLP receiver while profiles are in development): one
//     ExportProfilesServiceRequest per interval, one resource per process
//     (host.name, process.pid, process.executable.name,
//     process.runtime.name and .version, service.name and
//     OTEL_RESOURCE_ATTRIBUTES), every sample with its step and action as
//     attributes, frames with function, file and line;
//   - logs (POST {endpoint}/v1/logs): one record per divergence of the live
//     check (step, action, expected and observed states) and one summary
//     per interval;
//   - metrics (POST {endpoint}/v1/metrics): per-action histograms of step
//     durations, cumulative, and the count of divergences.
//
// Sending never holds up tracing: requests wait in a bounded queue (the
// oldest is dropped when it is full), a failed request is retried with
// exponential backoff, and whatever could not be delivered is counted and
// reported when the session ends (Stats). The messages are built with the
// Collector's own pdata packages.
package otlp
