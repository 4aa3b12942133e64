package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-perf"
	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/internal/usage"
)

// Frequency bounds accepted for -F/--freq.
const (
	MinFreq     = 1
	MaxFreq     = 10000
	DefaultFreq = 99
)

// ringPages is the size of each CPU's ring in pages (512 KiB with 4 KiB
// pages), enough for about a second of 999 Hz samples with deep stacks.
const ringPages = 128

// pollInterval is how often an idle ring is looked at. Rings are read by
// polling their head rather than waiting for wakeups, so mmap records reach
// subscribers within this delay at any rate, without one wakeup per record.
const pollInterval = 50 * time.Millisecond

// SamplerConfig says what to sample.
type SamplerConfig struct {
	PID  int // the target process
	Freq int // samples per second per thread, MinFreq..MaxFreq
	// EnableOnExec opens the events disabled; the kernel enables them when
	// the target calls execve (tracer run: the target is the gated shim).
	EnableOnExec bool
	// Held opens the events disabled until Enable (tracer attach: the
	// programs that read interpreter frames are wired to the events in
	// between, so no sample is taken before they can read it). Ignored
	// with EnableOnExec.
	Held bool
	// RingPages is the size of each CPU's ring in pages, a power of two;
	// 0 means 128 (512 KiB).
	RingPages int
	// Threads are the target's existing threads (tracer attach). An event on
	// a pid follows only that one thread and the threads it creates later,
	// so each existing thread needs its own. Empty means PID only.
	Threads []int
	// OnOpen, when set, is called with each event right after it is
	// opened, before the target can create a thread: attach a BPF program
	// (perf.Event.SetBPF) here. An inherited event copies the program only
	// if it was set before the thread was created, and the kernel swaps
	// the contexts of a thread and its clones freely.
	OnOpen func(ev *perf.Event) error
	// AllProcesses samples every process of the machine (the host-wide
	// mode): one event per CPU, not bound to a pid; PID and Threads are
	// ignored. Its rings also carry every process's mmap, comm, fork and
	// exit records, which is how the host-wide mode sees processes start
	// and end.
	AllProcesses bool
}

// Stats counts what the samplers read.
type Stats struct {
	Samples   uint64 // sample records read
	Lost      uint64 // records the kernel dropped (ring full)
	Malformed uint64 // records that could not be decoded
}

// Sampler is the set of cpu-clock events on one target, one ring per CPU.
type Sampler struct {
	events []*perf.Event // every event opened, ring owners first
	rings  []ring

	out     chan Record
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	started bool

	samples, lost, malformed atomic.Uint64
}

// ring is one CPU's ring: the event that owns the mapping, and the CPU.
type ring struct {
	ev  *perf.Event
	cpu int
}

// attr builds the event attributes shared by every sampler event.
func attr(cfg SamplerConfig) *perf.Attr {
	a := &perf.Attr{
		Type:   perf.SoftwareEvent,
		Config: uint64(perf.CPUClock),
		SampleFormat: perf.SampleFormat{
			IP: true, Tid: true, Time: true, CPU: true, Period: true, Callchain: true,
		},
		Options: perf.Options{
			Disabled:     cfg.EnableOnExec || cfg.Held,
			EnableOnExec: cfg.EnableOnExec,
			Inherit:      true,
			Mmap:         true,
			Mmap2:        true,
			Comm:         true,
			CommExec:     true,
			Task:         true,
			SampleIDAll:  true,
			UseClockID:   true,
		},
		ClockID: unix.CLOCK_MONOTONIC,
	}
	a.SetSampleFreq(uint64(cfg.Freq))
	return a
}

// CheckFreq is the rule for a sampling frequency: MinFreq to MaxFreq Hz.
// Its error is a usage error that names the -F flag.
func CheckFreq(freq int) error {
	if freq < MinFreq || freq > MaxFreq {
		return usage.Errorf("invalid frequency %d Hz: give -F between %d and %d", freq, MinFreq, MaxFreq)
	}
	return nil
}

