package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// collector is an OpenTelemetry Collector started for one test: OTLP/HTTP
// on a free loopback port, profiles, logs and metrics written as JSON lines
// by its file exporter.
type collector struct {
	endpoint string
	dir      string
	cmd      *exec.Cmd
	out      *bytes.Buffer
	exited   chan struct{}
	err      error
}

// otelcolBinary is the Collector the tests run: TRACER_TEST_OTELCOL, else
// the newest one .ci/otelcol.sh left in its default cache.
func otelcolBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRACER_TEST_OTELCOL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TRACER_TEST_OTELCOL=%s: %v; build it with: export TRACER_TEST_OTELCOL=$(.ci/otelcol.sh | tail -n1)", p, err)
		}
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	found, _ := filepath.Glob(filepath.Join(cache, "tracer", "otelcol", "*", "otelcol-tracer"))
	sort.Slice(found, func(i, j int) bool { return modTime(found[i]).After(modTime(found[j])) })
	if len(found) == 0 {
		t.Fatal("no OpenTelemetry Collector for the OTLP tests: build it (about 5 minutes the first time) with\n" +
			"   export TRACER_TEST_OTELCOL=$(.ci/otelcol.sh | tail -n1)\nfrom the repository's top directory (.ci/run does this)")
	}
	return found[0]
}

