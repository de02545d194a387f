package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// corpusPolicy is the policy the hostile corpus runs under: the default
// allowlist with tight size bounds, so oversize cases stay small files.
func corpusPolicy() Policy {
	return Policy{MaxArtifactSize: 4096, MaxTotalSize: 16384, MaxArtifacts: 16}
}

// hostileCase is one file of testdata/hostile: its first line is
// "// attacks: <what>; rule: <rule>[; setup: <kind>][; json-only]".
type hostileCase struct {
	name, attack, rule, setup string
	jsonOnly                  bool // not representable as a Go Bundle (schema-level attack)
	data                      []byte
}

func loadHostile(t testing.TB) []hostileCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []hostileCase
	for _, f := range files {
		if filepath.Base(f) == "actionlist.json" {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, data, ok := bytes.Cut(raw, []byte("\n"))
		if !ok || !bytes.HasPrefix(head, []byte("// attacks: ")) {
			t.Fatalf("%s: first line must be \"// attacks: ...\"", f)
		}
		hc := hostileCase{name: strings.TrimSuffix(filepath.Base(f), ".json"), data: data}
		for i, part := range strings.Split(strings.TrimPrefix(string(head), "// attacks: "), "; ") {
			switch {
			case i == 0:
				hc.attack = part
			case strings.HasPrefix(part, "rule: "):
				hc.rule = strings.TrimPrefix(part, "rule: ")
			case strings.HasPrefix(part, "setup: "):
				hc.setup = strings.TrimPrefix(part, "setup: ")
			case part == "json-only":
				hc.jsonOnly = true
			default:
				t.Fatalf("%s: unknown header part %q", f, part)
			}
		}
		if hc.rule == "" {
			t.Fatalf("%s: header names no rule", f)
		}
		out = append(out, hc)
	}
	return out
}

// named reports whether the error names one of the case's rules ("a|b")
// both as a Violation and in its text.
func (hc hostileCase) named(ve *ValidationError) bool {
	for _, r := range strings.Split(hc.rule, "|") {
		if ve.Has(r) && strings.Contains(ve.Error(), "\n"+r+": ") {
			return true
		}
	}
	return false
}

func TestHostileCorpusSize(t *testing.T) {
	cases := loadHostile(t)
	if len(cases) < 40 {
		t.Fatalf("hostile corpus has %d bundles, want at least 40", len(cases))
	}
	t.Logf("hostile corpus: %d bundles", len(cases))
}

