package forge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
	"github.com/google/go-cmp/cmp"
)

// changedPlan returns the test plan with the file step's content changed
// (a new fingerprint) and a bundle for it whose shell script differs.
func changedPlan(t *testing.T) (*contract.ActionList, *contract.Bundle) {
	t.Helper()
	al := testActionList(t)
	al.Steps[0].Args["content"] = "bye\n"
	fp, err := contract.ComputeFingerprint(al.Steps)
	if err != nil {
		t.Fatal(err)
	}
	al.Fingerprint = fp
	b := validBundle(t)
	b.Artifacts[0].Content = strings.Replace(b.Artifacts[0].Content, "$GREETING", "bye", 1)
	return al, b
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func perm(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return formatMode(fi.Mode())
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestBuildFirstWritesEverything(t *testing.T) {
	al := testActionList(t)
	dir := filepath.Join(t.TempDir(), ".clockwork", "build")
	comp := newCompiler(validBundle(t))
	f := &facts.Facts{OS: "linux", Arch: "amd64", Runtimes: map[string]facts.Runtime{"bash": {Present: true, Path: "/bin/bash"}}}
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp, Facts: f})

	if diff := cmp.Diff([]string{shPath, pyPath}, res.Written); diff != "" {
		t.Fatalf("Written (-want +got):\n%s", diff)
	}
	if res.Reused || len(res.Kept) != 0 || len(res.Removed) != 0 {
		t.Fatalf("unexpected result %+v", res)
	}
	if res.Bundle.Fingerprint != al.Fingerprint || res.Bundle.Compiler != "test" {
		t.Fatalf("bundle fingerprint/compiler = %q/%q", res.Bundle.Fingerprint, res.Bundle.Compiler)
	}
	gen := validBundle(t)
	for _, a := range gen.Artifacts {
		p := filepath.Join(dir, a.Path)
		if got := readFile(t, p); got != a.Content {
			t.Fatalf("%s content = %q, want %q", a.Path, got, a.Content)
		}
		if got := perm(t, p); got != a.Mode {
			t.Fatalf("%s mode = %s, want %s", a.Path, got, a.Mode)
		}
	}
	onDisk, err := contract.ParseBundle([]byte(readFile(t, filepath.Join(dir, "bundle.json"))))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Bundle, onDisk); diff != "" {
		t.Fatalf("bundle.json (-result +disk):\n%s", diff)
	}
	alDisk, err := contract.ParseActionList([]byte(readFile(t, filepath.Join(dir, "actionlist.json"))))
	if err != nil {
		t.Fatal(err)
	}
	if alDisk.Fingerprint != al.Fingerprint {
		t.Fatalf("actionlist.json fingerprint %s", alDisk.Fingerprint)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "facts.json")), `"/bin/bash"`) {
		t.Fatal("facts.json does not hold the facts")
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantM := &Manifest{
		Version: ManifestVersion, Fingerprint: al.Fingerprint, Compiler: "test", Settings: "v1",
		Artifacts: map[string]ManifestArtifact{
			shPath: {SHA256: hashBytes([]byte(gen.Artifacts[0].Content)), Mode: "0755", Purpose: stepFile},
			pyPath: {SHA256: hashBytes([]byte(gen.Artifacts[1].Content)), Mode: "0644", Purpose: stepCheck},
		},
		Steps: map[string]string{stepFile: hashRun(gen.Steps[0].Run), stepCheck: hashRun(gen.Steps[1].Run)},
	}
	if diff := cmp.Diff(wantM, m); diff != "" {
		t.Fatalf("manifest (-want +got):\n%s", diff)
	}
	loaded, err := LoadBuilt(dir, al, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Bundle, loaded); diff != "" {
		t.Fatalf("LoadBuilt (-built +loaded):\n%s", diff)
	}
	// No temporary file is left behind.
	if matches, _ := filepath.Glob(filepath.Join(dir, "*", tempPrefix+"*")); len(matches) > 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}

