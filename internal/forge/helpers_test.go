package forge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

// fixedCompiler is a test-only Compiler returning a fixed bundle: a fake of
// Build's dependency, counting its calls.
type fixedCompiler struct {
	name, settings string
	mu             sync.Mutex
	bundle         *contract.Bundle
	calls          int
}

var _ Compiler = (*fixedCompiler)(nil)

func (c *fixedCompiler) Name() string     { return c.name }
func (c *fixedCompiler) Settings() string { return c.settings }
func (c *fixedCompiler) Compile(_ context.Context, _ *contract.ActionList, _ *facts.Facts) (*contract.Bundle, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return cloneBundle(c.bundle), nil
}

func (c *fixedCompiler) set(b *contract.Bundle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bundle = b
}

func (c *fixedCompiler) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func newCompiler(b *contract.Bundle) *fixedCompiler {
	return &fixedCompiler{name: "test", settings: "v1", bundle: b}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testActionList is the small plan the hostile corpus targets.
func testActionList(t testing.TB) *contract.ActionList {
	t.Helper()
	al, err := contract.ParseActionList(readTestdata(t, "hostile/actionlist.json"))
	if err != nil {
		t.Fatal(err)
	}
	return al
}

// validBundle is a bundle that passes every rule for testActionList.
func validBundle(t testing.TB) *contract.Bundle {
	t.Helper()
	b, err := contract.ParseBundle(readTestdata(t, "valid_bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// treeHash describes every entry under dir, links not followed: type,
// permission bits, content hash or link target. Equal strings mean the tree
// is byte-for-byte unchanged. A missing dir hashes to "<absent>".
func treeHash(t testing.TB, dir string) string {
	t.Helper()
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return "<absent>"
	}
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %s", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += " " + hex.EncodeToString(sum[:]) + fmt.Sprintf(" links=%d", linkCount(fi))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func mustBuild(t testing.TB, opts BuildOptions) *BuildResult {
	t.Helper()
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return res
}
