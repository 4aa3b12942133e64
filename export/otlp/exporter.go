package otlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/tracer-dev/tracer/export"
)

// The OTLP/HTTP paths of each signal below the endpoint. Profiles are
// still in development in OTLP; this is the path of the Collector's OTLP
// receiver for them.
const (
	ProfilesPath = "/v1development/profiles"
	LogsPath     = "/v1/logs"
	MetricsPath  = "/v1/metrics"
)

// Defaults of Config.
const (
	DefaultQueueBytes   = 32 << 20
	DefaultTimeout      = 10 * time.Second
	DefaultFlushTimeout = 5 * time.Second
	// maxRetryTime is how long one request is retried before it is
	// dropped, so that a Collector down for hours costs old data, not the
	// newest.
	maxRetryTime = time.Minute
	firstBackoff = 500 * time.Millisecond
	maxBackoff   = 15 * time.Second
)

// Config configures an Exporter.
type Config struct {
	// Endpoint is the Collector's OTLP/HTTP base URL (http://host:4318);
	// a URL ending in the profiles path is taken as the profiles URL, and
	// its base serves logs and metrics.
	Endpoint string
	Resource Resource
	Version  string // tracer's version, for the instrumentation scope

	QueueBytes   int           // bound of the waiting requests; 0: DefaultQueueBytes
	Timeout      time.Duration // of one attempt; 0: DefaultTimeout
	FlushTimeout time.Duration // how long Close waits for the queue; 0: DefaultFlushTimeout
	Client       *http.Client  // nil: a client of its own
	// Log receives one line at the first failure to send, and one when
	// sending works again; nil: nothing.
	Log io.Writer
}

// Signal is one kind of OTLP data.
type Signal int

// The signals an Exporter sends.
const (
	Profiles Signal = iota
	Logs
	Metrics
	nSignals
)

func (s Signal) String() string {
	return [...]string{"profiles", "logs", "metrics"}[s]
}

// Counts are requests and the items they held: samples for profiles, log
// records for logs, data points for metrics.
type Counts struct {
	Requests, Items uint64
}

// Stats says what was sent and what was lost, by signal.
type Stats struct {
	Sent, Dropped [nSignals]Counts
	LastError     string // the last failure, when any
}

// Lost reports whether anything was dropped.
func (s Stats) Lost() bool {
	for _, d := range s.Dropped {
		if d.Requests > 0 {
			return true
		}
	}
	return false
}

// String is the one-line report: "sent: profiles 4 (812 samples), logs 4
// (5 records), metrics 4 (20 points)", then the same for what was
// dropped, with the last error.
func (s Stats) String() string {
	items := [...]string{"samples", "records", "points"}
	part := func(c [nSignals]Counts) string {
		var ps []string
		for i, x := range c {
			ps = append(ps, fmt.Sprintf("%s %d (%d %s)", Signal(i), x.Requests, x.Items, items[i]))
		}
		return strings.Join(ps, ", ")
	}
	out := "sent: " + part(s.Sent)
	if s.Lost() {
		out += "; dropped: " + part(s.Dropped)
		if s.LastError != "" {
			out += "; last error: " + s.LastError
		}
	}
	return out
}

// Exporter sends profiles, logs and metrics to one Collector from a
// goroutine of its own. Export never blocks on the network.
type Exporter struct {
	cfg    Config
	urls   [nSignals]string
	checks *Checks

	mu      sync.Mutex
	procs   map[int]export.Process
	queue   []*request
	bytes   int
	wake    chan struct{}
	closing bool
	stats   Stats
	failing bool // the last attempt failed (for the log lines)

	abort chan struct{} // closed when Close stops waiting
	done  chan struct{} // closed when the sender has ended
}

type request struct {
	sig   Signal
	body  []byte
	items uint64
}

// Endpoints returns the URLs of profiles, logs and metrics for endpoint.
func Endpoints(endpoint string) ([nSignals]string, error) {
	var out [nSignals]string
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return out, fmt.Errorf("invalid OTLP endpoint %q: give an http:// or https:// URL such as http://127.0.0.1:4318", endpoint)
	}
	base := strings.TrimSuffix(u.Path, "/")
	base = strings.TrimSuffix(base, ProfilesPath)
	for i, p := range [...]string{ProfilesPath, LogsPath, MetricsPath} {
		v := *u
		v.Path = base + p
		out[i] = v.String()
	}
	return out, nil
}

