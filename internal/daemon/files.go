package daemon

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/clockwork-iac/clockwork/internal/atomicfile"
)

// writeFileAtomic creates path's directory if needed and writes data to it
// crash-safely (atomicfile.Write).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.Write(path, data, perm)
}
