//go:build !unix

package forge

import "io/fs"

const (
	oNoFollow = 0
	oNonBlock = 0
)

func linkCount(fs.FileInfo) uint64 { return 1 }
