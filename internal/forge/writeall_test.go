package forge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteAll(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir, outside string)
		wantErr string
	}{
		{name: "new files", setup: func(*testing.T, string, string) {}},
		{name: "over old files", setup: func(t *testing.T, dir, _ string) {
			must(t, os.MkdirAll(filepath.Join(dir, "scripts"), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "scripts", "a.sh"), []byte("old"), 0o644))
		}},
		{name: "directory is a link out", wantErr: "scripts", setup: func(t *testing.T, dir, outside string) {
			must(t, os.Symlink(outside, filepath.Join(dir, "scripts")))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			tc.setup(t, dir, outside)
			fsys, err := openBuildDir(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			defer fsys.Close()
			files := []fileWrite{
				{path: "scripts/a.sh", data: []byte("#!/bin/sh\necho a\n"), mode: 0o755},
				{path: "scripts/a.content", data: []byte("text"), mode: 0o644},
				{path: "top.txt", data: []byte("top"), mode: 0o600},
			}
			err = fsys.writeAll(files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				if ents, _ := os.ReadDir(outside); len(ents) > 0 {
					t.Fatalf("written through the link: %v", ents)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				p := filepath.Join(dir, filepath.FromSlash(f.path))
				got, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(f.data), string(got)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", f.path, diff)
				}
				fi, err := os.Lstat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != f.mode {
					t.Errorf("%s: mode %v, want %v", f.path, fi.Mode().Perm(), f.mode)
				}
			}
			tmps, _ := filepath.Glob(filepath.Join(dir, "*", tempPrefix+"*"))
			top, _ := filepath.Glob(filepath.Join(dir, tempPrefix+"*"))
			if len(tmps)+len(top) > 0 {
				t.Fatalf("temporary files left: %v %v", tmps, top)
			}
		})
	}
}
