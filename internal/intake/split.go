package intake

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// splitMin is the size from which a file is parsed in parallel chunks.
const splitMin = 256 << 10

// parseSplit parses a large file as several chunks in parallel, split
// between top-level blocks: at a line that starts with a letter right after
// a line that is just "}". hcl/v2 lexes a file into one token slice, which
// for a configuration of 10,000 resources is most of the cost of a plan.
//
// A split inside a heredoc or comment leaves a chunk with an unterminated
// construct, which is a parse error; so when any chunk reports anything,
// ok is false and the caller parses the whole file instead, and the
// diagnostics are always those of the whole file.
func parseSplit(src []byte, rel string) (f *hcl.File, ok bool) {
	if len(src) < splitMin {
		return nil, false
	}
	n := 2 * runtime.GOMAXPROCS(0)
	starts := splitPoints(src, n)
	if len(starts) < 2 {
		return nil, false
	}
	type chunk struct {
		f     *hcl.File
		diags hcl.Diagnostics
		start int
		end   int
	}
	chunks := make([]chunk, len(starts))
	var wg sync.WaitGroup
	for i, st := range starts {
		end := len(src)
		if i+1 < len(starts) {
			end = starts[i+1].Byte
		}
		chunks[i].start, chunks[i].end = st.Byte, end
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if recover() != nil {
					chunks[i].diags = hcl.Diagnostics{{Severity: hcl.DiagError}}
				}
			}()
			chunks[i].f, chunks[i].diags = hclsyntax.ParseConfig(src[st.Byte:end], rel, st)
		}()
	}
	wg.Wait()
	bodies := make([]hcl.Body, len(chunks))
	nav := &splitNav{}
	for i, c := range chunks {
		if len(c.diags) > 0 || c.f == nil || c.f.Body == nil {
			return nil, false
		}
		bodies[i] = c.f.Body
		nav.parts = append(nav.parts, navPart{start: c.start, end: c.end, nav: c.f.Nav})
	}
	return &hcl.File{Body: hcl.MergeBodies(bodies), Bytes: src, Nav: nav}, true
}

// splitPoints returns up to n chunk start positions (the first is the
// file's start), each at a line starting with a letter after a line "}".
func splitPoints(src []byte, n int) []hcl.Pos {
	starts := []hcl.Pos{hcl.InitialPos}
	target := len(src) / n
	line, off := 1, 0
	prevClose := false
	for off < len(src) {
		nl := bytes.IndexByte(src[off:], '\n')
		end := len(src)
		if nl >= 0 {
			end = off + nl
		}
		text := bytes.TrimRight(src[off:end], " \t\r")
		c := byte(0)
		if len(text) > 0 {
			c = text[0]
		}
		if prevClose && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && off >= len(starts)*target && len(starts) < n {
			starts = append(starts, hcl.Pos{Line: line, Column: 1, Byte: off})
		}
		prevClose = string(text) == "}"
		if nl < 0 {
			break
		}
		off = end + 1
		line++
	}
	return starts
}

// splitNav gives hcl's diagnostic writer the "in resource ..." context of
// a file parsed in chunks.
type splitNav struct{ parts []navPart }

type navPart struct {
	start, end int
	nav        any
}

func (s *splitNav) part(offset int) any {
	for _, p := range s.parts {
		if offset >= p.start && offset < p.end {
			return p.nav
		}
	}
	return nil
}

// ContextString implements the interface hcl's diagnostic writer looks for.
func (s *splitNav) ContextString(offset int) string {
	if cs, ok := s.part(offset).(interface{ ContextString(int) string }); ok {
		return cs.ContextString(offset)
	}
	return ""
}

// ContextDefRange is the other half of hclsyntax's navigation.
func (s *splitNav) ContextDefRange(offset int) hcl.Range {
	if cs, ok := s.part(offset).(interface{ ContextDefRange(int) hcl.Range }); ok {
		return cs.ContextDefRange(offset)
	}
	return hcl.Range{}
}
