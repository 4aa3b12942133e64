package otlp

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracer-dev/tracer/export"
)

// Resource is what describes every resource tracer sends, besides the
// process: the service name (OTEL_SERVICE_NAME) and the attributes of
// OTEL_RESOURCE_ATTRIBUTES.
type Resource struct {
	ServiceName string
	Attributes  [][2]string // in the order given
	Host        string      // host.name; "" means os.Hostname
}

// ParseResourceAttributes reads the value of OTEL_RESOURCE_ATTRIBUTES:
// comma-separated key=value pairs whose values may be percent-encoded.
func ParseResourceAttributes(s string) ([][2]string, error) {
	var out [][2]string
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("resource attribute %q is not key=value", kv)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("resource attribute %q: %w", kv, err)
		}
		out = append(out, [2]string{k, dv})
	}
	return out, nil
}

// fill sets the attributes of the resource of process p (p.PID 0: the
// session's own resource, for the logs and metrics of no one process).
func (r *Resource) fill(res pcommon.Resource, p export.Process) {
	m := res.Attributes()
	for _, kv := range r.Attributes {
		m.PutStr(kv[0], kv[1])
	}
	name := r.ServiceName
	if name == "" {
		if _, ok := m.Get("service.name"); !ok {
			name = "tracer"
			if p.Executable != "" {
				name = "tracer:" + p.Executable
			}
		}
	}
	if name != "" {
		m.PutStr("service.name", name)
	}
	m.PutStr("host.name", r.host())
	if p.PID > 0 {
		m.PutInt("process.pid", int64(p.PID))
	}
	if p.Executable != "" {
		m.PutStr("process.executable.name", p.Executable)
	}
	if p.ExecutablePath != "" {
		m.PutStr("process.executable.path", p.ExecutablePath)
	}
	if p.RuntimeName != "" {
		m.PutStr("process.runtime.name", p.RuntimeName)
	}
	if p.RuntimeVersion != "" {
		m.PutStr("process.runtime.version", p.RuntimeVersion)
	}
}

func (r *Resource) host() string {
	if r.Host == "" {
		r.Host, _ = os.Hostname()
	}
	return r.Host
}
