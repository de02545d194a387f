package forge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// buildFS is the build directory opened as an os.Root: no method can reach
// outside it, whatever symlinks appear inside it (even ones swapped in after
// the pre-check). On top of that, every read and write refuses a symlink or
// a hard link at any path component, so nothing is ever read or written
// through a link, even one that stays inside the directory.
type buildFS struct {
	dir  string
	root *os.Root
}

// openBuildDir opens dir. It refuses a build directory that is itself a
// symlink. When dir does not exist it returns (nil, nil) unless create is
// set, in which case it creates it.
func openBuildDir(dir string, create bool) (*buildFS, error) {
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return nil, nil
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create build directory: %w", err)
		}
		if fi, err = os.Lstat(dir); err != nil {
			return nil, fmt.Errorf("create build directory: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("inspect build directory: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &ValidationError{Violations: []Violation{{Rule: RulePath, Message: fmt.Sprintf("build directory %s is a symbolic link; refusing to follow it", dir)}}}
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("build directory %s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open build directory: %w", err)
	}
	return &buildFS{dir: dir, root: root}, nil
}

func (b *buildFS) Close() error {
	if b == nil {
		return nil
	}
	return b.root.Close()
}

// inspect reports whether p exists as a regular file, checking every
// component without following links. problem is non-empty when a component
// is a symlink, a non-directory where a directory is needed, a hard-linked
// file or something other than a regular file.
func (b *buildFS) inspect(p string) (exists bool, problem string, err error) {
	els := strings.Split(p, "/")
	for i := 1; i < len(els); i++ {
		dir := strings.Join(els[:i], "/")
		fi, err := b.root.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return false, "", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("inspect %s: %w", dir, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return false, b.linkProblem(dir), nil
		}
		if !fi.IsDir() {
			return false, fmt.Sprintf("%q on disk is not a directory", dir), nil
		}
	}
	fi, err := b.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("inspect %s: %w", p, err)
	}
	return true, fileProblem(p, fi, b.linkProblem), nil
}

func (b *buildFS) linkProblem(p string) string {
	target, err := b.root.Readlink(p)
	if err != nil {
		return fmt.Sprintf("%q on disk is a symbolic link; refusing to follow it", p)
	}
	return fmt.Sprintf("%q on disk is a symbolic link to %q; refusing to follow it", p, target)
}

func fileProblem(p string, fi fs.FileInfo, link func(string) string) string {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return link(p)
	case !fi.Mode().IsRegular():
		return fmt.Sprintf("%q on disk is not a regular file (%s)", p, fi.Mode().Type())
	case linkCount(fi) > 1:
		return fmt.Sprintf("%q on disk is a hard link (%d links); refusing to use it", p, linkCount(fi))
	}
	return ""
}

// precheck inspects every path and returns a "path" violation for each that
// is unsafe on disk.
func (b *buildFS) precheck(paths []string) (violations, error) {
	var vs violations
	if b == nil {
		return nil, nil
	}
	for _, p := range paths {
		_, problem, err := b.inspect(p)
		if err != nil {
			return nil, err
		}
		if problem != "" {
			vs.add(RulePath, p, "", "%s", problem)
		}
	}
	return vs, nil
}

// diskFile is a file as read from the build directory.
type diskFile struct {
	exists  bool
	content []byte
	mode    string // "0755": permission bits plus setuid/setgid/sticky
	problem string // non-empty: a link, special or oversize file, not read
	rule    string // the rule problem breaks: RulePath, or RuleSize
}

// read reads a regular file without following links at any component and
// refusing hard links; files larger than max are an error.
func (b *buildFS) read(p string, max int64) (diskFile, error) {
	exists, problem, err := b.inspect(p)
	if err != nil || !exists || problem != "" {
		return diskFile{exists: exists, problem: problem, rule: RulePath}, err
	}
	f, err := b.root.OpenFile(p, os.O_RDONLY|oNoFollow|oNonBlock, 0)
	if err != nil {
		return diskFile{}, fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return diskFile{}, fmt.Errorf("stat %s: %w", p, err)
	}
	if problem := fileProblem(p, fi, b.linkProblem); problem != "" {
		return diskFile{exists: true, problem: problem, rule: RulePath}, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return diskFile{}, fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(data)) > max {
		return diskFile{exists: true, problem: fmt.Sprintf("%q on disk is larger than %d bytes", p, max), rule: RuleSize}, nil
	}
	return diskFile{exists: true, content: data, mode: formatMode(fi.Mode())}, nil
}

// formatMode renders a file mode as a Unix octal string, including the
// setuid, setgid and sticky bits so the validator sees them.
func formatMode(m fs.FileMode) string {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return fmt.Sprintf("%04o", u)
}

// write replaces p atomically: a new temporary file in the same directory
// (O_CREATE|O_EXCL|O_NOFOLLOW), mode set on the descriptor, fsync, then a
// rename over p (which replaces a link at p rather than following it).
// Missing directories are created inside the root. mode has no bits outside
// 0755 (the validator guarantees it).
func (b *buildFS) write(p string, data []byte, mode fs.FileMode) error {
	dir := path.Dir(p)
	if err := b.mkdirAll(dir); err != nil {
		return err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("temporary name: %w", err)
	}
	tmp := path.Join(dir, tempPrefix+hex.EncodeToString(rnd[:]))
	f, err := b.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = b.root.Rename(tmp, p)
	}
	if err != nil {
		_ = b.root.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// mkdirAll creates dir and its parents inside the root.
func (b *buildFS) mkdirAll(dir string) error {
	if dir == "." {
		return nil
	}
	if err := b.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return nil
}

// syncDir fsyncs a directory of the root so renames in it are durable.
func (b *buildFS) syncDir(dir string) error {
	f, err := b.root.OpenFile(dir, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// remove deletes a file (a link itself, never its target).
func (b *buildFS) remove(p string) error {
	if err := b.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}
