package loader

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/elastic/go-perf"
	"golang.org/x/sys/unix"
)

// Feature is a kernel facility tracer depends on.
type Feature string

// The features ProbeFeatures can check.
const (
	// FeaturePerfEvent: cpu-clock sampling through perf_event_open.
	FeaturePerfEvent Feature = "perf_event"
	// FeatureBPF: BPF programs of the kprobe type (uprobes and perf event
	// programs use it) and BPF ring buffers.
	FeatureBPF Feature = "bpf"
	// FeatureUprobe: the uprobe PMU, needed to probe the interpreters.
	FeatureUprobe Feature = "uprobe"
)

// disabled are the features ProbeFeatures reports missing whatever the
// kernel has (DisableFeatures), and what disabled them.
var disabled struct {
	sync.Mutex
	features map[Feature]bool
	by       string
}

// DisableFeatures makes ProbeFeatures report the named features missing
// whatever the kernel has, saying they were disabled by by (the flag that
// asked). It exists so that tests can see what a user without them sees; it
// can only make tracer refuse to run.
func DisableFeatures(by string, names ...string) {
	m := map[Feature]bool{}
	for _, f := range names {
		if f = strings.TrimSpace(f); f != "" {
			m[Feature(f)] = true
		}
	}
	disabled.Lock()
	defer disabled.Unlock()
	disabled.features, disabled.by = m, by
}

// ErrFeature says the kernel lacks a facility tracer needs.
var ErrFeature = errors.New("kernel feature missing")

// FeatureError names the missing feature and says what to do about it.
type FeatureError struct {
	Feature Feature
	Err     error // what the probe saw
}

func (e *FeatureError) Error() string {
	var what, fix string
	switch e.Feature {
	case FeaturePerfEvent:
		what = "cpu-clock sampling with perf_event_open"
		fix = "use a kernel built with CONFIG_PERF_EVENTS"
	case FeatureBPF:
		what = "BPF kprobe programs and ring buffers"
		fix = "use Linux 5.8 or later built with CONFIG_BPF_SYSCALL"
	case FeatureUprobe:
		what = "uprobes"
		fix = "use a kernel built with CONFIG_UPROBE_EVENTS"
	default:
		what, fix = string(e.Feature), "use a newer kernel"
	}
	return fmt.Sprintf("the kernel does not support %s (%v): %s", what, e.Err, fix)
}

func (e *FeatureError) Is(target error) bool { return target == ErrFeature }
func (e *FeatureError) Unwrap() error        { return e.Err }

// probes maps each feature to the function that checks it; nil means present.
var probes = map[Feature]func() error{
	FeaturePerfEvent: probePerfEvent,
	FeatureBPF:       probeBPF,
	FeatureUprobe:    probeUprobe,
}

// ProbeFeatures checks that the kernel has every feature in need and returns
// a *FeatureError (errors.Is ErrFeature) for the first one it lacks. Call it
// after CheckPrivilege: without privilege the probes fail for that reason.
func ProbeFeatures(need ...Feature) error {
	disabled.Lock()
	off, by := disabled.features, disabled.by
	disabled.Unlock()
	for _, f := range need {
		if off[f] {
			return &FeatureError{Feature: f, Err: fmt.Errorf("disabled by %s", by)}
		}
		probe, ok := probes[f]
		if !ok {
			return fmt.Errorf("probe kernel features: unknown feature %q", f)
		}
		if err := probe(); err != nil {
			var fe *FeatureError
			if errors.As(err, &fe) {
				return fe
			}
			return fmt.Errorf("probe %s: %w", f, err)
		}
	}
	return nil
}

// probePerfEvent opens, and closes at once, a disabled cpu-clock event on
// tracer itself.
func probePerfEvent() error {
	a := &perf.Attr{Type: perf.SoftwareEvent, Config: uint64(perf.CPUClock), Options: perf.Options{Disabled: true}}
	a.SetSamplePeriod(1_000_000)
	ev, err := perf.Open(a, perf.CallingThread, perf.AnyCPU, nil)
	switch {
	case err == nil:
		return ev.Close()
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENODEV):
		return &FeatureError{Feature: FeaturePerfEvent, Err: err}
	}
	return fmt.Errorf("open a cpu-clock event: %w", err)
}

// probeBPF asks the kernel to load a minimal kprobe program and create a
// ring buffer (cilium/ebpf's feature probes; results are cached).
func probeBPF() error {
	for _, err := range []error{features.HaveProgramType(ebpf.Kprobe), features.HaveMapType(ebpf.RingBuf)} {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return &FeatureError{Feature: FeatureBPF, Err: err}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// probeUprobe looks for the uprobe PMU (or the legacy tracefs interface).
func probeUprobe() error {
	if _, err := os.Stat("/sys/bus/event_source/devices/uprobe/type"); err == nil {
		return nil
	}
	for _, p := range []string{"/sys/kernel/tracing/uprobe_events", "/sys/kernel/debug/tracing/uprobe_events"} {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
	}
	return &FeatureError{Feature: FeatureUprobe, Err: errors.New("no uprobe PMU in /sys/bus/event_source/devices")}
}
