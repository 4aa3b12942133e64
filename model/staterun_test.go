package model

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestCheckFastPathStateRun: the state run (the bytes from the action's
// end to the data list, compared whole with the last line's) takes a line
// only when its agent_id and shard_id are the last line's: an agent_id or a
// shard_id that changes, with as many bytes or not, is found as the decoder
// finds it, and a register's agent_id that is not its name; spacing that changes there for good, or for one type of action
// only, is read member by member once and then through the run again. A
// distribute's data list is compared with its items as written, and by
// value when it is spaced otherwise.
func TestCheckFastPathStateRun(t *testing.T) {
	agent := regexp.MustCompile(`"agent_id": ?"[^"]*"`)
	shard := regexp.MustCompile(`"shard_id": ?\d+`)
	state := regexp.MustCompile(`"state": ?\{`)
	data := regexp.MustCompile(`("data": ?)\[`)
	agentSame := regexp.MustCompile(`("agent_id": ?"CICADA-Harbot)-`)
	set := func(re *regexp.Regexp, line []byte, v string) []byte {
		return re.ReplaceAllLiteral(line, []byte(v))
	}
	// Each mutation changes line i (0 is the init record) of the trace.
	for _, tc := range []struct {
		name   string
		mutate func(i int, line []byte) []byte
		want   string // in the result
		falls  int    // at most, lines left to the decoder
	}{
		{"agent_id changes", func(i int, line []byte) []byte {
			if i == 300 {
				return set(agent, line, `"agent_id":"someone else"`)
			}
			return line
		}, `"first_divergence":{"seq":300`, 400},
		{"agent_id of as many bytes", func(i int, line []byte) []byte {
			if i == 301 {
				return agentSame.ReplaceAll(line, []byte(`${1}_`))
			}
			return line
		}, `"first_divergence":{"seq":301`, 400},
		{"shard_id changes", func(i int, line []byte) []byte {
			if i >= 302 {
				return set(shard, line, `"shard_id":7`)
			}
			return line
		}, `"first_divergence":{"seq":302`, 400},
		{"shard_id of more digits", func(i int, line []byte) []byte {
			if i == 303 {
				return set(shard, line, `"shard_id":10`)
			}
			return line
		}, `"first_divergence":{"seq":303`, 400},
		{"register's agent_id other than its name", func(i int, line []byte) []byte {
			if i > 100 && bytes.Contains(line, []byte(`"register"`)) {
				return agentSame.ReplaceAll(line, []byte(`${1}_`))
			}
			return line
		}, `"verdict":"divergent"`, 400},
		{"register's name escaped", func(i int, line []byte) []byte {
			if bytes.Contains(line, []byte(`"register"`)) {
				return bytes.ReplaceAll(line, []byte(`Harbot-`), []byte(`Harb\u006ft-`))
			}
			return line
		}, `"verdict":"conforming"`, 1},
		{"data list other than the items", func(i int, line []byte) []byte {
			if i > 200 && bytes.Contains(line, []byte(`"distribute"`)) {
				return data.ReplaceAll(line, []byte(`${1}[5,`))
			}
			return line
		}, `"verdict":"divergent"`, 400},
		{"data list spaced other than the items", func(i int, line []byte) []byte {
			if bytes.Contains(line, []byte(`"distribute"`)) {
				return data.ReplaceAll(line, []byte(`${1}[ `))
			}
			return line
		}, `"verdict":"conforming"`, 1 + 1},
		{"spacing changes for good", func(i int, line []byte) []byte {
			if i >= 250 {
				return set(state, line, `"state":  {`)
			}
			return line
		}, `"verdict":"conforming"`, 1 + 4},
		{"spacing of one type", func(i int, line []byte) []byte {
			if bytes.Contains(line, []byte(`"comment"`)) {
				return set(state, line, `"state" : {`)
			}
			return line
		}, `"verdict":"conforming"`, 1},
		{"spacing back and forth", func(i int, line []byte) []byte {
			if i%3 == 0 {
				return set(state, line, `"state" : {`)
			}
			return line
		}, `"verdict":"conforming"`, 1 + 8},
	} {
		for _, sp := range []string{"compact", "json.dumps"} {
			t.Run(tc.name+"/"+sp, func(t *testing.T) {
				var trace []byte
				for i, line := range bytes.SplitAfter(respell(genTrace(400, 11), spellings[sp]), []byte("\n")) {
					if len(line) > 0 {
						line = append(tc.mutate(i, bytes.TrimSuffix(line, []byte("\n"))), '\n')
					}
					trace = append(trace, line...)
				}
				for _, rel := range []Relation{Exact, Bisim} {
					res, falls := checkWays(t, trace, "t", rel)
					if !strings.Contains(res, tc.want) {
						t.Errorf("%s: result does not say %s: %s", rel, tc.want, res)
					}
					if falls > tc.falls {
						t.Errorf("%s: %d lines left to the decoder, want at most %d", rel, falls, tc.falls)
					}
				}
			})
		}
	}
}
