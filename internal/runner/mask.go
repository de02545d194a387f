package runner

import (
	"bytes"
	"io"
	"sort"
	"sync"
)

// MinSecretLen is the shortest secret value MaskingWriter masks; shorter
// values would mask ordinary text and protect nothing.
const MinSecretLen = 3

// Mask is what a secret value is replaced with.
const Mask = "***"

// MaskingWriter returns a writer that copies to w with every occurrence of
// each secret value (of at least MinSecretLen bytes) replaced by "***",
// including occurrences split across Write calls. It holds back at most the
// longest secret's length minus one bytes; Close writes them out (it does not
// close w). Where two secrets overlap at one position the longer one is
// masked. It is safe for concurrent use.
func MaskingWriter(w io.Writer, secrets []string) io.WriteCloser {
	m := &maskWriter{w: w}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= MinSecretLen && !seen[s] {
			seen[s] = true
			m.secrets = append(m.secrets, []byte(s))
		}
	}
	// Longest first, so the longest match at a position wins.
	sort.Slice(m.secrets, func(i, j int) bool {
		if len(m.secrets[i]) != len(m.secrets[j]) {
			return len(m.secrets[i]) > len(m.secrets[j])
		}
		return bytes.Compare(m.secrets[i], m.secrets[j]) < 0
	})
	for _, s := range m.secrets {
		m.first[s[0]] = true
	}
	return m
}

type maskWriter struct {
	w       io.Writer
	secrets [][]byte  // longest first; immutable
	first   [256]bool // first bytes of secrets; immutable

	mu      sync.Mutex
	pending []byte // guarded by mu: held-back tail that may start a secret
	out     []byte // guarded by mu: scratch output buffer
	err     error  // guarded by mu: first error from w
}

func (m *maskWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if len(m.secrets) == 0 {
		if _, err := m.w.Write(p); err != nil {
			m.err = err
			return 0, err
		}
		return len(p), nil
	}
	buf := append(m.pending, p...)
	m.pending = m.emit(buf, false)
	if m.err != nil {
		return 0, m.err
	}
	return len(p), nil
}

// Close flushes the held-back bytes.
func (m *maskWriter) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.pending = m.emit(m.pending, true)
	return m.err
}

// emit masks buf and writes what is settled; it returns the unsettled tail
// (a copy), which is empty when final.
func (m *maskWriter) emit(buf []byte, final bool) []byte {
	out := m.out[:0]
	i := 0
scan:
	for i < len(buf) {
		if !m.first[buf[i]] {
			// Copy the run of bytes that cannot start a secret.
			j := i + 1
			for j < len(buf) && !m.first[buf[j]] {
				j++
			}
			out = append(out, buf[i:j]...)
			i = j
			continue
		}
		rest := buf[i:]
		if !final {
			for _, s := range m.secrets {
				if len(s) > len(rest) && bytes.HasPrefix(s, rest) {
					break scan // a secret may continue in the next write
				}
			}
		}
		for _, s := range m.secrets {
			if bytes.HasPrefix(rest, s) {
				out = append(out, Mask...)
				i += len(s)
				continue scan
			}
		}
		out = append(out, buf[i])
		i++
	}
	if len(out) > 0 {
		if _, err := m.w.Write(out); err != nil {
			m.err = err
		}
	}
	m.out = out[:0]
	tail := append([]byte(nil), buf[i:]...)
	return tail
}
