package report

import (
	"errors"
	"io"
	"os"
	"slices"

	"github.com/tracer-dev/tracer/model"
)

// implRun is one implementation as read: its check against the model, its
// step durations, and its profile's aggregates.
type implRun struct {
	Impl

	check     *model.Result
	durations map[model.ActionType][]uint64 // t1-t0 of each step, by action

	prof *profileData
}

// readTrace reads the trace once: every record is fed to the model's
// checker and every step's duration is kept by action type.
func (r *implRun) readTrace(rel model.Relation) error {
	f, err := os.Open(r.TracePath)
	if err != nil {
		return inputErrorf("cannot read trace %s: %v", r.TracePath, unwrapPath(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return inputErrorf("%s is a directory: give a trace (.jsonl)", r.TracePath)
	}
	d := model.NewDecoder(f, r.traceLabel())
	c := model.NewChecker(rel)
	r.durations = map[model.ActionType][]uint64{}
	var rec model.Record
	records := 0
	for {
		err := d.ReadInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return inputErrorf("malformed trace: %v", err)
		}
		records++
		if rec.Kind == model.KindStep && rec.T1 >= rec.T0 && rec.T0 > 0 {
			r.durations[rec.Action.Type] = append(r.durations[rec.Action.Type], rec.T1-rec.T0)
		}
		if err := c.Feed(rec); err != nil {
			return inputErrorf("malformed trace: %v", err)
		}
	}
	if records == 0 {
		return inputErrorf("%s is an empty trace: a trace has one JSON record per line (docs/trace-format.md)", r.traceLabel())
	}
	res := c.Result()
	res.Files = []string{r.traceLabel()}
	r.check = &res
	for _, ds := range r.durations {
		slices.Sort(ds)
	}
	return nil
}

// latency is the summary of one action's step durations.
type latency struct {
	count          int
	mean, p50, p99 uint64
}

func summarize(ds []uint64) latency {
	if len(ds) == 0 {
		return latency{}
	}
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	return latency{
		count: len(ds),
		mean:  uint64(sum / float64(len(ds))),
		p50:   quantile(ds, 0.50),
		p99:   quantile(ds, 0.99),
	}
}

// quantile is the nearest-rank q-quantile of sorted ds.
func quantile(ds []uint64, q float64) uint64 {
	rank := int(q*float64(len(ds)) + 0.999999)
	rank = max(1, min(rank, len(ds)))
	return ds[rank-1]
}