func modTime(p string) time.Time {
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCollector starts a Collector and waits until it accepts
// connections.
func startCollector(t *testing.T) *collector {
	t.Helper()
	bin := otelcolBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file/profiles:
    path: %[2]s/profiles.jsonl
  file/logs:
    path: %[2]s/logs.jsonl
  file/metrics:
    path: %[2]s/metrics.jsonl
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [file/profiles]
    logs:
      receivers: [otlp]
      exporters: [file/logs]
    metrics:
      receivers: [otlp]
      exporters: [file/metrics]
`, port, dir)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &collector{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, out: &bytes.Buffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "--config", filepath.Join(dir, "config.yaml"), "--feature-gates=service.profilesSupport")
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start the Collector %s: %v", bin, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.stop)
	for {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
			return c
		}
		select {
		case <-c.exited:
			t.Fatalf("the Collector ended before it listened: %v\n%s", c.err, c.out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop ends the Collector with SIGTERM (it then flushes its files) and
// waits until it has exited.
func (c *collector) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// jint is an OTLP JSON integer: a number or, for 64-bit fields, a string.
type jint int64

func (j *jint) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	*j = jint(n)
	return err
}

type jvalue struct {
	StringValue         *string `json:"stringValue"`
	StringValueStrindex *jint   `json:"stringValueStrindex"`
	IntValue            *jint   `json:"intValue"`
}

type jattr struct {
	Key         string `json:"key"`
	KeyStrindex jint   `json:"keyStrindex"`
	Value       jvalue `json:"value"`
}

// profilesLine is one line of the file exporter's profiles file.
type profilesLine struct {
	ResourceProfiles []struct {
		Resource struct {
			Attributes []jattr `json:"attributes"`
		} `json:"resource"`
		ScopeProfiles []struct {
			Profiles []struct {
				Samples []struct {
					StackIndex       jint   `json:"stackIndex"`
					AttributeIndices []jint `json:"attributeIndices"`
					Values           []jint `json:"values"`
				} `json:"samples"`
			} `json:"profiles"`
		} `json:"scopeProfiles"`
	} `json:"resourceProfiles"`
	Dictionary struct {
		StringTable    []string `json:"stringTable"`
		AttributeTable []jattr  `json:"attributeTable"`
		StackTable     []struct {
			LocationIndices []jint `json:"locationIndices"`
		} `json:"stackTable"`
		LocationTable []struct {
			Lines []struct {
				FunctionIndex jint `json:"functionIndex"`
				Line          jint `json:"line"`
			} `json:"lines"`
		} `json:"locationTable"`
		FunctionTable []struct {
			NameStrindex     jint `json:"nameStrindex"`
			FilenameStrindex jint `json:"filenameStrindex"`
		} `json:"functionTable"`
	} `json:"dictionary"`
}

// received is what arrived at the Collector, resolved through the
// dictionaries.
type received struct {
	requests  int
	samples   int
	byAction  map[string]int
	resources []map[string]string // one per resource
	frames    map[string]bool     // "function file:line" of every frame
}

func (l *profilesLine) attr(a jattr) (string, string) {
	st := l.Dictionary.StringTable
	k := a.Key
	if k == "" && int(a.KeyStrindex) < len(st) {
		k = st[a.KeyStrindex]
	}
	switch v := a.Value; {
	case v.StringValue != nil:
		return k, *v.StringValue
	case v.StringValueStrindex != nil && int(*v.StringValueStrindex) < len(st):
		return k, st[*v.StringValueStrindex]
	case v.IntValue != nil:
		return k, strconv.FormatInt(int64(*v.IntValue), 10)
	}
	return k, ""
}

// profiles reads the profiles file.
func (c *collector) profiles(t *testing.T) received {
	t.Helper()
	r := received{byAction: map[string]int{}, frames: map[string]bool{}}
	f, err := os.Open(filepath.Join(c.dir, "profiles.jsonl"))
	if os.IsNotExist(err) {
		return r
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		var l profilesLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("profiles file: %v", err)
		}
		r.requests++
		d := &l.Dictionary
		for _, rp := range l.ResourceProfiles {
			res := map[string]string{}
			for _, a := range rp.Resource.Attributes {
				k, v := l.attr(a)
				res[k] = v
			}
			r.resources = append(r.resources, res)
			for _, sp := range rp.ScopeProfiles {
				for _, p := range sp.Profiles {
					for _, s := range p.Samples {
						n := 1
						if len(s.Values) > 0 {
							n = int(s.Values[0])
						}
						r.samples += n
						for _, ai := range s.AttributeIndices {
							if k, v := l.attr(d.AttributeTable[ai]); k == "action" {
								r.byAction[v] += n
							}
						}
						for _, li := range d.StackTable[s.StackIndex].LocationIndices {
							for _, ln := range d.LocationTable[li].Lines {
								fn := d.FunctionTable[ln.FunctionIndex]
								r.frames[fmt.Sprintf("%s %s:%d", d.StringTable[fn.NameStrindex], d.StringTable[fn.FilenameStrindex], ln.Line)] = true
							}
						}
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

// logs reads the log records of the logs file.
func (c *collector) logs(t *testing.T) []plog.LogRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, "logs.jsonl"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []plog.LogRecord
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		ls, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			t.Fatalf("logs file: %v", err)
		}
		for i := 0; i < ls.ResourceLogs().Len(); i++ {
			sls := ls.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// waitSamples waits until n samples have arrived (the file exporter
// writes what the receiver accepted; tracer has already been told OK).
func (c *collector) waitSamples(t *testing.T, n int) received {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := c.profiles(t)
		if r.samples >= n || time.Now().After(deadline) {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// otlpReport is tracer's closing line about the export.
type otlpReport struct {
	sentProfiles, sentSamples, droppedProfiles, droppedSamples int
	sentLogs, sentRecords                                      int
}

func parseOTLPReport(t *testing.T, stderr string) otlpReport {
	t.Helper()
	var r otlpReport
	i := strings.Index(stderr, "otlp: sent: ")
	if i < 0 {
		t.Fatalf("no otlp report line in stderr:\n%s", stderr)
	}
	line, _, _ := strings.Cut(stderr[i:], "\n")
	t.Log(line)
	if _, err := fmt.Sscanf(line, "otlp: sent: profiles %d (%d samples), logs %d (%d records)",
		&r.sentProfiles, &r.sentSamples, &r.sentLogs, &r.sentRecords); err != nil {
		t.Fatalf("otlp report %q: %v", line, err)
	}
	if j := strings.Index(line, "dropped: "); j >= 0 {
		if _, err := fmt.Sscanf(line[j:], "dropped: profiles %d (%d samples)", &r.droppedProfiles, &r.droppedSamples); err != nil {
			t.Fatalf("otlp report %q: %v", line, err)
		}
	}
	return r
}

// localByAction counts the samples of a local pprof profile by action.
func localByAction(t *testing.T, path string) (int, map[string]int, int64) {
	t.Helper()
	p := testbin.ReadProfile(t, path)
	total, by := 0, map[string]int{}
	var pid int64
	for _, s := range p.Sample {
		n := int(s.Value[0])
		total += n
		if a := s.Label["action"]; len(a) > 0 {
			by[a[0]] += n
		}
		if v := s.NumLabel["pid"]; len(v) > 0 {
			pid = v[0]
		}
	}
	return total, by, pid
}
