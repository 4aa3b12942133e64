package otlp

import (
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/model"
	"github.com/tracer-dev/tracer/symbolize"
)

func testProfile() *export.Profile {
	py := symbolize.Frame{Function: "transition", File: "/app/m.py", Line: 42, Kind: symbolize.Python}
	lib := symbolize.Frame{Function: "PyEval", Module: "/lib/libpython3.11.so", Addr: 0x1010, Kind: symbolize.Native}
	return &export.Profile{
		Samples: []export.Sample{
			{Stack: []symbolize.Frame{py, lib}, PID: 7, TID: 7, Comm: "python3", Step: 3, Action: "post"},
			{Stack: []symbolize.Frame{py, lib}, PID: 7, TID: 7, Comm: "python3", Step: 4, Action: "comment"},
			{Stack: []symbolize.Frame{lib}, PID: 7, TID: 8, Comm: "python3", Action: "post", Count: 5},
			{Stack: []symbolize.Frame{lib}, PID: 9, TID: 9, Comm: "node"},
		},
		Mappings: map[int][]symbolize.Mapping{
			7: {{Start: 0x1000, Limit: 0x2000, Path: "/lib/libpython3.11.so", BuildID: "abcd"}},
		},
		Processes: map[int]export.Process{7: {PID: 7, Executable: "python3.11", RuntimeName: "cpython", RuntimeVersion: "3.11.7"}},
		Freq:      99,
		Start:     time.Unix(1700000000, 0),
		Duration:  time.Second,
	}
}

// TestBuildProfilesRoundTrip: what BuildProfiles makes survives the
// protobuf encoding with its resources, sample attributes and frames.
func TestBuildProfilesRoundTrip(t *testing.T) {
	r := &Resource{ServiceName: "svc", Attributes: [][2]string{{"env", "ci"}}, Host: "h1"}
	body, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(BuildProfiles(testProfile(), r, "v1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&pprofile.ProtoUnmarshaler{}).UnmarshalProfiles(body)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.ResourceProfiles().Len(); n != 2 {
		t.Fatalf("%d resources, want one per pid (2)", n)
	}
	res := got.ResourceProfiles().At(0).Resource().Attributes().AsRaw()
	for k, v := range map[string]any{"service.name": "svc", "env": "ci", "host.name": "h1", "process.pid": int64(7),
		"process.executable.name": "python3.11", "process.runtime.name": "cpython", "process.runtime.version": "3.11.7"} {
		if res[k] != v {
			t.Errorf("resource %s = %v, want %v", k, res[k], v)
		}
	}
	dict := got.Dictionary()
	prof := got.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0)
	byAction := map[string]int64{}
	steps := map[int64]bool{}
	for i := 0; i < prof.Samples().Len(); i++ {
		s := prof.Samples().At(i)
		m, err := pprofile.FromAttributeIndices(dict.AttributeTable(), s, dict)
		if err != nil {
			t.Fatal(err)
		}
		a := m.AsRaw()
		if act, ok := a["action"].(string); ok {
			byAction[act] += s.Values().At(0)
		}
		if st, ok := a["step"].(int64); ok {
			steps[st] = true
		}
	}
	if byAction["post"] != 6 || byAction["comment"] != 1 || !steps[3] || !steps[4] {
		t.Errorf("per action %v, steps %v: want post 6 (one merged sample of 5), comment 1, steps 3 and 4", byAction, steps)
	}
	leaf := prof.Samples().At(0)
	loc := dict.LocationTable().At(int(dict.StackTable().At(int(leaf.StackIndex())).LocationIndices().At(0)))
	fn := dict.FunctionTable().At(int(loc.Lines().At(0).FunctionIndex()))
	strs := dict.StringTable()
	if strs.At(int(fn.NameStrindex())) != "transition" || strs.At(int(fn.FilenameStrindex())) != "/app/m.py" || loc.Lines().At(0).Line() != 42 {
		t.Errorf("leaf frame %s %s:%d, want transition /app/m.py:42", strs.At(int(fn.NameStrindex())), strs.At(int(fn.FilenameStrindex())), loc.Lines().At(0).Line())
	}
}

func TestEndpoints(t *testing.T) {
	for in, want := range map[string]string{
		"http://c:4318":                         "http://c:4318/v1development/profiles http://c:4318/v1/logs",
		"http://c:4318/":                        "http://c:4318/v1development/profiles http://c:4318/v1/logs",
		"https://c/otlp/v1development/profiles": "https://c/otlp/v1development/profiles https://c/otlp/v1/logs",
	} {
		u, err := Endpoints(in)
		if err != nil || u[Profiles]+" "+u[Logs] != want {
			t.Errorf("Endpoints(%q) = %v %v, want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "c:4318", "ftp://c", "http://"} {
		if _, err := Endpoints(bad); err == nil || !strings.Contains(err.Error(), "http://") {
			t.Errorf("Endpoints(%q) = %v, want an error saying what to give", bad, err)
		}
	}
}

func TestParseResourceAttributes(t *testing.T) {
	got, err := ParseResourceAttributes(" a=1, b = x%2Cy ,,c=")
	if err != nil || len(got) != 3 || got[1] != [2]string{"b", "x,y"} || got[2] != [2]string{"c", ""} {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := ParseResourceAttributes("novalue"); err == nil {
		t.Error("no error for a pair without =")
	}
}

// TestExporterCountsWhatIsLost: with nothing listening, Export returns at
// once and Close counts every request as dropped.
func TestExporterCountsWhatIsLost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a port that refuses connections
	e, err := New(Config{Endpoint: "http://" + addr, FlushTimeout: 300 * time.Millisecond, Resource: Resource{Host: "h"}})
	if err != nil {
		t.Fatal(err)
	}
	e.Checks().Step(7, model.Post, 1500)
	e.Checks().Divergence(7, &model.Divergence{Seq: 9, Action: model.Action{Type: model.Comment}})
	e.Export(testProfile())
	st := e.Close()
	if st.Sent != ([nSignals]Counts{}) {
		t.Errorf("sent %v to a closed port", st.Sent)
	}
	if d := st.Dropped[Profiles]; d.Requests != 1 || d.Items != 8 {
		t.Errorf("dropped profiles %+v, want 1 request of 8 samples", d)
	}
	if d := st.Dropped[Logs]; d.Requests != 1 || d.Items != 2 {
		t.Errorf("dropped logs %+v, want 1 request of 2 records (a divergence, a summary)", d)
	}
	if !strings.Contains(st.String(), "dropped: profiles 1 (8 samples)") || !strings.Contains(st.LastError, "refused") {
		t.Errorf("report %q, want the drops and the refusal", st)
	}
}

// TestExporterQueueBound: when requests wait beyond the queue's bound the
// oldest are dropped and counted.
func TestExporterQueueBound(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close() // accepts, never answers: the first request hangs
	e, err := New(Config{Endpoint: "http://" + l.Addr().String(), QueueBytes: 4096, Timeout: time.Minute, FlushTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		e.Export(testProfile())
	}
	st := e.Close()
	if got := st.Dropped[Profiles].Requests; got != 20 {
		t.Errorf("dropped %d of 20 profile requests (none can be answered)", got)
	}
	if !strings.Contains(st.String(), "dropped") {
		t.Errorf("report %q", st)
	}
}