func TestBuildReuse(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	comp := newCompiler(validBundle(t))
	first := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp})
	before := treeHash(t, dir)

	second := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp})
	if !second.Reused || comp.count() != 1 {
		t.Fatalf("Reused=%v, compiler calls %d; want reuse without compiling", second.Reused, comp.count())
	}
	if len(second.Written)+len(second.Kept)+len(second.Removed) != 0 {
		t.Fatalf("reuse reported changes: %+v", second)
	}
	if diff := cmp.Diff(first.Bundle, second.Bundle); diff != "" {
		t.Fatalf("reused bundle differs:\n%s", diff)
	}
	if got := treeHash(t, dir); got != before {
		t.Fatal("reuse changed the build directory")
	}

	// New compiler settings invalidate the cache; identical output rewrites
	// no artifact.
	comp.settings = "v2"
	third := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp})
	if third.Reused || comp.count() != 2 || len(third.Written) != 0 {
		t.Fatalf("after settings change: Reused=%v calls=%d Written=%v", third.Reused, comp.count(), third.Written)
	}
	if m, _ := ReadManifest(dir); m.Settings != "v2" {
		t.Fatalf("manifest settings %q", m.Settings)
	}

	// A missing artifact means the build must run again.
	must(t, os.Remove(filepath.Join(dir, pyPath)))
	fourth := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp})
	if fourth.Reused || comp.count() != 3 {
		t.Fatalf("missing artifact: Reused=%v calls=%d", fourth.Reused, comp.count())
	}
	if diff := cmp.Diff([]string{pyPath}, fourth.Written); diff != "" {
		t.Fatalf("Written (-want +got):\n%s", diff)
	}

	// Force never reuses.
	fifth := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp, Force: true})
	if fifth.Reused || comp.count() != 4 {
		t.Fatalf("force: Reused=%v calls=%d", fifth.Reused, comp.count())
	}
}

func TestBuildChangedPlanRewritesOnlyChanged(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	pyIno := inode(t, filepath.Join(dir, pyPath))
	shIno := inode(t, filepath.Join(dir, shPath))

	al2, b2 := changedPlan(t)
	addArtifact(b2, "data/extra.txt", "0600", "text", "extra\n")
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2)})
	if diff := cmp.Diff([]string{"data/extra.txt", shPath}, res.Written); diff != "" {
		t.Fatalf("Written (-want +got):\n%s", diff)
	}
	if inode(t, filepath.Join(dir, pyPath)) != pyIno {
		t.Fatal("unchanged artifact was rewritten")
	}
	if inode(t, filepath.Join(dir, shPath)) == shIno {
		t.Fatal("changed artifact was not replaced")
	}
	if got := perm(t, filepath.Join(dir, "data/extra.txt")); got != "0600" {
		t.Fatalf("mode %s, want 0600", got)
	}
	if _, err := LoadBuilt(dir, al2, Policy{}); err != nil {
		t.Fatal(err)
	}

	// Back to the first plan: extra.txt is no longer in the bundle.
	res = mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	if diff := cmp.Diff([]string{"data/extra.txt"}, res.Removed); diff != "" {
		t.Fatalf("Removed (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat(filepath.Join(dir, "data/extra.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removed artifact still on disk: %v", err)
	}
}

