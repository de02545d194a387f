package forge

import (
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidateBundleJSON feeds arbitrary bytes to the validator (seeds: the
// hostile corpus and a valid bundle). It must never panic, and anything it
// accepts must satisfy the path, mode, runtime, content and purpose
// invariants, checked here independently of the validator's own code.
func FuzzValidateBundleJSON(f *testing.F) {
	f.Add(readTestdata(f, "valid_bundle.json"))
	for _, hc := range loadHostile(f) {
		f.Add(hc.data)
	}
	al := testActionList(f)
	allow := map[string]bool{}
	for _, r := range DefaultAllowlist {
		allow[r] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ValidateBundleJSON(data, al, Policy{})
		if err != nil {
			if _, ok := AsValidationError(err); !ok {
				t.Fatalf("error is not a *ValidationError: %v", err)
			}
			return
		}
		execs := map[string]bool{}
		seen := map[string]bool{}
		for _, a := range b.Artifacts {
			p := a.Path
			if p == "" || path.IsAbs(p) || path.Clean(p) != p || len(p) > MaxPathLen {
				t.Fatalf("accepted unsafe path %q", p)
			}
			for _, el := range strings.Split(p, "/") {
				if el == ".." || el == "." || strings.HasPrefix(el, "-") {
					t.Fatalf("accepted path element %q in %q", el, p)
				}
			}
			for i := 0; i < len(p); i++ {
				c := p[i]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
					t.Fatalf("accepted byte %q in path %q", c, p)
				}
			}
			low := strings.ToLower(p)
			if seen[low] || low == "manifest.json" || low == "bundle.json" || low == "actionlist.json" || low == "facts.json" || low == "agent" || strings.HasPrefix(low, "agent/") {
				t.Fatalf("accepted colliding or reserved path %q", p)
			}
			seen[low] = true
			m, err := strconv.ParseUint(a.Mode, 8, 32)
			if err != nil || m&^0o755 != 0 {
				t.Fatalf("accepted mode %q", a.Mode)
			}
			if !utf8.ValidString(a.Content) || strings.ContainsRune(a.Content, 0) || len(a.Content) > DefaultMaxArtifactSize {
				t.Fatalf("accepted bad content in %q", p)
			}
			if m&0o111 != 0 {
				if !strings.HasPrefix(a.Content, "#!") {
					t.Fatalf("accepted executable %q without a shebang", p)
				}
				execs[p] = true
			}
		}
		count := map[string]int{}
		for _, s := range b.Steps {
			count[s.Purpose]++
			if len(s.Run.Cmd) == 0 {
				t.Fatalf("accepted empty cmd for %q", s.Purpose)
			}
			c0 := s.Run.Cmd[0]
			if !allow[c0] && !execs[strings.TrimPrefix(c0, "./")] {
				t.Fatalf("accepted cmd[0] %q", c0)
			}
			for k := range s.Run.Env {
				if up := strings.ToUpper(k); up == "PATH" || up == "HOME" || strings.HasPrefix(up, "LD_") || strings.HasPrefix(up, "CW_") {
					t.Fatalf("accepted env %q", k)
				}
			}
		}
		for _, st := range al.Steps {
			if count[st.ID] != 1 {
				t.Fatalf("accepted %d bundle steps for %q", count[st.ID], st.ID)
			}
		}
		if len(count) != len(al.Steps) {
			t.Fatalf("accepted bundle steps %v for %d planned steps", count, len(al.Steps))
		}
	})
}

// FuzzParseShebang: never panics; an accepted shebang names a bare runtime.
func FuzzParseShebang(f *testing.F) {
	for _, s := range []string{"#!/bin/bash\n", "#!/usr/bin/env python3\n", "#!/usr/bin/env -S bash\n", "#!/bin/sh -eu", "#!", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		rt, err := parseShebang(content)
		if err == nil && (rt == "" || strings.ContainsAny(rt, "/= \t\r\n\x00") || strings.HasPrefix(rt, "-")) {
			t.Fatalf("parseShebang(%q) accepted runtime %q", content, rt)
		}
	})
}
