package report

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

// Frame kinds, for the flame graph's colours.
const (
	kindNative = iota
	kindKernel
	kindPython
	kindJS
	kindOther
)

// Flame graph filters besides the action names.
const (
	filterAll     = "all"
	filterOutside = "(outside any step)"
)

// maxNodes bounds the nodes of one flame tree: past it, the smallest
// subtrees of each parent are folded into one "(small frames)" node, so a
// profile with very many distinct stacks still makes a small page.
const maxNodes = 6000

// profileData is what the page keeps of one profile.
type profileData struct {
	total     int64            // samples (the "samples" value, else the first)
	byAction  map[string]int64 // samples carrying each action label
	outside   int64            // samples with no action label
	labelled  bool             // any sample had an action label
	lost      int64            // the kernel's lost records, from the comments
	comments  []string         // the profile's comments
	duration  int64            // nanoseconds
	names     []string
	kinds     []int
	nameIndex map[string]int32
	trees     map[string]*node // filterAll, each action, filterOutside
}

// node is one frame of a flame tree, root first.
type node struct {
	name     int32
	total    int64
	children map[int32]*node
}

func (n *node) child(name int32) *node {
	if n.children == nil {
		n.children = map[int32]*node{}
	}
	c := n.children[name]
	if c == nil {
		c = &node{name: name}
		n.children[name] = c
	}
	return c
}

