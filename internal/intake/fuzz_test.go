package intake

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad checks that no input makes Load panic or hang.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*.cw"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`resource "file" "x" { count = 100000000 path = "x" content = "" }`))
	f.Add([]byte(`module "m" { source = "./" }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.cw"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, diags := Load(ctx, Options{Dir: dir, Offline: true})
			if res == nil || res.Config == nil {
				t.Error("nil result")
			}
			for _, d := range diags {
				if d.Summary == "Internal error in intake" {
					t.Errorf("internal error: %s", d.Detail)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Load did not return")
		}
	})
}
