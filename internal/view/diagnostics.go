package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostics writes diags sorted by file then offset (diagnostics without a
// source range first). Each starts with a "file:line:col: error: summary"
// line, followed by hcl's rendering of the source line with a marker under
// the subject, and the detail. files maps file names (as in the ranges) to
// parsed files for the snippets; width wraps the detail (0: no wrapping).
func Diagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool, width uint) error {
	var snippet bytes.Buffer
	tw := hcl.NewDiagnosticTextWriter(&snippet, files, width, color)
	for _, d := range sorted(diags) {
		sev := "error"
		code := "\x1b[1;31m"
		if d.Severity == hcl.DiagWarning {
			sev, code = "warning", "\x1b[1;33m"
		}
		if color {
			sev = code + sev + "\x1b[0m"
		}
		pos := ""
		if d.Subject != nil {
			pos = fmt.Sprintf("%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		if _, err := fmt.Fprintf(w, "%s%s: %s\n", pos, sev, d.Summary); err != nil {
			return err
		}
		snippet.Reset()
		if err := tw.WriteDiagnostic(d); err != nil {
			return err
		}
		// hcl's writer opens with "Error: summary" and a blank line, which
		// the line above already says.
		body := snippet.Bytes()
		if i := bytes.Index(body, []byte("\n\n")); i >= 0 {
			body = body[i+2:]
		}
		body = addMarker(body, files, d.Subject)
		if _, err := w.Write(body); err != nil {
			return err
		}
	}
	return nil
}

// addMarker inserts a line with "^~~~" under the subject after the first
// source line of the snippet hcl's writer printed (which only highlights the
// subject with color, and not at all without).
func addMarker(body []byte, files map[string]*hcl.File, subj *hcl.Range) []byte {
	if subj == nil || files[subj.Filename] == nil {
		return body
	}
	lines := bytes.Split(files[subj.Filename].Bytes, []byte("\n"))
	if subj.Start.Line < 1 || subj.Start.Line > len(lines) {
		return body
	}
	src := []rune(string(lines[subj.Start.Line-1]))
	start := min(max(subj.Start.Column-1, 0), len(src))
	end := len(src)
	if subj.End.Line == subj.Start.Line {
		end = min(max(subj.End.Column-1, start), len(src))
	}
	var m strings.Builder
	m.WriteString("      ")
	for _, r := range src[:start] {
		if r == '\t' {
			m.WriteRune('\t')
		} else {
			m.WriteByte(' ')
		}
	}
	m.WriteByte('^')
	for i := start + 1; i < end; i++ {
		m.WriteByte('~')
	}
	m.WriteByte('\n')
	prefix := []byte(fmt.Sprintf("%4d: ", subj.Start.Line))
	at := 0
	for at < len(body) {
		nl := bytes.IndexByte(body[at:], '\n')
		if nl < 0 {
			break
		}
		if bytes.HasPrefix(body[at:], prefix) {
			cut := at + nl + 1
			out := append([]byte(nil), body[:cut]...)
			out = append(out, m.String()...)
			return append(out, body[cut:]...)
		}
		at += nl + 1
	}
	return body
}

// sorted returns a copy of diags ordered by file name then byte offset;
// diagnostics without a subject keep their order and come first.
func sorted(diags hcl.Diagnostics) hcl.Diagnostics {
	out := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Byte != b.Start.Byte:
			return a.Start.Byte < b.Start.Byte
		}
		return a.Start.Line < b.Start.Line
	})
	return out
}

// JSONDiagnostics is the document DiagnosticsJSON writes.
type JSONDiagnostics struct {
	Valid        bool             `json:"valid"`
	ErrorCount   int              `json:"error_count"`
	WarningCount int              `json:"warning_count"`
	Diagnostics  []JSONDiagnostic `json:"diagnostics"`
}

// JSONDiagnostic is one diagnostic; Range is absent when it has no subject.
type JSONDiagnostic struct {
	Severity string     `json:"severity"` // "error" or "warning"
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *JSONRange `json:"range,omitempty"`
}

// JSONRange is a source range; lines and columns start at 1, bytes at 0.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is a position in a file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// DiagnosticsJSON writes diags (sorted as Diagnostics sorts them) as one
// JSON document: {"valid", "error_count", "warning_count", "diagnostics"}.
func DiagnosticsJSON(w io.Writer, diags hcl.Diagnostics) error {
	doc := JSONDiagnostics{Diagnostics: []JSONDiagnostic{}}
	for _, d := range sorted(diags) {
		jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			doc.WarningCount++
		} else {
			doc.ErrorCount++
		}
		if s := d.Subject; s != nil {
			jd.Range = &JSONRange{
				Filename: s.Filename,
				Start:    JSONPos{Line: s.Start.Line, Column: s.Start.Column, Byte: s.Start.Byte},
				End:      JSONPos{Line: s.End.Line, Column: s.End.Column, Byte: s.End.Byte},
			}
		}
		doc.Diagnostics = append(doc.Diagnostics, jd)
	}
	doc.Valid = doc.ErrorCount == 0
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