func TestHostileValidateBundleJSON(t *testing.T) {
	al := testActionList(t)
	for _, hc := range loadHostile(t) {
		t.Run(hc.name, func(t *testing.T) {
			b, err := ValidateBundleJSON(hc.data, al, corpusPolicy())
			if hc.setup != "" {
				// The bundle is valid; the attack is on disk (see TestHostileBuild).
				if err != nil {
					t.Fatalf("bundle for on-disk attack should validate, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted hostile bundle (%s): %+v", hc.attack, b)
			}
			ve, ok := AsValidationError(err)
			if !ok {
				t.Fatalf("error is not a *ValidationError: %v", err)
			}
			if !hc.named(ve) {
				t.Fatalf("error does not name rule %q (%s):\n%v", hc.rule, hc.attack, err)
			}
		})
	}
}

// TestHostileBuild hands every hostile bundle to Build through a compiler,
// over a build directory holding a previous valid build, and checks that
// the build is refused and neither the build directory nor anything
// outside it changed by a single byte.
func TestHostileBuild(t *testing.T) {
	al := testActionList(t)
	for _, hc := range loadHostile(t) {
		t.Run(hc.name, func(t *testing.T) {
			if hc.jsonOnly {
				// A Go compiler cannot return these (unknown fields, wrong
				// types, trailing data): they exist only as JSON, which
				// TestHostileValidateBundleJSON covers.
				t.Skip("schema-only attack, not representable as a Go bundle")
			}
			tmp := t.TempDir()
			buildDir := filepath.Join(tmp, "config", ".clockwork", "build")
			outside := filepath.Join(tmp, "outside")
			if err := os.MkdirAll(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("do not touch\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			mustBuild(t, BuildOptions{BuildDir: buildDir, ActionList: al, Compiler: newCompiler(validBundle(t)), Policy: corpusPolicy()})

			// Loose decoding, as a sloppy compiler would: unknown fields
			// dropped, invalid UTF-8 turned into U+FFFD.
			var hostile contract.Bundle
			if err := json.Unmarshal(hc.data, &hostile); err != nil {
				t.Fatalf("decode: %v", err)
			}
			comp := newCompiler(&hostile)
			comp.settings = "v2" // never a reuse: the compiler must be asked
			opts := BuildOptions{BuildDir: buildDir, ActionList: al, Compiler: comp, Policy: corpusPolicy()}

			watched := buildDir
			switch hc.setup {
			case "":
			case "symlink-dir":
				must(t, os.RemoveAll(filepath.Join(buildDir, "scripts")))
				must(t, os.Symlink(outside, filepath.Join(buildDir, "scripts")))
			case "symlink-file":
				p := filepath.Join(buildDir, "scripts", "01_file_motd.sh")
				must(t, os.Remove(p))
				must(t, os.Symlink(filepath.Join(outside, "secret.txt"), p))
			case "hardlink-file":
				p := filepath.Join(buildDir, "scripts", "02_check_motd.py")
				must(t, os.Remove(p))
				must(t, os.Link(filepath.Join(outside, "secret.txt"), p))
			case "symlink-manifest":
				p := filepath.Join(buildDir, "manifest.json")
				must(t, os.Rename(p, filepath.Join(outside, "manifest.json")))
				must(t, os.Symlink(filepath.Join(outside, "manifest.json"), p))
			case "symlink-facts":
				p := filepath.Join(buildDir, "facts.json")
				must(t, os.Remove(p))
				must(t, os.Symlink(filepath.Join(outside, "secret.txt"), p))
			case "fifo-file":
				p := filepath.Join(buildDir, "scripts", "02_check_motd.py")
				must(t, os.Remove(p))
				must(t, syscall.Mkfifo(p, 0o644))
			case "symlink-inside":
				must(t, os.Rename(filepath.Join(buildDir, "scripts"), filepath.Join(buildDir, "real-scripts")))
				must(t, os.Symlink("real-scripts", filepath.Join(buildDir, "scripts")))
			case "symlink-builddir":
				watched = filepath.Join(tmp, "realbuild")
				must(t, os.Rename(buildDir, watched))
				must(t, os.Symlink(watched, buildDir))
			case "swap":
				// New content so the script must be rewritten, then swap
				// scripts/ for a symlink out after every check passed.
				hostile.Artifacts[0].Content += "# v2\n"
				comp.set(&hostile)
				opts.beforeWrite = func() {
					must(t, os.RemoveAll(filepath.Join(buildDir, "scripts")))
					must(t, os.Symlink(outside, filepath.Join(buildDir, "scripts")))
				}
			default:
				t.Fatalf("unknown setup %q", hc.setup)
			}
			before, outsideBefore := treeHash(t, watched), treeHash(t, outside)

			_, err := Build(context.Background(), opts)
			if err == nil {
				t.Fatalf("Build accepted hostile bundle (%s)", hc.attack)
			}
			if comp.count() > 1 {
				t.Fatalf("compiler called %d times, want at most 1", comp.count())
			}
			if got := treeHash(t, outside); got != outsideBefore {
				t.Fatalf("directory outside the build dir changed:\nbefore:\n%s\nafter:\n%s", outsideBefore, got)
			}
			if hc.setup == "swap" {
				// The swap itself changed the build dir; what matters is
				// that nothing was written through the link.
				if _, statErr := os.Lstat(filepath.Join(outside, "01_file_motd.sh")); statErr == nil {
					t.Fatal("a script was written through the swapped-in symlink")
				}
				return
			}
			ve, ok := AsValidationError(err)
			if !ok {
				t.Fatalf("error is not a *ValidationError: %v", err)
			}
			if !hc.named(ve) {
				t.Fatalf("error does not name rule %q:\n%v", hc.rule, err)
			}
			if got := treeHash(t, watched); got != before {
				t.Fatalf("build directory changed:\nbefore:\n%s\nafter:\n%s", before, got)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSwapRaceConcurrent races a goroutine that keeps swapping scripts/
// between a real directory and a symlink out of the build directory against
// builds: whatever interleaving happens, nothing is ever written outside.
func TestSwapRaceConcurrent(t *testing.T) {
	al := testActionList(t)
	tmp := t.TempDir()
	buildDir := filepath.Join(tmp, "build")
	outside := filepath.Join(tmp, "outside")
	must(t, os.MkdirAll(outside, 0o755))
	base := validBundle(t)
	mustBuild(t, BuildOptions{BuildDir: buildDir, ActionList: al, Compiler: newCompiler(base)})
	outsideBefore := treeHash(t, outside)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		scripts := filepath.Join(buildDir, "scripts")
		for i := 0; ctx.Err() == nil; i++ {
			tmpLink := filepath.Join(buildDir, "swap-link")
			_ = os.Remove(tmpLink)
			if err := os.Symlink(outside, tmpLink); err != nil {
				continue
			}
			_ = os.RemoveAll(scripts)
			_ = os.Rename(tmpLink, scripts) // scripts -> outside
			_ = os.Remove(scripts)
			_ = os.Mkdir(scripts, 0o755) // back to a real directory
		}
	}()
	outcomes := map[string]int{}
	for i := 0; i < 200; i++ {
		b := cloneBundle(base)
		b.Artifacts[0].Content += strings.Repeat("#", i+1) + "\n"
		comp := newCompiler(b)
		comp.settings = string(rune('a' + i%26))
		_, err := Build(context.Background(), BuildOptions{BuildDir: buildDir, ActionList: al, Compiler: comp, Force: true})
		var ve *ValidationError
		switch {
		case err == nil:
			outcomes["built"]++
		case errors.As(err, &ve):
			outcomes["refused by the pre-check"]++
		case strings.Contains(err.Error(), "escapes"):
			outcomes["stopped by os.Root"]++
		default:
			outcomes["other error"]++
			if outcomes["other error"] <= 3 {
				t.Logf("build %d: %v", i, err)
			}
		}
	}
	cancel()
	<-done
	t.Logf("outcomes: %v", outcomes)
	if got := treeHash(t, outside); got != outsideBefore {
		t.Fatalf("written outside the build directory:\n%s", got)
	}
}
