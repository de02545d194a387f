package assembly

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFSHasher(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "app", "Dockerfile"), "FROM scratch\n", 0o644)
	writeFile(t, filepath.Join(root, "app", "run.sh"), "#!/bin/sh\n", 0o755)
	writeFile(t, filepath.Join(root, "app", ".git", "HEAD"), "ref: x\n", 0o644)
	h := FSHasher(root)
	base, err := h("app")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := h(filepath.Join(root, "app")); again != base {
		t.Errorf("absolute path hashes differently")
	}
	steps := []struct {
		name   string
		change func()
		same   bool
	}{
		{"ignored .git change", func() { writeFile(t, filepath.Join(root, "app", ".git", "HEAD"), "ref: y\n", 0o644) }, true},
		{"content change", func() { writeFile(t, filepath.Join(root, "app", "Dockerfile"), "FROM busybox\n", 0o644) }, false},
		{"exec bit change", func() { writeFile(t, filepath.Join(root, "app", "run.sh"), "#!/bin/sh\n", 0o644) }, false},
		{"new file", func() { writeFile(t, filepath.Join(root, "app", "sub", "x"), "", 0o644) }, false},
	}
	prev := base
	for _, s := range steps {
		s.change()
		got, err := h("app")
		if err != nil {
			t.Fatal(err)
		}
		if (got == prev) != s.same {
			t.Errorf("%s: hash changed = %v, want %v", s.name, got != prev, !s.same)
		}
		prev = got
	}
	// sha256 of "FROM busybox\n", as sha256sum prints it.
	if got, err := h("app/Dockerfile"); err != nil || got != sha256Hex("FROM busybox\n") {
		t.Errorf("file hash %q, %v", got, err)
	}
	if _, err := h("missing"); err == nil {
		t.Errorf("missing path hashed")
	}
}

func TestBuildContentHash(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "app", "Dockerfile"), "FROM scratch\n", 0o644)
	writeFile(t, filepath.Join(root, "motd"), "hello\n", 0o644)
	mk := func() *cfgBuilder {
		b := newCfg()
		b.add("image", "app", map[string]cty.Value{"context": str("app")})
		b.add("file", "motd", map[string]cty.Value{"path": str("/etc/motd"), "source": str("motd")})
		b.add("file", "late", map[string]cty.Value{"path": str("x"), "source": str("gen/out")}, "command.gen")
		b.add("command", "gen", map[string]cty.Value{"command": str("make gen/out")})
		b.add("file", "missing", map[string]cty.Value{"path": str("y"), "source": str("nope")})
		return b
	}
	opts := Options{ContentHash: FSHasher(root)}
	p, diags := Build(mk().build(), nil, opts)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning {
		t.Fatalf("diags = %v", diags)
	}
	if !strings.Contains(diags[0].Summary, "Cannot hash source") || !strings.Contains(diags[0].Detail, "file.missing") {
		t.Errorf("warning = %q %q", diags[0].Summary, diags[0].Detail)
	}
	img := p.ActionList.Step("image.app/build_image").Args["context_hash"]
	if s, _ := img.(string); !strings.HasPrefix(s, "sha256:") {
		t.Errorf("context_hash = %v", img)
	}
	if got := p.ActionList.Step("file.motd/ensure_file").Args["sha256"]; got != sha256Hex("hello\n") {
		t.Errorf("source sha256 = %v", got)
	}
	if _, ok := p.ActionList.Step("file.late/ensure_file").Args["sha256"]; ok {
		t.Errorf("a source produced by a dependency was hashed at plan time")
	}
	st := appliedState(p)
	if again, _ := Build(mk().build(), st, opts); again.Resources["image.app"].Change != contract.ChangeNoop {
		t.Errorf("unchanged context replans %s", again.Resources["image.app"].Change)
	}
	writeFile(t, filepath.Join(root, "app", "Dockerfile"), "FROM busybox\n", 0o644)
	writeFile(t, filepath.Join(root, "motd"), "bye\n", 0o644)
	again, _ := Build(mk().build(), st, opts)
	for _, a := range []string{"image.app", "file.motd"} {
		if c := again.Resources[a].Change; c != contract.ChangeUpdate {
			t.Errorf("%s after editing its content: %s, want update", a, c)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
