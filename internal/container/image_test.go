package container

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestContextHash(t *testing.T) {
	base := map[string]string{
		"Dockerfile":       "FROM scratch\nCOPY app.txt /\n",
		".dockerignore":    "ignored.txt\nlogs/\n*.tmp\n!keep.tmp\n",
		"app.txt":          "v1",
		"ignored.txt":      "x",
		"logs/a.log":       "a",
		"scratch.tmp":      "t",
		"keep.tmp":         "k",
		"sub/nested.txt":   "n",
		"sub/deep/x.bin":   "b",
		"other/Dockerfile": "FROM scratch\n",
	}
	tests := []struct {
		name       string
		dockerfile string
		change     func(t *testing.T, dir string)
		same       bool
	}{
		{"nothing changed", "", func(*testing.T, string) {}, true},
		{"ignored file changed", "", write("ignored.txt", "y"), true},
		{"file in ignored dir changed", "", write("logs/a.log", "b"), true},
		{"new file in ignored dir", "", write("logs/b.log", "b"), true},
		{"ignored glob changed", "", write("scratch.tmp", "u"), true},
		{"mtime only", "", func(t *testing.T, dir string) {
			if err := os.Chtimes(filepath.Join(dir, "app.txt"), time.Now().Add(time.Hour), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"real file changed", "", write("app.txt", "v2"), false},
		{"re-included file changed", "", write("keep.tmp", "l"), false},
		{"nested file changed", "", write("sub/deep/x.bin", "c"), false},
		{"new file", "", write("new.txt", "n"), false},
		{"file removed", "", remove("app.txt"), false},
		{"mode changed", "", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "app.txt"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"dockerfile changed", "", write("Dockerfile", "FROM scratch\n"), false},
		{".dockerignore changed", "", write(".dockerignore", "ignored.txt\n"), false},
		{"other dockerfile changed", "other/Dockerfile", write("other/Dockerfile", "FROM busybox\n"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, base)
			before, err := ContextHash(dir, tc.dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(before, "sha256:") {
				t.Fatalf("hash %q lacks sha256: prefix", before)
			}
			tc.change(t, dir)
			after, err := ContextHash(dir, tc.dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			if (before == after) != tc.same {
				t.Errorf("hash same=%v, want same=%v", before == after, tc.same)
			}
		})
	}
}

func TestContextHashErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ContextHash(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("missing context: no error")
	}
	if _, err := ContextHash(dir, ""); err == nil || !strings.Contains(err.Error(), "Dockerfile") {
		t.Errorf("missing Dockerfile: got %v, want an error naming the Dockerfile", err)
	}
}

func write(p, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) { writeFiles(t, dir, map[string]string{p: content}) }
}

func remove(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildImage(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile":    "FROM " + baseImage + "\nARG GREETING=hello\nCOPY index.html /www/index.html\nRUN echo \"$GREETING\" > /greeting\n",
		".dockerignore": "secret.txt\n",
		"index.html":    "<p>v1</p>\n",
		"secret.txt":    "not sent\n",
	})
	tag := "localhost/" + te.name("app") + ":latest"
	spec := BuildSpec{Context: dir, Tags: []string{tag}, Labels: te.labels(), BuildArgs: map[string]string{"GREETING": "hi"}}

	var out bytes.Buffer
	spec.Output = &out
	start := time.Now()
	id1, err := te.e.BuildImage(ctx, spec)
	if err != nil {
		t.Fatalf("first build: %v\n%s", err, out.String())
	}
	t.Logf("first build: %v", time.Since(start))
	if !strings.HasPrefix(id1, "sha256:") {
		t.Errorf("image id %q, want sha256:...", id1)
	}

	// Unchanged (and only an ignored file changed): skipped, same id.
	writeFiles(t, dir, map[string]string{"secret.txt": "changed\n"})
	out.Reset()
	start = time.Now()
	id2, err := te.e.BuildImage(ctx, spec)
	if err != nil {
		t.Fatalf("second build: %v", err)
	}
	t.Logf("skipped build: %v", time.Since(start))
	if id2 != id1 || !strings.Contains(out.String(), "up to date") {
		t.Errorf("second build: id %s (first %s), output %q; want the build skipped", id2, id1, out.String())
	}

	// A real change rebuilds.
	writeFiles(t, dir, map[string]string{"index.html": "<p>v2</p>\n"})
	out.Reset()
	id3, err := te.e.BuildImage(ctx, spec)
	if err != nil {
		t.Fatalf("third build: %v\n%s", err, out.String())
	}
	if id3 == id1 || strings.Contains(out.String(), "up to date") {
		t.Errorf("third build: id %s equals first %s or was skipped; want a rebuild", id3, id1)
	}

	// A changed build arg rebuilds too.
	spec.BuildArgs = map[string]string{"GREETING": "bye"}
	out.Reset()
	id4, err := te.e.BuildImage(ctx, spec)
	if err != nil {
		t.Fatalf("fourth build: %v", err)
	}
	if id4 == id3 {
		t.Errorf("changed build arg: same id %s; want a rebuild", id4)
	}

	if err := te.e.RemoveImage(ctx, []string{tag}); err != nil {
		t.Fatalf("remove image: %v", err)
	}
	if _, err := te.e.cli.ImageInspect(ctx, tag); !IsNotFound(err) {
		t.Errorf("image %s after remove: %v, want not found", tag, err)
	}
	if err := te.e.RemoveImage(ctx, []string{tag}); err != nil {
		t.Errorf("second remove: %v, want nil", err)
	}
}

func TestBuildImageFailure(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + baseImage + "\nRUN echo about to fail && exit 7\n",
	})
	tag := "localhost/" + te.name("broken") + ":latest"
	_, err := te.e.BuildImage(ctx, BuildSpec{Context: dir, Tags: []string{tag}, Labels: te.labels()})
	if err == nil {
		t.Fatal("build of a failing Dockerfile succeeded")
	}
	if !strings.Contains(err.Error(), tag) {
		t.Errorf("error %q does not name the image", err)
	}
	t.Logf("build error: %v", err)
}
