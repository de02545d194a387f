package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/google/go-cmp/cmp"
)

func TestWritable(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "conf")
	state := filepath.Join(root, ".clockwork")
	for _, d := range []string{state, filepath.Join(root, "www"), filepath.Join(base, "outside"), filepath.Join(root, "repo")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := &Config{Clockwork: "/bin/clockwork", Root: root, StateDir: state, Extra: []string{"/var/cache/x"}}
	baseSet := append([]string{"/var/cache/x", filepath.Join(state, "tmp"), filepath.Join(state, "services"), filepath.Join(state, "logs")}, devWritable...)
	with := func(p ...string) []string { return append(append([]string(nil), baseSet...), p...) }

	tests := []struct {
		name    string
		kind    string
		args    map[string]any
		want    []string
		wantErr error
	}{
		{"file relative", contract.StepEnsureFile, map[string]any{"path": "www/index.html"}, with(filepath.Join(root, "www")), nil},
		{"file missing parents widen to root", contract.StepEnsureFile, map[string]any{"path": "a/b/c.txt"}, with(root), nil},
		{"file absolute outside root", contract.StepEnsureFile, map[string]any{"path": filepath.Join(base, "outside", "f")}, with(filepath.Join(base, "outside")), nil},
		{"file absolute missing parents widen", contract.StepEnsureFile, map[string]any{"path": filepath.Join(base, "new", "dir", "f")}, with(base), nil},
		{"file relative escaping root exists", contract.StepEnsureFile, map[string]any{"path": "../outside/f"}, with(filepath.Join(base, "outside")), nil},
		{"file relative escaping root widen refused", contract.StepEnsureFile, map[string]any{"path": "../nope/f"}, nil, ErrTooWide},
		{"file in slash refused", contract.StepEnsureFile, map[string]any{"path": "/cw-test-file"}, nil, ErrTooWide},
		{"file under missing top dir refused", contract.StepEnsureFile, map[string]any{"path": "/cw-no-such-dir/x/f"}, nil, ErrTooWide},
		{"file path known at run time", contract.StepEnsureFile, map[string]any{"pathVar": "X"}, with(), nil},
		{"remove file", contract.StepRemoveFile, map[string]any{"path": "www/old"}, with(filepath.Join(root, "www")), nil},
		{"directory exists", contract.StepEnsureDirectory, map[string]any{"path": "www"}, with(filepath.Join(root, "www")), nil},
		{"directory missing", contract.StepEnsureDirectory, map[string]any{"path": "www/a/b"}, with(filepath.Join(root, "www")), nil},
		{"remove directory", contract.StepRemoveDirectory, map[string]any{"path": "www"}, with(root), nil},
		{"fetch repo exists", contract.StepFetchRepo, map[string]any{"path": "repo", "url": "x"}, with(filepath.Join(root, "repo")), nil},
		{"fetch repo new", contract.StepFetchRepo, map[string]any{"path": "src/app", "url": "x"}, with(root), nil},
		{"remove repo", contract.StepRemoveRepo, map[string]any{"path": "repo"}, with(root), nil},
		{"command default workdir", contract.StepRunCommand, map[string]any{"command": "make"}, with(root), nil},
		{"command workdir and creates", contract.StepRunCommand, map[string]any{"command": "make", "workdir": "www", "creates": filepath.Join(base, "outside", "done")}, with(filepath.Join(base, "outside"), filepath.Join(root, "www")), nil},
		{"verify command", contract.StepVerifyCommand, map[string]any{"command": "true"}, with(root), nil},
		{"process service", contract.StepEnsureService, map[string]any{"kind": "process", "workdir": "www"}, with(filepath.Join(root, "www")), nil},
		{"container service", contract.StepEnsureService, map[string]any{"kind": "container", "name": "web"}, with(), nil},
		{"build image", contract.StepBuildImage, map[string]any{"context": "app"}, with(), nil},
		{"verify http", contract.StepVerifyHTTP, map[string]any{"url": "http://x"}, with(), nil},
		{"custom", contract.StepCustom, map[string]any{"intent": "x"}, with(root), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := contract.Step{ID: "r.x/" + tt.kind, Name: tt.kind, Resource: "r.x", Args: tt.args}
			got, err := c.Writable(s)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Writable (-want +got):\n%s", d)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	root := t.TempDir()
	c := &Config{Clockwork: "/bin/clockwork", Root: root, StateDir: filepath.Join(root, ".clockwork"), Require: true}
	got, err := c.Prefix(contract.Step{ID: "check.c/verify_tcp", Name: contract.StepVerifyTCP})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/bin/clockwork", "step", "sandbox", "--tmpdir", filepath.Join(root, ".clockwork", "tmp"), "--require"}
	for _, w := range []string{"/dev/full", "/dev/null", "/dev/pts", "/dev/random", "/dev/tty", "/dev/urandom", "/dev/zero",
		filepath.Join(root, ".clockwork", "logs"), filepath.Join(root, ".clockwork", "services"), filepath.Join(root, ".clockwork", "tmp")} {
		want = append(want, "--write", w)
	}
	want = append(want, "--")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Prefix (-want +got):\n%s", d)
	}
	if _, err := c.Prefix(contract.Step{ID: "file.f/ensure_file", Name: contract.StepEnsureFile, Args: map[string]any{"path": "/f"}}); !errors.Is(err, ErrTooWide) {
		t.Errorf("a file in / should be refused, got %v", err)
	}
}
