package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/export/otlp"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/session"
)

// otlpFlags are the flags of the continuous export to an OpenTelemetry
// Collector, shared by run and attach. The standard OTEL_* variables set
// them.
func otlpFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "otlp-endpoint", EnvVars: []string{"OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"},
			Usage: "also send profiles, divergences (logs) and step durations (metrics) over OTLP/HTTP to the Collector at `URL` (http://host:4318) while tracing"},
		&cli.DurationFlag{Name: "otlp-interval", Value: session.DefaultStreamEvery,
			Usage: "with --otlp-endpoint: send one profile every `D`"},
		&cli.StringFlag{Name: "otlp-service-name", EnvVars: []string{"OTEL_SERVICE_NAME"}, Hidden: true,
			Usage: "the service.name of what is sent (default: tracer:EXECUTABLE)"},
		&cli.StringFlag{Name: "otlp-resource-attributes", EnvVars: []string{"OTEL_RESOURCE_ATTRIBUTES"}, Hidden: true,
			Usage: "`KEY=VALUE,...` resource attributes of what is sent"},
	}
}

// addOTLP makes cfg stream to the Collector named by the flags; nil when
// no endpoint is set.
func addOTLP(c *cli.Context, cfg *session.Config) (*otlp.Exporter, error) {
	endpoint := c.String("otlp-endpoint")
	if endpoint == "" {
		return nil, nil
	}
	every := c.Duration("otlp-interval")
	if every < 100*time.Millisecond {
		return nil, usage.Wrap(fmt.Errorf("invalid --otlp-interval %v: give a duration of at least 100ms, such as 10s", every))
	}
	attrs, err := otlp.ParseResourceAttributes(c.String("otlp-resource-attributes"))
	if err != nil {
		return nil, usage.Wrap(fmt.Errorf("invalid OTEL_RESOURCE_ATTRIBUTES: %w", err))
	}
	exp, err := otlp.New(otlp.Config{
		Endpoint: endpoint,
		Resource: otlp.Resource{ServiceName: c.String("otlp-service-name"), Attributes: attrs},
		Version:  version,
		Log:      cfg.Log,
	})
	if err != nil {
		return nil, usage.Wrap(err)
	}
	cfg.Stream = exp
	cfg.StreamEvery = every
	return exp, nil
}

// closeOTLP sends what is left and reports what was sent and dropped.
// Nothing it reports changes the exit code.
func closeOTLP(c *cli.Context, exp *otlp.Exporter) {
	if exp == nil {
		return
	}
	st := exp.Close()
	if st == (otlp.Stats{}) {
		return // nothing was sent or lost
	}
	fmt.Fprintf(c.App.ErrWriter, "otlp: %s to %s\n", st, exp.URL(otlp.Profiles))
}
