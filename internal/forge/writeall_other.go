//go:build !linux

package forge

import "golang.org/x/sync/errgroup"

// writeAll writes the files with write, a few at a time.
func (b *buildFS) writeAll(files []fileWrite) error {
	s, err := b.stage(files)
	if err != nil {
		return err
	}
	return s.commit()
}

// staged are files to write; on this platform nothing is written before
// commit.
type staged struct {
	b     *buildFS
	files []fileWrite
}

func (b *buildFS) stage(files []fileWrite) (*staged, error) {
	return &staged{b: b, files: files}, nil
}

// commit writes the files with write, a few at a time.
func (s *staged) commit() error {
	g := new(errgroup.Group)
	g.SetLimit(writeWorkers)
	for _, f := range s.files {
		g.Go(func() error { return s.b.write(f.path, f.data, f.mode) })
	}
	return g.Wait()
}

func (s *staged) abort() {}