// New checks cfg and starts the sender.
func New(cfg Config) (*Exporter, error) {
	urls, err := Endpoints(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	e := &Exporter{
		cfg: cfg, urls: urls, checks: NewChecks(), procs: map[int]export.Process{},
		wake: make(chan struct{}, 1), abort: make(chan struct{}), done: make(chan struct{}),
	}
	go e.send()
	return e, nil
}

// URL returns where signal sig goes.
func (e *Exporter) URL(sig Signal) string { return e.urls[sig] }

// Checks returns the gatherer of the live check's results, flushed as logs
// and metrics at each Export.
func (e *Exporter) Checks() *Checks { return e.checks }

// Export sends one interval: p's samples as profiles (nothing when it has
// none), and the divergences, summaries and step durations gathered since
// the last call as logs and metrics. It returns at once.
func (e *Exporter) Export(p *export.Profile) {
	e.mu.Lock()
	for pid, proc := range p.Processes {
		e.procs[pid] = proc
	}
	e.mu.Unlock()
	if len(p.Samples) > 0 {
		prof := BuildProfiles(p, &e.cfg.Resource, e.cfg.Version)
		body, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(prof)
		var n uint64
		for i := range p.Samples {
			n += uint64(p.Samples[i].Weight())
		}
		e.enqueue(Profiles, body, n, err)
	}
	logs, metrics, records := e.checks.flush(&e.cfg.Resource, e.process, e.cfg.Version, time.Now())
	if records > 0 {
		body, err := (&plog.ProtoMarshaler{}).MarshalLogs(logs)
		e.enqueue(Logs, body, uint64(records), err)
	}
	if n := metrics.DataPointCount(); n > 0 {
		body, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(metrics)
		e.enqueue(Metrics, body, uint64(n), err)
	}
}

func (e *Exporter) process(pid int) export.Process {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.procs[pid]
	p.PID = pid
	return p
}

// enqueue adds a request, dropping the oldest ones when the queue would
// exceed its bound.
func (e *Exporter) enqueue(sig Signal, body []byte, items uint64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.drop(&request{sig: sig, items: items}, "encode: "+err.Error())
		return
	}
	r := &request{sig: sig, body: body, items: items}
	if e.closing || len(body) > e.cfg.QueueBytes {
		e.drop(r, "request larger than the queue")
		return
	}
	for e.bytes+len(body) > e.cfg.QueueBytes && len(e.queue) > 0 {
		old := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		e.bytes -= len(old.body)
		e.drop(old, "queue full: the Collector does not keep up")
	}
	e.queue = append(e.queue, r)
	e.bytes += len(body)
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// drop counts r as lost (e.mu held). why becomes the last error unless it
// only says that time ran out and an earlier error says why.
func (e *Exporter) drop(r *request, why string) {
	e.stats.Dropped[r.sig].Requests++
	e.stats.Dropped[r.sig].Items += r.items
	if why != errEnded || e.stats.LastError == "" {
		e.stats.LastError = why
	}
}

// errEnded is why a request still waiting when Close gave up was dropped.
const errEnded = "not sent before tracer ended"

// next waits for a request; nil when closing and the queue is empty.
func (e *Exporter) next() *request {
	for {
		e.mu.Lock()
		if len(e.queue) > 0 {
			r := e.queue[0]
			e.queue[0] = nil
			e.queue = e.queue[1:]
			e.bytes -= len(r.body)
			e.mu.Unlock()
			return r
		}
		closing := e.closing
		e.mu.Unlock()
		if closing {
			return nil
		}
		<-e.wake
	}
}

// send is the sender goroutine.
func (e *Exporter) send() {
	defer close(e.done)
	for {
		r := e.next()
		if r == nil {
			return
		}
		e.deliver(r)
	}
}

// errPermanent marks a refusal that retrying cannot change.
var errPermanent = errors.New("refused")

// deliver posts r, retrying with backoff while the failure may pass, for at
// most maxRetryTime, and counts the outcome.
func (e *Exporter) deliver(r *request) {
	backoff := firstBackoff
	deadline := time.Now().Add(maxRetryTime)
	for {
		err := e.post(r)
		e.mu.Lock()
		if err == nil {
			e.stats.Sent[r.sig].Requests++
			e.stats.Sent[r.sig].Items += r.items
			if e.failing {
				e.failing = false
				e.logf("otlp: sending to %s works again", e.urls[r.sig])
			}
			e.mu.Unlock()
			return
		}
		if !e.failing {
			e.failing = true
			e.logf("otlp: %v; tracing goes on, requests are retried and what cannot be sent is counted", err)
		}
		if errors.Is(err, errPermanent) || time.Now().Add(backoff).After(deadline) {
			e.drop(r, err.Error())
			e.mu.Unlock()
			return
		}
		if err.Error() != errEnded {
			e.stats.LastError = err.Error()
		}
		e.mu.Unlock()
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-e.abort:
			t.Stop()
			e.mu.Lock()
			e.drop(r, errEnded)
			e.mu.Unlock()
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (e *Exporter) logf(format string, args ...any) {
	if e.cfg.Log != nil {
		fmt.Fprintf(e.cfg.Log, "tracer: "+format+"\n", args...)
	}
}

// post makes one attempt; the error wraps errPermanent when the Collector
// refused the request for good.
func (e *Exporter) post(r *request) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Timeout)
	defer cancel()
	go func() {
		select {
		case <-e.abort:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.urls[r.sig], bytes.NewReader(r.body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "tracer/"+e.cfg.Version)
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		select {
		case <-e.abort:
			return errors.New(errEnded)
		default:
		}
		return fmt.Errorf("send %s: %w", r.sig, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusBadGateway ||
		resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout:
		return fmt.Errorf("send %s to %s: %s", r.sig, e.urls[r.sig], resp.Status)
	}
	return fmt.Errorf("%w: send %s to %s: %s %s", errPermanent, r.sig, e.urls[r.sig], resp.Status, strings.TrimSpace(string(msg)))
}

// Close waits, at most FlushTimeout, until every queued request was sent
// or dropped, then stops the sender; what remained is counted as dropped.
func (e *Exporter) Close() Stats {
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(e.cfg.FlushTimeout)
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C:
		close(e.abort)
		<-e.done
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.queue {
		e.drop(r, errEnded)
	}
	e.queue, e.bytes = nil, 0
	return e.stats
}

// Stats returns the counts so far.
func (e *Exporter) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}