// OpenSampler opens one cpu-clock event per online CPU and per target
// thread, and maps one ring per CPU. The events count at once, unless
// EnableOnExec is set. Records are read after Start.
func OpenSampler(cfg SamplerConfig) (*Sampler, error) {
	if err := CheckFreq(cfg.Freq); err != nil {
		return nil, err
	}
	if cfg.AllProcesses {
		cfg.PID, cfg.Threads, cfg.EnableOnExec = -1, nil, false
	} else if cfg.PID <= 0 {
		return nil, fmt.Errorf("invalid target pid %d", cfg.PID)
	}
	if max, err := maxSampleRate(); err == nil && cfg.Freq > max {
		return nil, fmt.Errorf("sampling frequency %d Hz is above kernel.perf_event_max_sample_rate (%d): lower -F, or raise the limit with sysctl", cfg.Freq, max)
	}
	cpus, err := onlineCPUs()
	if err != nil {
		return nil, err
	}
	threads := cfg.Threads
	if len(threads) == 0 {
		threads = []int{cfg.PID}
	}
	pages := cfg.RingPages
	if pages == 0 {
		pages = ringPages
	}
	if pages < 0 || pages&(pages-1) != 0 {
		return nil, fmt.Errorf("ring size %d pages is not a power of two", pages)
	}
	a := attr(cfg)
	if cfg.AllProcesses {
		a.Options.Inherit = false // a CPU-wide event sees every task already
	}
	s := &Sampler{out: make(chan Record, 4096), stop: make(chan struct{})}
	for _, cpu := range cpus {
		var owner *perf.Event
		for _, tid := range threads {
			ev, err := perf.Open(a, tid, cpu, nil)
			if err != nil {
				if errors.Is(err, unix.ESRCH) && tid != cfg.PID {
					continue // the thread ended meanwhile
				}
				s.closeEvents()
				return nil, fmt.Errorf("open cpu-clock event for pid %d on cpu %d: %w", tid, cpu, err)
			}
			s.events = append(s.events, ev)
			if cfg.OnOpen != nil {
				if err := cfg.OnOpen(ev); err != nil {
					s.closeEvents()
					return nil, err
				}
			}
			if owner == nil {
				if err := ev.MapRingNumPages(pages); err != nil {
					s.closeEvents()
					return nil, fmt.Errorf("map ring on cpu %d: %w", cpu, err)
				}
				owner = ev
				s.rings = append(s.rings, ring{ev: ev, cpu: cpu})
				continue
			}
			if err := ev.SetOutput(owner); err != nil {
				s.closeEvents()
				return nil, fmt.Errorf("share ring on cpu %d: %w", cpu, err)
			}
		}
	}
	return s, nil
}

// Events returns every opened event, for attaching a BPF program to them
// (perf.Event.SetBPF). The sampler keeps ownership.
func (s *Sampler) Events() []*perf.Event { return s.events }

// Start begins reading the rings. Records arrive on Records in ring order
// (ordered per CPU, not across CPUs; sort by RecordTime for a global order).
func (s *Sampler) Start() {
	if s.started {
		return
	}
	s.started = true
	s.wg.Add(1)
	go s.read()
	go func() {
		s.wg.Wait()
		close(s.out)
	}()
}

// Enable starts the counting of events opened Held; enabling an event
// enables the copies its threads inherited meanwhile.
func (s *Sampler) Enable() error {
	for _, ev := range s.events {
		if err := ev.Enable(); err != nil {
			return fmt.Errorf("enable cpu-clock event: %w", err)
		}
	}
	return nil
}

// Records delivers decoded records; it is closed after Stop once every ring
// has been drained. The consumer must keep receiving until then.
func (s *Sampler) Records() <-chan Record { return s.out }

// Stop ends reading: each ring is drained of what the kernel has written so
// far, then Records is closed. Stop may be called more than once.
func (s *Sampler) Stop() { s.once.Do(func() { close(s.stop) }) }

// Stats returns the counts so far; safe to call while reading.
func (s *Sampler) Stats() Stats {
	return Stats{Samples: s.samples.Load(), Lost: s.lost.Load(), Malformed: s.malformed.Load()}
}

// Close stops reading and closes every event. Records must have been
// drained (or abandoned) first.
func (s *Sampler) Close() error {
	s.Stop()
	if !s.started {
		s.Start() // readers see Stop, drain and close Records
	}
	go func() {
		for range s.out { // discard what nobody is reading any more
		}
	}()
	s.wg.Wait()
	return s.closeEvents()
}

func (s *Sampler) closeEvents() error {
	var first error
	// Followers first: their output is redirected to the ring owners.
	for i := len(s.events) - 1; i >= 0; i-- {
		if err := s.events[i].Close(); err != nil && first == nil && !errors.Is(err, os.ErrClosed) {
			first = fmt.Errorf("close perf event: %w", err)
		}
	}
	s.events = nil
	return first
}

// read polls the rings until Stop, then drains them. One goroutine reads
// them all: each look wakes tracer's threads, once for every ring when
// each had its own.
func (s *Sampler) read() {
	defer s.wg.Done()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	var raw perf.RawRecord
	for {
		for _, r := range s.rings {
			s.drain(r, &raw)
		}
		select {
		case <-s.stop:
			for _, r := range s.rings {
				s.drain(r, &raw)
			}
			return
		case <-t.C:
		}
	}
}

// drain reads every record currently in the ring.
func (s *Sampler) drain(r ring, raw *perf.RawRecord) {
	for r.ev.HasRecord() {
		if err := r.ev.ReadRawRecord(noCancel, raw); err != nil {
			s.malformed.Add(1)
			return
		}
		rec, err := decodeRecord(raw, r.cpu)
		if err != nil {
			s.malformed.Add(1)
			continue
		}
		switch v := rec.(type) {
		case nil:
			continue
		case *Sample:
			s.samples.Add(1)
		case *Lost:
			s.lost.Add(v.Count)
		}
		s.out <- rec
	}
}

// maxSampleRate reads the kernel's limit on sampling frequencies, which it
// lowers by itself when sample interrupts take too long.
func maxSampleRate() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/perf_event_max_sample_rate")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// onlineCPUs parses /sys/devices/system/cpu/online ("0-3,5").
func onlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("list online cpus: %w", err)
	}
	return parseCPUList(strings.TrimSpace(string(b)))
}

func parseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("parse cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("parse cpu list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// noCancel is the context for ring reads that are known not to block (the
// ring has a record).
var noCancel = context.Background()
