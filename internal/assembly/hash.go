package assembly

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// FSHasher returns an Options.ContentHash that reads the filesystem: paths
// are resolved against root (the configuration directory) unless absolute.
// A regular file hashes to the sha256 of its content; a directory to the
// sha256 over every entry below it in lexical order (relative path, type,
// executable bit, and the content hash or symlink target), skipping .git and
// .clockwork directories. Hex, without a "sha256:" prefix.
func FSHasher(root string) func(path string) (string, error) {
	return func(p string) (string, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		if !fi.IsDir() {
			return hashFile(p)
		}
		return hashTree(p)
	}
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashTree(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			if p != dir && (d.Name() == ".git" || d.Name() == ".clockwork") {
				return filepath.SkipDir
			}
			fmt.Fprintf(h, "d %s\n", strconv.Quote(rel))
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "l %s %s\n", strconv.Quote(rel), strconv.Quote(target))
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			sum, err := hashFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "f %s %t %s\n", strconv.Quote(rel), info.Mode()&0o111 != 0, sum)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
