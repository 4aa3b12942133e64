package loader

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
)

func TestProbeFeaturesPresent(t *testing.T) {
	privtest.Require(t, "feature probes", CheckPrivilege())
	DisableFeatures("")
	if err := ProbeFeatures(FeaturePerfEvent, FeatureBPF, FeatureUprobe); err != nil {
		t.Fatalf("this kernel has perf events, BPF and uprobes, the probe says: %v", err)
	}
}

func TestProbeFeaturesDisabled(t *testing.T) {
	const by = "--disable-features"
	t.Cleanup(func() { DisableFeatures("") })
	for _, tc := range []struct {
		disable string
		need    []Feature
		want    Feature
		text    string
	}{
		{"perf_event", []Feature{FeaturePerfEvent}, FeaturePerfEvent, "CONFIG_PERF_EVENTS"},
		{" uprobe , bpf", []Feature{FeaturePerfEvent, FeatureBPF, FeatureUprobe}, FeatureBPF, "CONFIG_BPF_SYSCALL"},
		{"uprobe", []Feature{FeatureUprobe}, FeatureUprobe, "CONFIG_UPROBE_EVENTS"},
	} {
		DisableFeatures(by, strings.Split(tc.disable, ",")...)
		err := ProbeFeatures(tc.need...)
		var fe *FeatureError
		if !errors.Is(err, ErrFeature) || !errors.As(err, &fe) || fe.Feature != tc.want {
			t.Errorf("disabled %q: %v, want the missing feature %s", tc.disable, err, tc.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.text) || !strings.Contains(msg, by) || strings.Contains(msg, "\n") {
			t.Errorf("disabled %q: message %q should name %s and the cause on one line", tc.disable, msg, tc.text)
		}
	}
	DisableFeatures(by, "uprobe")
	if err := ProbeFeatures(Feature("warp drive")); err == nil || errors.Is(err, ErrFeature) {
		t.Errorf("an unknown feature: %v, want a plain error", err)
	}
}
