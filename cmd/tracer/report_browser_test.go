package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

var screenshots = flag.String("screenshots", filepath.Join(os.TempDir(), "tracer-report-screenshots"),
	"directory for the browser test's screenshots of the report")

// chromium finds Debian's chromium; the browser test cannot run without it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is missing: apt-get install -y chromium (the report's browser test loads the page in it)")
	return ""
}

// browser starts a headless chromium with a fresh profile, no network
// services of its own, and returns a context driving one tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1600),
	)
	// A guard against a hung browser only: the machine may be very busy.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

// flameState is what the page says about its first flame graph.
type flameState struct {
	Filter string `json:"filter"`
	Total  int    `json:"total"`
	Nodes  int    `json:"nodes"`
	Title  string `json:"title"`
}

const readFlame = `(() => { const p = document.getElementById('flame-0');
  return {filter: p.dataset.filter, total: +p.dataset.total, nodes: +p.dataset.nodes, title: p.querySelector('h3').textContent}; })()`

func selectFilter(value string) string {
	return `(() => { const s = document.getElementById('flame-filter'); s.value = ` + jsString(value) + `;
  s.dispatchEvent(new Event('change')); return s.value; })()`
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// checkFlame selects every choice of the flame graph's selector: each
// action's samples are a part of all samples, the parts add up to the
// whole, and at least one action narrows the graph.
func checkFlame(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	all, err := chromedp.Run(ctx, chromedp.Evaluate[flameState](readFlame))
	if err != nil {
		t.Fatal(err)
	}
	if all.Filter != "all" || all.Total == 0 || all.Nodes == 0 {
		t.Fatalf("flame graph at load: %+v; want all samples drawn", all)
	}
	options, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#flame-filter option')].map(o => o.value)`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(options, "(outside any step)") {
		t.Fatalf("selector %q lacks the samples outside any step: the profile has no action labels", options)
	}
	sum, narrowed, most := 0, "", 0
	for _, o := range options[1:] {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](selectFilter(o))); err != nil {
			t.Fatal(err)
		}
		st, err := chromedp.Run(ctx, chromedp.Evaluate[flameState](readFlame))
		if err != nil {
			t.Fatal(err)
		}
		if st.Filter != o || st.Total > all.Total {
			t.Fatalf("after selecting %q: %+v (all samples: %d)", o, st, all.Total)
		}
		if o != "(outside any step)" && st.Total > most {
			narrowed, most = o, st.Total
			if st.Nodes >= all.Nodes || !strings.Contains(st.Title, "only inside "+o) {
				t.Errorf("selecting %q did not change the graph: %+v, all: %+v", o, st, all)
			}
		}
		sum += st.Total
	}
	if sum != all.Total {
		t.Errorf("the selections' samples add up to %d, all samples are %d", sum, all.Total)
	}
	if narrowed == "" {
		t.Errorf("no action holds a sample of the first implementation (options %q)", options)
	}
	// One action's samples, a frame hovered: the picture of the flame
	// graph section.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](selectFilter(narrowed))); err != nil {
		t.Fatal(err)
	}
	hover(t, ctx)
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`#flame`)))
	if err != nil {
		t.Fatal(err)
	}
	savePNG(t, fmt.Sprintf("report-%s-flame-%s.png", name, narrowed), png)

	// Back to all samples; zoom into a frame by clicking it, hover it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](selectFilter("all"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#flame-0 .fr[data-i="1"]`))); err != nil {
		t.Fatal(err)
	}
	zoomed, err := chromedp.Run(ctx, chromedp.Evaluate[flameState](readFlame))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(zoomed.Title, "zoomed to") {
		t.Errorf("a click did not zoom: %+v", zoomed)
	}
	hover(t, ctx)
	// Search marks the matching frames and says their share.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#flame-reset`)), chromedp.SendKeys(chromedp.CSS(`#flame-search`), "main")); err != nil {
		t.Fatal(err)
	}
	match, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.getElementById('flame-match').textContent, String(document.querySelectorAll('#flame-0 .fr.match').length)]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(match[0], "matched: ") || match[1] == "0" {
		t.Errorf("search for main: %q", match)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('flame-search'); s.value = ''; s.dispatchEvent(new Event('input')); })()`)); err != nil {
		t.Fatal(err)
	}
}

// hover moves the mouse onto the first graph's second frame: the tip shows
// its total and self shares.
func hover(t *testing.T, ctx context.Context) {
	t.Helper()
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const e = document.querySelector('#flame-0 .fr[data-i="1"]'); e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
  return [r.left + Math.min(20, r.width / 2), r.top + r.height / 2]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, xy[0], xy[1])); err != nil {
		t.Fatal(err)
	}
	tip, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('flame-tip').hidden ? '' : document.getElementById('flame-tip').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tip, "total: ") || !strings.Contains(tip, "self: ") || !strings.Contains(tip, "% of ") {
		t.Errorf("hover tip %q lacks the total and self shares", tip)
	}
}

// screenshot saves the whole page as a PNG in the screenshots directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	savePNG(t, name, png)
}

func savePNG(t *testing.T, name string, png []byte) {
	t.Helper()
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(*screenshots, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// The report of tracer verify, opened in chromium: a conforming run, then a
// run of the planted bug whose first divergence the page shows with the
// differing field marked; the flame graph narrows to one action.
func TestReportInBrowser(t *testing.T) {
	if err := loader.CheckPrivilege(); err != nil {
		t.Skipf("tracing needs privilege: %v", err)
	}
	ctx := browser(t)
	buggy, err := filepath.Abs(filepath.Join("..", "..", "examples", "buggy", "python_comment_counts.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		verdict string
	}{
		{"conforming", nil, 0, "CONFORMING"},
		{"divergent", []string{"--python-container", buggy}, 1, "DIVERGENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "v")
			// 4999 Hz: enough samples fall inside steps for every action.
			args := append([]string{"verify", "--steps", "10000", "--seed", "5", "-F", "4999", "--out", out}, tc.args...)
			start := time.Now()
			code, stdout, stderr := runTracer(t, args...)
			t.Logf("verify took %v", time.Since(start))
			page := filepath.Join(out, "report.html")
			if code != tc.code || !strings.Contains(stdout, "report:   "+page) {
				t.Fatalf("verify: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.CSS(`#flame-0 .fr`))); err != nil {
				t.Fatal(err)
			}
			verdict, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.getElementById('verdict').dataset.verdict,
  ...[...document.querySelectorAll('table.verdicts tbody tr')].map(r => r.dataset.name + '=' + r.dataset.verdict)]`))
			if err != nil {
				t.Fatal(err)
			}
			if verdict[0] != tc.verdict || len(verdict) != 4 {
				t.Fatalf("verdict on the page: %q, want %s and three rows (python, node, the pair)", verdict, tc.verdict)
			}
			if tc.verdict == "DIVERGENT" {
				checkDivergence(t, ctx, filepath.Join(out, "python.jsonl"))
			} else if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.divergence').length`)); err != nil || n != 0 {
				t.Fatalf("a conforming page shows %d divergences (%v)", n, err)
			}
			rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('table.actions tbody tr').length`))
			if err != nil || rows != 8 {
				t.Errorf("per-action table: %d rows (%v), want 4 actions × 2 implementations", rows, err)
			}
			hists, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.hist rect').length`))
			if err != nil || hists == 0 {
				t.Errorf("latency histograms: %d bars (%v)", hists, err)
			}
			screenshot(t, ctx, "report-"+tc.name+".png")
			start = time.Now()
			checkFlame(t, ctx, tc.name)
			t.Logf("the flame graph checks took %v", time.Since(start))
		})
	}
}

