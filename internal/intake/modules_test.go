package intake

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// gitRepo makes a real git repository with two tagged commits of a module
// and returns its path and the commits of v1 and v2.
func gitRepo(t *testing.T) (dir, v1, v2 string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir = t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("init", "-q")
	write("main.cw", `
variable "name" {
  type = string
}
resource "directory" "d" {
  path = "data/${var.name}"
}
output "path" {
  value = directory.d.path
}
`)
	write("sub/main.cw", `
resource "file" "f" {
  path    = "sub.txt"
  content = "from subdir"
}
`)
	run("add", ".")
	run("commit", "-q", "-m", "v1")
	run("tag", "v1")
	v1 = run("rev-parse", "HEAD")
	write("main.cw", `
variable "name" {
  type = string
}
resource "directory" "d" {
  path = "data2/${var.name}"
  mode = "0700"
}
output "path" {
  value = directory.d.path
}
`)
	run("commit", "-q", "-am", "v2")
	run("tag", "-a", "v2", "-m", "annotated v2")
	v2 = run("rev-parse", "HEAD")
	return dir, v1, v2
}

func writeConfig(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.cw"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustLoad(t *testing.T, opts Options) *Result {
	t.Helper()
	res, diags := Load(context.Background(), opts)
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", renderDiags(res.Files, diags))
	}
	return res
}

func readLockFile(t *testing.T, dir string) lockFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, LockFileName))
	if err != nil {
		t.Fatal(err)
	}
	var lf lockFile
	if err := json.Unmarshal(b, &lf); err != nil {
		t.Fatal(err)
	}
	return lf
}

func TestGitModules(t *testing.T) {
	repo, v1, v2 := gitRepo(t)
	url := "file://" + repo
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}

	t.Run("tag in source, lock, cache, pin change, upgrade", func(t *testing.T) {
		dir := t.TempDir()
		writeConfig(t, dir, `module "m" {
  source = "git::`+url+`?ref=v1"
  name   = "x"
}
output "p" {
  value = module.m.path
}
`)
		opts := Options{Dir: dir, Environ: environ}
		res := mustLoad(t, opts)
		mod := res.Config.Modules[0]
		if mod.Resolved != v1 || mod.Version != "v1" || mod.Dir != ".clockwork/modules/m-"+v1[:12] {
			t.Errorf("module = %+v", mod)
		}
		if _, ok := res.Files[".clockwork/modules/m-"+v1[:12]+"/main.cw"]; !ok {
			t.Errorf("files = %v", keys(res.Files))
		}
		if got := res.Config.Resources[0].Addr; got != "module.m.directory.d" {
			t.Errorf("addr = %s", got)
		}
		want := lockFile{Version: "1", Modules: map[string]*lockEntry{"module.m": {Source: "git::" + url, Ref: "v1", Commit: v1}}}
		if diff := cmp.Diff(want, readLockFile(t, dir)); diff != "" {
			t.Errorf("lock (-want +got):\n%s", diff)
		}

		// Offline: served from the cache and the lock; the lock is not rewritten.
		st1, _ := os.Stat(filepath.Join(dir, LockFileName))
		opts.Offline = true
		res = mustLoad(t, opts)
		if got := res.Config.Outputs[0].Value.AsString(); got != "data/x" {
			t.Errorf("output = %q", got)
		}
		st2, _ := os.Stat(filepath.Join(dir, LockFileName))
		if !st1.ModTime().Equal(st2.ModTime()) {
			t.Error("lock rewritten by an offline load")
		}

		// A changed pin is reported, never followed.
		writeConfig(t, dir, `module "m" {
  source = "git::`+url+`?ref=v2"
  name   = "x"
}
`)
		opts.Offline = false
		_, diags := Load(context.Background(), opts)
		if !hasSummary(diags, "Module pin changed") {
			t.Fatalf("diags = %v", diags)
		}
		if readLockFile(t, dir).Modules["module.m"].Commit != v1 {
			t.Error("lock changed by a load with a changed pin")
		}

		// UpdateLock follows the new pin.
		if diags := UpdateLock(context.Background(), opts); diags.HasErrors() {
			t.Fatal(diags)
		}
		if got := readLockFile(t, dir).Modules["module.m"]; got.Commit != v2 || got.Ref != "v2" {
			t.Errorf("lock after upgrade = %+v", got)
		}
		res = mustLoad(t, opts)
		if got := res.Config.Resources[0].Attrs.GetAttr("mode").AsString(); got != "0700" {
			t.Errorf("mode = %q, want v2's 0700", got)
		}

		// UpdateLock drops modules the configuration no longer uses.
		writeConfig(t, dir, `resource "directory" "d" {
  path = "x"
}
`)
		if diags := UpdateLock(context.Background(), opts); diags.HasErrors() {
			t.Fatal(diags)
		}
		if got := readLockFile(t, dir).Modules; len(got) != 0 {
			t.Errorf("lock after removing the module = %v", got)
		}
	})

	t.Run("version attribute, commit ref, subdir", func(t *testing.T) {
		dir := t.TempDir()
		writeConfig(t, dir, `module "a" {
  source  = "git::`+url+`"
  version = "v2"
  name    = "a"
}
module "b" {
  source = "git::`+url+`?ref=`+v1+`"
  name   = "b"
}
module "c" {
  source = "git::`+url+`//sub?ref=v1"
}
`)
		res := mustLoad(t, Options{Dir: dir, Environ: environ})
		got := map[string]string{}
		for _, m := range res.Config.Modules {
			got[m.Path] = m.Resolved
		}
		if diff := cmp.Diff(map[string]string{"module.a": v2, "module.b": v1, "module.c": v1}, got); diff != "" {
			t.Error(diff)
		}
		var addrs []string
		for _, r := range res.Config.Resources {
			addrs = append(addrs, r.Addr)
		}
		if diff := cmp.Diff([]string{"module.a.directory.d", "module.b.directory.d", "module.c.file.f"}, addrs); diff != "" {
			t.Error(diff)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name, src string
			offline   bool
			want      string
		}{
			{"offline without lock", `source = "git::` + url + `?ref=v1"`, true, "Module not in lock"},
			{"unknown ref", `source = "git::` + url + `?ref=v9"`, false, "Cannot fetch module"},
			{"conflicting versions", "source = \"git::" + url + "?ref=v1\"\n version = \"v2\"", false, "Conflicting module versions"},
			{"bad query", `source = "git::` + url + `?sha=1"`, false, "Invalid module source"},
			{"missing repo", `source = "git::file:///nonexistent/repo?ref=v1"`, false, "Cannot fetch module"},
			{"broken lock", `source = "git::` + url + `?ref=v1"`, false, "Invalid lock file"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				dir := t.TempDir()
				writeConfig(t, dir, "module \"m\" {\n "+tt.src+"\n name = \"x\"\n}\n")
				if tt.name == "broken lock" {
					if err := os.WriteFile(filepath.Join(dir, LockFileName), []byte("{not json"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				_, diags := Load(context.Background(), Options{Dir: dir, Environ: environ, Offline: tt.offline})
				if !hasSummary(diags, tt.want) {
					t.Errorf("want %q, got %v", tt.want, diags)
				}
				if b, err := os.ReadFile(filepath.Join(dir, LockFileName)); err == nil && string(b) != "{not json" {
					t.Errorf("lock written after an error: %s", b)
				}
			})
		}
	})
}

func hasSummary(diags hcl.Diagnostics, s string) bool {
	for _, d := range diags {
		if d.Summary == s {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