func TestBuildKeepsUserEdits(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	edited := "#!/bin/bash\necho edited by hand\n"
	must(t, os.WriteFile(filepath.Join(dir, shPath), []byte(edited), 0o755))

	// Same plan: reused, the edit is reported and is what LoadBuilt returns.
	comp := newCompiler(validBundle(t))
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp})
	if !res.Reused || comp.count() != 0 {
		t.Fatalf("Reused=%v calls=%d", res.Reused, comp.count())
	}
	if diff := cmp.Diff([]string{shPath}, res.Kept); diff != "" {
		t.Fatalf("Kept (-want +got):\n%s", diff)
	}
	if res.Bundle.Artifacts[0].Content != edited {
		t.Fatalf("reused bundle does not carry the edit: %q", res.Bundle.Artifacts[0].Content)
	}
	loaded, err := LoadBuilt(dir, al, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Artifacts[0].Content != edited {
		t.Fatalf("LoadBuilt content %q, want the edit", loaded.Artifacts[0].Content)
	}

	// Changed plan: the edit survives, is reported, and is in the bundle.
	al2, b2 := changedPlan(t)
	res = mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2)})
	if diff := cmp.Diff([]string{shPath}, res.Kept); diff != "" {
		t.Fatalf("Kept (-want +got):\n%s", diff)
	}
	if len(res.Written) != 0 {
		t.Fatalf("Written %v, want nothing", res.Written)
	}
	if got := readFile(t, filepath.Join(dir, shPath)); got != edited {
		t.Fatalf("edit overwritten: %q", got)
	}
	if res.Bundle.Artifacts[0].Content != edited {
		t.Fatal("result bundle lacks the edit")
	}
	if loaded, err = LoadBuilt(dir, al2, Policy{}); err != nil || loaded.Artifacts[0].Content != edited {
		t.Fatalf("LoadBuilt after kept edit: %v", err)
	}
	// The manifest still records the generated hash, so the edit stays an edit.
	m, _ := ReadManifest(dir)
	if m.Artifacts[shPath].SHA256 != hashBytes([]byte(b2.Artifacts[0].Content)) {
		t.Fatal("manifest records the edited hash instead of the generated one")
	}

	// Force overwrites it.
	res = mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2), Force: true})
	if diff := cmp.Diff([]string{shPath}, res.Written); diff != "" || len(res.Kept) != 0 {
		t.Fatalf("force: Written %v Kept %v", res.Written, res.Kept)
	}
	if got := readFile(t, filepath.Join(dir, shPath)); got != b2.Artifacts[0].Content {
		t.Fatalf("force did not restore the generated script: %q", got)
	}
}

func TestBuildKeepsModeEdit(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	must(t, os.Chmod(filepath.Join(dir, pyPath), 0o600))
	al2, b2 := changedPlan(t)
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2)})
	if diff := cmp.Diff([]string{pyPath}, res.Kept); diff != "" {
		t.Fatalf("Kept (-want +got):\n%s", diff)
	}
	if got := perm(t, filepath.Join(dir, pyPath)); got != "0600" {
		t.Fatalf("mode edit lost: %s", got)
	}
	if res.Bundle.Artifacts[1].Mode != "0600" {
		t.Fatalf("bundle mode %s", res.Bundle.Artifacts[1].Mode)
	}
}