// checkDivergence compares the page's first divergence with tracer's own
// check of the trace: the step, the action, the differing field.
func checkDivergence(t *testing.T, ctx context.Context, trace string) {
	t.Helper()
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := model.CheckTrace(model.NewDecoder(f, trace), model.Exact)
	if err != nil || res.First == nil {
		t.Fatalf("the planted bug's trace is not divergent: %v", err)
	}
	type div struct {
		Step    string   `json:"step"`
		Action  string   `json:"action"`
		Where   string   `json:"where"`
		Differs []string `json:"differs"`
		Same    []string `json:"same"`
	}
	d, err := chromedp.Run(ctx, chromedp.Evaluate[div](`(() => { const d = document.querySelector('.divergence');
  return {step: d.dataset.step, action: d.dataset.action, where: d.querySelector('.where').textContent,
    differs: [...d.querySelectorAll('tr.differs')].map(r => r.dataset.field),
    same: [...d.querySelectorAll('tr.field:not(.differs)')].map(r => r.dataset.field)}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	want := res.First
	if d.Step != strconv.FormatUint(want.Seq, 10) || d.Action != want.Action.Type.String() {
		t.Errorf("page shows step %s (%s); tracer check says step %d (%s)", d.Step, d.Action, want.Seq, want.Action.Type)
	}
	if !strings.Contains(d.Where, "line "+strconv.Itoa(want.Line)) {
		t.Errorf("page locates the divergence at %q; tracer check says line %d", d.Where, want.Line)
	}
	if !slices.Contains(d.Differs, "len(data)") || slices.Contains(d.Differs, "agent_id") || !slices.Contains(d.Same, "agent_id") {
		t.Errorf("differing fields marked: %q, equal: %q; want len(data) marked, agent_id not", d.Differs, d.Same)
	}
}
