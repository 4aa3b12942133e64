package otlp

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/model"
)

// maxDivergenceRecords bounds the divergence log records of one interval;
// the interval's summary counts the rest.
const maxDivergenceRecords = 100

// maxStateChars bounds the JSON of a state in a log record.
const maxStateChars = 4096

// stepBounds are the upper bounds, in seconds, of the step duration
// histogram buckets: 1, 2, 5 per decade from 1 µs to 10 s.
var stepBounds = func() []float64 {
	var b []float64
	for d := 1e-6; d < 20; d *= 10 {
		b = append(b, d, 2*d, 5*d)
	}
	return b[:len(b)-2]
}()

// Checks gathers the live check's results between two intervals: the
// divergences (each becomes a log record) and the step durations of each
// action (cumulative histograms). Its methods are safe for concurrent use
// and quick: they run on the checking path.
type Checks struct {
	mu    sync.Mutex
	start time.Time
	procs map[int]*procChecks
}

type procChecks struct {
	steps       map[string]*histogram // cumulative, by action
	divergences uint64                // cumulative
	// this interval
	intSteps   map[string]uint64
	intDiv     uint64
	records    []divergence
	unreported uint64
}

type histogram struct {
	count    uint64
	sum      float64
	min, max float64
	buckets  []uint64
}

type divergence struct {
	seq                uint64
	action             string
	relation           string
	expected, observed string
	differences        []string
	at                 time.Time
}

// NewChecks returns an empty gatherer.
func NewChecks() *Checks {
	return &Checks{start: time.Now(), procs: map[int]*procChecks{}}
}

func (c *Checks) proc(pid int) *procChecks {
	p := c.procs[pid]
	if p == nil {
		p = &procChecks{steps: map[string]*histogram{}, intSteps: map[string]uint64{}}
		c.procs[pid] = p
	}
	return p
}

// Step counts one checked step of pid that took d nanoseconds.
func (c *Checks) Step(pid int, action model.ActionType, d uint64) {
	name := action.String()
	sec := float64(d) / 1e9
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc(pid)
	h := p.steps[name]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(stepBounds)+1), min: sec, max: sec}
		p.steps[name] = h
	}
	h.count++
	h.sum += sec
	h.min, h.max = min(h.min, sec), max(h.max, sec)
	i, _ := slices.BinarySearch(stepBounds, sec)
	h.buckets[i]++
	p.intSteps[name]++
}

// Divergence records a divergence of pid, found now.
func (c *Checks) Divergence(pid int, d *model.Divergence) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc(pid)
	p.divergences++
	p.intDiv++
	if len(p.records) >= maxDivergenceRecords {
		p.unreported++
		return
	}
	p.records = append(p.records, divergence{
		seq: d.Seq, action: d.Action.Type.String(), relation: d.Relation.String(),
		expected: capped(d.Expected), observed: capped(d.Observed),
		differences: slices.Clone(d.Differences), at: time.Now(),
	})
}

func capped(s model.State) string {
	b, _ := s.MarshalJSON()
	if len(b) > maxStateChars {
		return string(b[:maxStateChars]) + "…(capped)"
	}
	return string(b)
}

// flush returns the interval's logs (the divergences and one summary per
// process) and the cumulative metrics, and starts a new interval. procs
// describes the processes; nothing is returned for an interval with no
// process.
func (c *Checks) flush(r *Resource, procs func(pid int) export.Process, version string, now time.Time) (plog.Logs, pmetric.Metrics, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	logs := plog.NewLogs()
	metrics := pmetric.NewMetrics()
	records := 0
	ts := pcommon.NewTimestampFromTime(now)
	start := pcommon.NewTimestampFromTime(c.start)
	for _, pid := range slices.Sorted(maps.Keys(c.procs)) {
		p := c.procs[pid]
		proc := procs(pid)
		rl := logs.ResourceLogs().AppendEmpty()
		r.fill(rl.Resource(), proc)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(scopeName)
		sl.Scope().SetVersion(version)
		for _, d := range p.records {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(d.at))
			lr.SetObservedTimestamp(ts)
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.SetSeverityText("WARN")
			lr.SetEventName("tracer.divergence")
			lr.Body().SetStr(fmt.Sprintf("divergence at step %d (%s) of pid %d: expected %s, observed %s",
				d.seq, d.action, pid, d.expected, d.observed))
			a := lr.Attributes()
			a.PutInt("step", int64(d.seq))
			a.PutStr("action", d.action)
			a.PutStr("relation", d.relation)
			a.PutStr("expected", d.expected)
			a.PutStr("observed", d.observed)
			diffs := a.PutEmptySlice("differences")
			for _, s := range d.differences {
				diffs.AppendEmpty().SetStr(s)
			}
			records++
		}
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(ts)
		lr.SetObservedTimestamp(ts)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.SetEventName("tracer.interval")
		var steps uint64
		for _, n := range p.intSteps {
			steps += n
		}
		lr.Body().SetStr(fmt.Sprintf("pid %d: %d steps checked, %d divergences in this interval (%d in all)",
			pid, steps, p.intDiv, p.divergences))
		a := lr.Attributes()
		a.PutInt("steps", int64(steps))
		a.PutInt("divergences", int64(p.intDiv))
		a.PutInt("divergences.total", int64(p.divergences))
		a.PutInt("divergences.unreported", int64(p.unreported))
		for _, name := range slices.Sorted(maps.Keys(p.intSteps)) {
			a.PutInt("steps."+name, int64(p.intSteps[name]))
		}
		records++
		p.records, p.unreported, p.intDiv = nil, 0, 0
		clear(p.intSteps)

		rm := metrics.ResourceMetrics().AppendEmpty()
		r.fill(rm.Resource(), proc)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(scopeName)
		sm.Scope().SetVersion(version)
		m := sm.Metrics().AppendEmpty()
		m.SetName("tracer.step.duration")
		m.SetDescription("Duration of each checked step, by action")
		m.SetUnit("s")
		hist := m.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for _, name := range slices.Sorted(maps.Keys(p.steps)) {
			h := p.steps[name]
			dp := hist.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(ts)
			dp.Attributes().PutStr("action", name)
			dp.SetCount(h.count)
			dp.SetSum(h.sum)
			dp.SetMin(h.min)
			dp.SetMax(h.max)
			dp.ExplicitBounds().FromRaw(stepBounds)
			dp.BucketCounts().FromRaw(h.buckets)
		}
		dm := sm.Metrics().AppendEmpty()
		dm.SetName("tracer.divergences")
		dm.SetDescription("Steps whose observed state left the specification")
		dm.SetUnit("{step}")
		sum := dm.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(ts)
		dp.SetIntValue(int64(p.divergences))
	}
	return logs, metrics, records
}
