package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// RunbooksDir is where runbooks of a configuration directory are written.
func RunbooksDir(dir string) string { return filepath.Join(dir, ".clockwork", "runbooks") }

// runbook is what a person needs to take over a resource.
type runbook struct {
	Resource string
	Pass     int64
	Time     time.Time
	// Why the daemon stopped trying on its own.
	Why string
	// Seen: observations and failures, newest last.
	Seen []string
	// Done: what the daemon already tried.
	Done []string
	// Do: what a person should do.
	Do []string
	// LogTail of the failing step.
	LogTail string
}

// writeRunbook writes .clockwork/runbooks/<id>.md and returns the id.
func writeRunbook(dir string, rb runbook, mask func(string) string) (string, error) {
	sum := sha256.Sum256([]byte(rb.Resource + "\x00" + rb.Why + "\x00" + rb.Time.Format(time.RFC3339Nano)))
	id := hex.EncodeToString(sum[:4])
	var b strings.Builder
	fmt.Fprintf(&b, "# Runbook %s: %s\n\n", id, rb.Resource)
	fmt.Fprintf(&b, "Written by the clockwork daemon at %s (pass %d).\n\n", rb.Time.UTC().Format(time.RFC3339), rb.Pass)
	fmt.Fprintf(&b, "## Why the daemon stopped\n\n%s\n\n", rb.Why)
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "## %s\n\n", title)
		for _, it := range items {
			fmt.Fprintf(&b, "- %s\n", it)
		}
		b.WriteString("\n")
	}
	list("What was seen", rb.Seen)
	list("What the daemon already tried", rb.Done)
	list("What a person should do", rb.Do)
	if rb.LogTail != "" {
		fmt.Fprintf(&b, "## End of the failing step's log\n\n```\n%s\n```\n\n", strings.TrimRight(rb.LogTail, "\n"))
	}
	fmt.Fprintf(&b, "The daemon keeps observing %s and reporting in .clockwork/events.jsonl (`clockwork events --follow`).\n", rb.Resource)
	text := b.String()
	if mask != nil {
		text = mask(text)
	}
	if err := writeFileAtomic(filepath.Join(RunbooksDir(dir), id+".md"), []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("write runbook: %w", err)
	}
	return id, nil
}