func TestEditedBundleViolations(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		rule string
	}{
		{"chmod setuid", func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, shPath), 0o755|fs.ModeSetuid))
		}, RuleMode},
		{"chmod world-writable", func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, pyPath), 0o666))
		}, RuleMode},
		{"bundle.json run.cmd curl", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bundle.json")
			s := strings.Replace(readFile(t, p), `"python3"`, `"curl"`, 1)
			must(t, os.WriteFile(p, []byte(s), 0o644))
		}, RuleRuntime},
		{"bundle.json artifact path traversal", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bundle.json")
			s := strings.ReplaceAll(readFile(t, p), `"`+pyPath+`"`, `"../../x.py"`)
			must(t, os.WriteFile(p, []byte(s), 0o644))
		}, RulePath},
		{"script shebang curl", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, shPath), []byte("#!/usr/bin/env curl\n"), 0o755))
		}, RuleShebang},
		{"script NUL byte", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, pyPath), []byte("print(1)\x00\n"), 0o644))
		}, RuleContent},
		{"script replaced by symlink", func(t *testing.T, dir string) {
			p := filepath.Join(dir, pyPath)
			must(t, os.Remove(p))
			must(t, os.Symlink("/etc/hostname", p))
		}, RulePath},
		{"script replaced by hard link", func(t *testing.T, dir string) {
			p := filepath.Join(dir, pyPath)
			other := filepath.Join(t.TempDir(), "other.py")
			must(t, os.WriteFile(other, []byte("print(1)\n"), 0o644))
			must(t, os.Remove(p))
			must(t, os.Link(other, p))
		}, RulePath},
		{"script grown past the size bound", func(t *testing.T, dir string) {
			big := "#!/bin/bash\n" + strings.Repeat("# padding\n", DefaultMaxArtifactSize/10+1)
			must(t, os.WriteFile(filepath.Join(dir, shPath), []byte(big), 0o755))
		}, RuleSize},
		{"script deleted", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, pyPath)))
		}, RulePath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al := testActionList(t)
			dir := t.TempDir()
			mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
			tt.edit(t, dir)
			before := treeHash(t, dir)

			_, err := LoadBuilt(dir, al, Policy{})
			ve, ok := AsValidationError(err)
			if !ok || !ve.Has(tt.rule) {
				t.Fatalf("LoadBuilt: want a %q violation, got %v", tt.rule, err)
			}
			if tt.name == "script deleted" {
				return // Build regenerates a missing artifact; that is fine
			}
			// Build refuses as well, on reuse and after a plan change, and
			// writes nothing.
			_, err = Build(context.Background(), BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
			if _, ok := AsValidationError(err); !ok {
				t.Fatalf("Build (same plan): want a validation error, got %v", err)
			}
			if strings.HasPrefix(tt.name, "bundle.json") {
				return // a plan change regenerates bundle.json; covered by the run-edit tests
			}
			al2, b2 := changedPlan(t)
			_, err = Build(context.Background(), BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2)})
			if _, ok := AsValidationError(err); !ok {
				t.Fatalf("Build (changed plan): want a validation error, got %v", err)
			}
			if got := treeHash(t, dir); got != before {
				t.Fatal("a refused build changed the build directory")
			}
		})
	}
}

func TestForceRepairsEditedViolation(t *testing.T) {
	for name, edit := range map[string]func(t *testing.T, p string){
		"setuid": func(t *testing.T, p string) { must(t, os.Chmod(p, 0o755|fs.ModeSetuid)) },
		"oversize": func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte(strings.Repeat("#", DefaultMaxArtifactSize+1)), 0o755))
		},
	} {
		t.Run(name, func(t *testing.T) {
			al := testActionList(t)
			dir := t.TempDir()
			mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
			edit(t, filepath.Join(dir, shPath))
			res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t)), Force: true})
			if diff := cmp.Diff([]string{shPath}, res.Written); diff != "" {
				t.Fatalf("Written (-want +got):\n%s", diff)
			}
			if got := perm(t, filepath.Join(dir, shPath)); got != "0755" {
				t.Fatalf("mode after force %s", got)
			}
			if _, err := LoadBuilt(dir, al, Policy{}); err != nil {
				t.Fatalf("LoadBuilt after force: %v", err)
			}
		})
	}
}

func TestLoadBuiltStaleAndMissing(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	_, err := LoadBuilt(filepath.Join(dir, "nope"), al, Policy{})
	if !errors.Is(err, ErrNoBuild) {
		t.Fatalf("missing build: %v", err)
	}
	_, err = LoadBuilt(dir, al, Policy{})
	if !errors.Is(err, ErrNoBuild) {
		t.Fatalf("empty build dir: %v", err)
	}
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	al2, _ := changedPlan(t)
	_, err = LoadBuilt(dir, al2, Policy{})
	if !errors.Is(err, ErrStaleBundle) {
		t.Fatalf("stale bundle: %v", err)
	}
}