// readProfile aggregates the profile into one tree for all samples, one per
// action label and one for the samples outside any step.
func (r *implRun) readProfile() {
	p := r.Profile
	d := &profileData{
		byAction:  map[string]int64{},
		nameIndex: map[string]int32{},
		trees:     map[string]*node{},
		comments:  p.Comments,
		duration:  p.DurationNanos,
	}
	for _, c := range p.Comments {
		if v, ok := strings.CutPrefix(c, "lost records: "); ok {
			d.lost, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	root := d.name("all")
	d.trees[filterAll] = &node{name: root}
	vi := sampleIndex(p)
	frames := map[uint64][]int32{} // location ID → names, root first
	var stack []int32
	for _, s := range p.Sample {
		if vi >= len(s.Value) || s.Value[vi] <= 0 {
			continue
		}
		v := s.Value[vi]
		d.total += v
		stack = stack[:0]
		for i := len(s.Location) - 1; i >= 0; i-- {
			loc := s.Location[i]
			names, ok := frames[loc.ID]
			if !ok {
				names = d.locationNames(loc)
				frames[loc.ID] = names
			}
			for _, n := range names {
				// A run of one unnamed frame ("[unknown]", a module
				// without symbols) is drawn once: the run's length
				// says nothing and makes the graph very tall.
				if k := len(stack); k > 0 && stack[k-1] == n && strings.HasPrefix(d.names[n], "[") {
					continue
				}
				stack = append(stack, n)
			}
		}
		filter := filterOutside
		if a := s.Label["action"]; len(a) > 0 && a[0] != "" {
			filter = a[0]
			d.labelled = true
			d.byAction[filter] += v
		} else {
			d.outside += v
		}
		d.add(filterAll, stack, v)
		d.add(filter, stack, v)
	}
	if !d.labelled {
		delete(d.trees, filterOutside)
	}
	for _, t := range d.trees {
		prune(t, func() int32 { return d.name("(small frames)") })
	}
	r.prof = d
}

// Comment prefixes of what a run records in its profile.
const (
	commentCommand     = "command: "
	commentInterpreter = "interpreter: "
	commentCapture     = "capture: "
)

// fromComments takes what the run did not say from the profile's comments.
func (r *implRun) fromComments() {
	for _, c := range r.prof.comments {
		switch {
		case strings.HasPrefix(c, commentCommand) && len(r.Command) == 0:
			r.Command = []string{strings.TrimPrefix(c, commentCommand)}
		case strings.HasPrefix(c, commentInterpreter) && r.Interpreter == "":
			r.Interpreter = strings.TrimPrefix(c, commentInterpreter)
		case strings.HasPrefix(c, commentCapture) && r.Capture == "":
			r.Capture = strings.TrimPrefix(c, commentCapture)
		}
	}
}

func (d *profileData) add(filter string, stack []int32, v int64) {
	n := d.trees[filter]
	if n == nil {
		n = &node{name: d.nameIndex["all"]}
		d.trees[filter] = n
	}
	n.total += v
	for _, f := range stack {
		n = n.child(f)
		n.total += v
	}
}

// name interns a frame name.
func (d *profileData) name(s string) int32 {
	if i, ok := d.nameIndex[s]; ok {
		return i
	}
	i := int32(len(d.names))
	d.names = append(d.names, s)
	d.kinds = append(d.kinds, kindOther)
	d.nameIndex[s] = i
	return i
}

// locationNames names a location's frames, root first: its inlined lines
// from the outermost in, or its mapping's file, or its address.
func (d *profileData) locationNames(loc *profile.Location) []int32 {
	kind := locationKind(loc)
	var out []int32
	for i := len(loc.Line) - 1; i >= 0; i-- {
		fn := loc.Line[i].Function
		if fn == nil || fn.Name == "" {
			continue
		}
		k := kind
		if strings.HasPrefix(fn.SystemName, "python:") {
			k = kindPython
		} else if isJSFile(fn.Filename) {
			k = kindJS
		}
		out = append(out, d.kindName(fn.Name, k))
	}
	if len(out) > 0 {
		return out
	}
	switch {
	case loc.Mapping != nil && loc.Mapping.File != "":
		return []int32{d.kindName("["+filepath.Base(loc.Mapping.File)+"]", kind)}
	case kind == kindKernel:
		return []int32{d.kindName("[kernel]", kind)}
	}
	return []int32{d.kindName(fmt.Sprintf("0x%x", loc.Address), kindOther)}
}

func (d *profileData) kindName(s string, k int) int32 {
	i := d.name(s)
	if d.kinds[i] == kindOther {
		d.kinds[i] = k
	}
	return i
}

// locationKind tells kernel, JIT and native code apart by where the
// location lies.
func locationKind(loc *profile.Location) int {
	switch {
	case loc.Mapping == nil && loc.Address >= 0xffff800000000000:
		return kindKernel
	case loc.Mapping == nil:
		return kindOther
	case strings.HasPrefix(loc.Mapping.File, "//anon") || strings.HasPrefix(loc.Mapping.File, "[anon"):
		return kindJS
	}
	return kindNative
}

func isJSFile(f string) bool {
	return strings.HasPrefix(f, "node:") || strings.HasSuffix(f, ".js") || strings.HasSuffix(f, ".mjs") || strings.HasSuffix(f, ".cjs")
}

// sampleIndex is the index of the value counted in samples: the "samples"
// sample type when the profile has one, else the first value.
func sampleIndex(p *profile.Profile) int {
	for i, st := range p.SampleType {
		if st.Type == "samples" {
			return i
		}
	}
	return 0
}

// prune folds the smallest subtrees into one "(small frames)" child per
// parent until the tree has at most maxNodes nodes.
func prune(root *node, small func() int32) {
	var totals []int64
	var walk func(n *node)
	walk = func(n *node) {
		totals = append(totals, n.total)
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(root)
	if len(totals) <= maxNodes {
		return
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i] > totals[j] })
	threshold := totals[maxNodes-1] + 1 // keep nodes with total >= threshold
	var cut func(n *node)
	cut = func(n *node) {
		var folded int64
		for k, c := range n.children {
			if c.total < threshold {
				folded += c.total
				delete(n.children, k)
				continue
			}
			cut(c)
		}
		if folded > 0 {
			n.child(small()).total += folded
		}
	}
	cut(root)
}

// appendTree writes n as nested JSON arrays: [name, total, child…], the
// children largest first.
func appendTree(b []byte, n *node) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(n.name), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, n.total, 10)
	kids := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		kids = append(kids, c)
	}
	sort.Slice(kids, func(i, j int) bool {
		if kids[i].total != kids[j].total {
			return kids[i].total > kids[j].total
		}
		return kids[i].name < kids[j].name
	})
	for _, c := range kids {
		b = append(b, ',')
		b = appendTree(b, c)
	}
	return append(b, ']')
}
