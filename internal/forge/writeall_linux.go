//go:build linux

package forge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// writeAll writes the files like write does, each to a temporary file next
// to it then renamed over it, but durably in one batch: every temporary
// file is written, then one syncfs flushes them all, then they are renamed
// into place. So, as with write, no file is renamed before its content is
// on disk, for the cost of one flush instead of one per file. Each
// directory is opened once through the root (no link followed at its last
// component, none leaving the build directory) and the files are created
// relative to it with O_NOFOLLOW. On error every temporary file is removed
// and nothing has been renamed, unless a rename itself failed.
func (b *buildFS) writeAll(files []fileWrite) error {
	dirs := map[string]*os.File{}
	defer func() {
		for _, d := range dirs {
			_ = d.Close()
		}
	}()
	fds := make([]int, len(files))
	for i, f := range files {
		dir := path.Dir(f.path)
		d, ok := dirs[dir]
		if !ok {
			if err := b.mkdirAll(dir); err != nil {
				return err
			}
			var err error
			d, err = b.root.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|oNoFollow, 0)
			if err != nil {
				return fmt.Errorf("open directory %s: %w", dir, err)
			}
			dirs[dir] = d
		}
		fds[i] = int(d.Fd())
	}

	tmps := make([]string, len(files)) // "" until created
	var mu sync.Mutex
	cleanup := func(from int) {
		mu.Lock()
		defer mu.Unlock()
		for i := from; i < len(files); i++ {
			if tmps[i] != "" {
				_ = unix.Unlinkat(fds[i], tmps[i], 0)
			}
		}
	}
	g := new(errgroup.Group)
	g.SetLimit(writeWorkers)
	for i, f := range files {
		g.Go(func() error {
			var rnd [8]byte
			if _, err := rand.Read(rnd[:]); err != nil {
				return fmt.Errorf("temporary name: %w", err)
			}
			tmp := tempPrefix + hex.EncodeToString(rnd[:])
			fd, err := unix.Openat(fds[i], tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return fmt.Errorf("create %s: %w", f.path, err)
			}
			mu.Lock()
			tmps[i] = tmp
			mu.Unlock()
			err = writeFull(fd, f.data)
			if err == nil {
				err = unix.Fchmod(fd, uint32(f.mode.Perm()))
			}
			if cerr := unix.Close(fd); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", f.path, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		cleanup(0)
		return err
	}
	if len(files) > 0 {
		if err := unix.Syncfs(fds[0]); err != nil {
			cleanup(0)
			return fmt.Errorf("sync %s: %w", b.dir, err)
		}
	}
	for i, f := range files {
		if err := unix.Renameat(fds[i], tmps[i], fds[i], path.Base(f.path)); err != nil {
			cleanup(i)
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		tmps[i] = ""
	}
	return nil
}

// writeFull writes all of data to fd.
func writeFull(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}