func TestBuildKeepsEditedRun(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	p := filepath.Join(dir, "bundle.json")
	s := strings.Replace(readFile(t, p), `"timeout": 30`, `"retries": 3,
          "timeout": 120`, 1)
	must(t, os.WriteFile(p, []byte(s), 0o644))

	loaded, err := LoadBuilt(dir, al, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if r := loaded.StepFor(stepCheck).Run; r.Timeout != 120 || r.Retries != 3 {
		t.Fatalf("LoadBuilt run %+v", r)
	}
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	if !res.Reused || !cmp.Equal([]string{stepCheck}, res.KeptSteps) {
		t.Fatalf("reuse: Reused=%v KeptSteps=%v", res.Reused, res.KeptSteps)
	}

	al2, b2 := changedPlan(t)
	res = mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2)})
	if diff := cmp.Diff([]string{stepCheck}, res.KeptSteps); diff != "" {
		t.Fatalf("KeptSteps (-want +got):\n%s", diff)
	}
	loaded, err = LoadBuilt(dir, al2, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if r := loaded.StepFor(stepCheck).Run; r.Timeout != 120 || r.Retries != 3 {
		t.Fatalf("edited run lost across a plan change: %+v", r)
	}
	res = mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2), Force: true})
	if len(res.KeptSteps) != 0 || res.Bundle.StepFor(stepCheck).Run.Timeout != 30 {
		t.Fatalf("force kept the run edit: %+v", res.KeptSteps)
	}
}

func TestBuildEditConflict(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	must(t, os.WriteFile(filepath.Join(dir, pyPath), []byte("print('mine')\n"), 0o644))
	before := treeHash(t, dir)

	// The new bundle puts the other step's artifact at the edited path.
	al2, b2 := changedPlan(t)
	b2.Artifacts[1].Path = "scripts/03_check_motd.py"
	b2.Steps[1].Run.Cmd = []string{"python3", "scripts/03_check_motd.py"}
	addArtifact(b2, pyPath, "0644", "text", "notes for the file step\n")
	_, err := Build(context.Background(), BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2)})
	if !errors.Is(err, ErrEditConflict) {
		t.Fatalf("want ErrEditConflict, got %v", err)
	}
	if got := treeHash(t, dir); got != before {
		t.Fatal("conflicting build changed the build directory")
	}
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2), Force: true})
	if !cmp.Equal(res.Written, []string{shPath, pyPath, "scripts/03_check_motd.py"}) {
		t.Fatalf("force Written %v", res.Written)
	}
}

func TestBuildOrphans(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	b1 := validBundle(t)
	addArtifact(b1, "data/a.txt", "0644", "text", "a\n")
	addArtifact(b1, "data/b.txt", "0644", "text", "b\n")
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(b1)})
	must(t, os.WriteFile(filepath.Join(dir, "data/b.txt"), []byte("mine\n"), 0o644))

	al2, b2 := changedPlan(t)
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al2, Compiler: newCompiler(b2)})
	if !cmp.Equal(res.Removed, []string{"data/a.txt"}) || !cmp.Equal(res.Kept, []string{"data/b.txt"}) {
		t.Fatalf("Removed %v Kept %v", res.Removed, res.Kept)
	}
	if got := readFile(t, filepath.Join(dir, "data/b.txt")); got != "mine\n" {
		t.Fatal("edited orphan not kept")
	}
	if _, err := os.Lstat(filepath.Join(dir, "data/a.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("unedited orphan not removed")
	}
}

