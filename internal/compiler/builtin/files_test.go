package builtin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func modeOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// age sets p's mtime an hour back, so that a rewrite shows.
func age(t *testing.T, p string) time.Time {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	return old
}

func mtime(t *testing.T, p string) time.Time {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime()
}

func TestEnsureFile(t *testing.T) {
	f := localFacts(t)
	content := "<h1>hello</h1>\nline with 'quotes' and $dollars and \\backslash\n"
	tests := []struct {
		name    string
		args    map[string]any
		setup   func(t *testing.T, s *sandbox)
		env     []string
		want    string
		wantArt bool // the content is its own artifact
	}{
		{
			name:    "content",
			args:    map[string]any{"path": "site/deep/index.html", "mode": "0640", "content": content, "sha256": "ignored"},
			want:    content,
			wantArt: true,
		},
		{
			name: "source",
			args: map[string]any{"path": "copy.txt", "mode": "0640", "source": "src/original.txt"},
			setup: func(t *testing.T, s *sandbox) {
				os.MkdirAll(filepath.Join(s.root, "src"), 0o755)
				os.WriteFile(filepath.Join(s.root, "src/original.txt"), []byte(content), 0o644)
			},
			want: content,
		},
		{
			name: "secret content",
			args: map[string]any{"path": "secret.env", "mode": "0640", "contentVar": "CW_SECRET_FILE_S_CONTENT"},
			env:  []string{"CW_SECRET_FILE_S_CONTENT=TOKEN=s3cr3t\n"},
			want: "TOKEN=s3cr3t\n",
		},
		{
			name:    "empty content",
			args:    map[string]any{"path": "empty", "mode": "0640", "content": ""},
			want:    "",
			wantArt: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			st := step("file.x", contract.StepEnsureFile, tt.args)
			b := s.compile(t, f, st)
			if got := len(b.Artifacts) == 2; got != tt.wantArt {
				t.Errorf("content artifact present = %v; want %v", got, tt.wantArt)
			}
			target := filepath.Join(s.root, tt.args["path"].(string))

			s.run(t, b, st.ID, tt.env...).ok(t).says(t, "wrote "+target)
			if got := mustRead(t, target); got != tt.want {
				t.Errorf("content = %q; want %q", got, tt.want)
			}
			if m := modeOf(t, target); m != 0o640 {
				t.Errorf("mode = %o; want 640", m)
			}

			// Second run: nothing changes, not even the mtime.
			old := age(t, target)
			s.run(t, b, st.ID, tt.env...).ok(t).says(t, "unchanged: "+target)
			if got := mtime(t, target); !got.Equal(old) {
				t.Errorf("second run rewrote the file: mtime %v, want %v", got, old)
			}
			entries, _ := os.ReadDir(filepath.Dir(target))
			for _, e := range entries {
				if strings.Contains(e.Name(), ".cw-") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}

			// A changed mode is put back without rewriting the content.
			os.Chmod(target, 0o600)
			s.run(t, b, st.ID, tt.env...).ok(t).says(t, "mode 0640")
			if m := modeOf(t, target); m != 0o640 || !mtime(t, target).Equal(old) {
				t.Errorf("mode = %o, mtime changed = %v; want 640 and the same mtime", m, !mtime(t, target).Equal(old))
			}

			// Drifted content is rewritten.
			os.WriteFile(target, []byte("drift"), 0o640)
			s.run(t, b, st.ID, tt.env...).ok(t).says(t, "wrote")
			if got := mustRead(t, target); got != tt.want {
				t.Errorf("after drift content = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestEnsureFileNeverWritesSecrets(t *testing.T) {
	s := newSandbox(t)
	st := step("file.s", contract.StepEnsureFile, map[string]any{"path": "s", "mode": "0600", "contentVar": "CW_SECRET_FILE_S_CONTENT"})
	st.SecretEnv = []string{"CW_SECRET_FILE_S_CONTENT"}
	b := s.compile(t, localFacts(t), st)
	s.run(t, b, st.ID, "CW_SECRET_FILE_S_CONTENT=hunter2").ok(t)
	data, err := contract.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "hunter2") {
		t.Errorf("the secret value is in the bundle")
	}
	// Without the secret in the environment the script refuses to run.
	bs := b.StepFor(st.ID)
	if bs.Run.Env["FILE_CONTENT_FROM"] != "CW_SECRET_FILE_S_CONTENT" {
		t.Errorf("run.env = %v; want FILE_CONTENT_FROM naming the secret", bs.Run.Env)
	}
	os.Remove(filepath.Join(s.root, "s"))
	s.run(t, b, st.ID).fails(t, "comes from $CW_SECRET_FILE_S_CONTENT, which is not set")
}

func TestEnsureFileErrors(t *testing.T) {
	s := newSandbox(t)
	os.MkdirAll(filepath.Join(s.root, "adir"), 0o755)
	st := step("file.d", contract.StepEnsureFile, map[string]any{"path": "adir", "mode": "0644", "content": "x"})
	b := s.compile(t, localFacts(t), st)
	s.run(t, b, st.ID).fails(t, "is a directory")
}

func TestRemoveFile(t *testing.T) {
	s := newSandbox(t)
	st := step("file.x", contract.StepRemoveFile, map[string]any{"path": "gone.txt"})
	b := s.compile(t, localFacts(t), st)
	target := filepath.Join(s.root, "gone.txt")
	os.WriteFile(target, []byte("x"), 0o644)
	s.run(t, b, st.ID).ok(t).says(t, "removed "+target)
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
	s.run(t, b, st.ID).ok(t).says(t, "already absent")
	os.Mkdir(target, 0o755)
	s.run(t, b, st.ID).fails(t, "is a directory")
}

func TestDirectory(t *testing.T) {
	s := newSandbox(t)
	f := localFacts(t)
	ensure := step("directory.d", contract.StepEnsureDirectory, map[string]any{"path": "a/b/c", "mode": "0750"})
	remove := step("directory.d", contract.StepRemoveDirectory, map[string]any{"path": "a/b/c"})
	remove.Change = contract.ChangeDelete
	b := s.compile(t, f, ensure, remove)
	dir := filepath.Join(s.root, "a/b/c")

	s.run(t, b, ensure.ID).ok(t).says(t, "created "+dir)
	if m := modeOf(t, dir); m != 0o750 {
		t.Errorf("mode = %o; want 750", m)
	}
	old := age(t, dir)
	s.run(t, b, ensure.ID).ok(t).says(t, "exists: "+dir)
	if !mtime(t, dir).Equal(old) {
		t.Errorf("second ensure touched the directory")
	}
	os.Chmod(dir, 0o700)
	s.run(t, b, ensure.ID).ok(t).says(t, "mode 0750")
	if m := modeOf(t, dir); m != 0o750 {
		t.Errorf("mode = %o after repair; want 750", m)
	}

	// Not empty: left in place, not an error.
	os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644)
	s.run(t, b, remove.ID).ok(t).says(t, "is not empty: left in place")
	if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
		t.Errorf("content removed: %v", err)
	}
	os.Remove(filepath.Join(dir, "keep"))
	s.run(t, b, remove.ID).ok(t).says(t, "removed "+dir)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory still there: %v", err)
	}
	s.run(t, b, remove.ID).ok(t).says(t, "already absent")

	// A file where the directory should be is an error.
	os.WriteFile(dir, []byte("x"), 0o644)
	s.run(t, b, ensure.ID).fails(t, "is not a directory")
}

func TestVerifyFile(t *testing.T) {
	s := newSandbox(t)
	st := step("check.f", contract.StepVerifyFile, map[string]any{"path": "here"})
	b := s.compile(t, localFacts(t), st)
	s.run(t, b, st.ID).fails(t, "does not exist")
	os.WriteFile(filepath.Join(s.root, "here"), nil, 0o644)
	s.run(t, b, st.ID).ok(t).says(t, "ok:")
}
