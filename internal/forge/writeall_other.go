//go:build !linux

package forge

import "golang.org/x/sync/errgroup"

// writeAll writes the files with write, a few at a time.
func (b *buildFS) writeAll(files []fileWrite) error {
	g := new(errgroup.Group)
	g.SetLimit(writeWorkers)
	for _, f := range files {
		g.Go(func() error { return b.write(f.path, f.data, f.mode) })
	}
	return g.Wait()
}