func TestBuildCorruptManifest(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	for name, content := range map[string]string{
		"garbage":     "{not json",
		"unsafe path": `{"version":"1","fingerprint":"x","compiler":"test","settings":"v1","artifacts":{"../../etc/passwd":{"sha256":"x","mode":"0644","purpose":"p"}}}`,
		"version":     `{"version":"9","fingerprint":"x","compiler":"test","settings":"v1","artifacts":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			must(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(content), 0o644))
			before := treeHash(t, dir)
			if _, err := Build(context.Background(), BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))}); err == nil {
				t.Fatal("corrupt manifest accepted")
			}
			if treeHash(t, dir) != before {
				t.Fatal("build dir changed")
			}
			res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t)), Force: true})
			if res.Reused {
				t.Fatal("force reused")
			}
			if _, err := ReadManifest(dir); err != nil {
				t.Fatalf("manifest not repaired: %v", err)
			}
		})
	}
}

func TestBuildWithoutManifestKeepsForeignFiles(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "scripts"), 0o755))
	mine := "#!/bin/bash\necho mine\n"
	must(t, os.WriteFile(filepath.Join(dir, shPath), []byte(mine), 0o755))
	res := mustBuild(t, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(validBundle(t))})
	if !cmp.Equal(res.Kept, []string{shPath}) || readFile(t, filepath.Join(dir, shPath)) != mine {
		t.Fatalf("file of unknown origin overwritten: Kept %v", res.Kept)
	}
}

func TestBuildRejectedFirstBuildCreatesNothing(t *testing.T) {
	al := testActionList(t)
	dir := filepath.Join(t.TempDir(), "config", ".clockwork", "build")
	b := validBundle(t)
	b.Steps[0].Run.Cmd = []string{"curl", "x"}
	_, err := Build(context.Background(), BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(b)})
	if _, ok := AsValidationError(err); !ok {
		t.Fatalf("want validation error, got %v", err)
	}
	if _, err := os.Lstat(filepath.Dir(filepath.Dir(dir))); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a rejected first build created directories")
	}
}

type failingCompiler struct{ fixedCompiler }

func (c *failingCompiler) Compile(context.Context, *contract.ActionList, *facts.Facts) (*contract.Bundle, error) {
	return nil, errors.New("model refused")
}

func TestBuildCompilerErrorAndCancel(t *testing.T) {
	al := testActionList(t)
	dir := t.TempDir()
	_, err := Build(context.Background(), BuildOptions{BuildDir: dir, ActionList: al, Compiler: &failingCompiler{fixedCompiler{name: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "model refused") {
		t.Fatalf("compiler error not returned: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	comp := newCompiler(validBundle(t))
	if _, err := Build(ctx, BuildOptions{BuildDir: dir, ActionList: al, Compiler: comp}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled build: %v", err)
	}
	if comp.count() != 0 {
		t.Fatal("canceled build called the compiler")
	}
	if treeHash(t, dir) != treeHash(t, t.TempDir()) {
		t.Fatal("failed builds wrote something")
	}
}

func TestBuildDoesNotMutateCompilerBundle(t *testing.T) {
	al := testActionList(t)
	b := validBundle(t)
	want := cloneBundle(b)
	comp := &fixedCompiler{name: "test", bundle: b}
	mustBuild(t, BuildOptions{BuildDir: t.TempDir(), ActionList: al, Compiler: comp})
	if diff := cmp.Diff(want, b); diff != "" {
		t.Fatalf("compiler's bundle mutated:\n%s", diff)
	}
}

// BenchmarkBuild1000 builds a bundle of 1,000 artifacts into a fresh
// directory, then measures a no-op rebuild (reuse) of the same.
func BenchmarkBuild1000(b *testing.B) {
	al := &contract.ActionList{Version: "1"}
	bundle := &contract.Bundle{Version: "1"}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("file.f%04d/ensure_file", i)
		al.Steps = append(al.Steps, contract.Step{ID: id, Name: "ensure_file", Resource: fmt.Sprintf("file.f%04d", i), Change: "create", Args: map[string]any{}})
		p := fmt.Sprintf("scripts/%04d_file.sh", i)
		bundle.Artifacts = append(bundle.Artifacts, contract.Artifact{Path: p, Mode: "0755", Purpose: id, Lang: "bash", Content: "#!/bin/bash\necho " + id + "\n"})
		bundle.Steps = append(bundle.Steps, contract.BundleStep{Purpose: id, Run: contract.Run{Cmd: []string{p}}})
	}
	al.Fingerprint, _ = contract.ComputeFingerprint(al.Steps)
	b.Run("fresh", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			mustBuild(b, BuildOptions{BuildDir: b.TempDir(), ActionList: al, Compiler: newCompiler(bundle)})
		}
	})
	b.Run("reuse", func(b *testing.B) {
		dir := b.TempDir()
		mustBuild(b, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(bundle)})
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if res := mustBuild(b, BuildOptions{BuildDir: dir, ActionList: al, Compiler: newCompiler(bundle)}); !res.Reused {
				b.Fatal("not reused")
			}
		}
	})
}
