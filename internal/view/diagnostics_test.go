package view

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func parse(t *testing.T, name, src string) *hcl.File {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), name, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return f
}

func rng(file string, line, col, byteOff, length int) *hcl.Range {
	return &hcl.Range{Filename: file,
		Start: hcl.Pos{Line: line, Column: col, Byte: byteOff},
		End:   hcl.Pos{Line: line, Column: col + length, Byte: byteOff + length}}
}

func testDiags(t *testing.T) (map[string]*hcl.File, hcl.Diagnostics) {
	main := "resource \"file\" \"a\" {\n  bogus = 1\n  path  = 2\n}\n"
	other := "variable \"x\" {}\n"
	files := map[string]*hcl.File{"main.cw": parse(t, "main.cw", main), "b.cw": parse(t, "b.cw", other)}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Incorrect attribute value type", Detail: "A string is required.", Subject: rng("main.cw", 3, 11, 44, 1)},
		{Severity: hcl.DiagError, Summary: "Unsupported argument", Detail: `An argument named "bogus" is not expected here.`, Subject: rng("main.cw", 2, 3, 24, 5)},
		{Severity: hcl.DiagWarning, Summary: "Target matches nothing", Detail: "--target x names nothing."},
		{Severity: hcl.DiagError, Summary: "No value for required variable", Subject: rng("b.cw", 1, 1, 0, 12)},
	}
	return files, diags
}

func TestDiagnostics(t *testing.T) {
	files, diags := testDiags(t)
	var buf bytes.Buffer
	if err := Diagnostics(&buf, files, diags, false, 0); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	var heads []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "error: ") || strings.Contains(l, "warning: ") {
			heads = append(heads, l)
		}
	}
	wantHeads := []string{
		"warning: Target matches nothing",
		"b.cw:1:1: error: No value for required variable",
		"main.cw:2:3: error: Unsupported argument",
		"main.cw:3:11: error: Incorrect attribute value type",
	}
	if diff := cmp.Diff(wantHeads, heads); diff != "" {
		t.Errorf("header lines (-want +got):\n%s\n%s", diff, out)
	}
	for _, want := range []string{"   2:   bogus = 1\n" + strings.Repeat(" ", 8) + "^~~~~\n", "   3:   path  = 2\n" + strings.Repeat(" ", 16) + "^\n", `An argument named "bogus" is not expected here.`, "  on main.cw line 3, in resource \"file\" \"a\":"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Error: ") {
		t.Errorf("hcl's own summary line was not replaced:\n%s", out)
	}
	if !sortedOK(diags) {
		t.Errorf("Diagnostics reordered the caller's slice")
	}
}

// sortedOK reports that the input kept its original (unsorted) order.
func sortedOK(d hcl.Diagnostics) bool { return d[0].Summary == "Incorrect attribute value type" }

func TestDiagnosticsMarker(t *testing.T) {
	files, diags := testDiags(t)
	var buf bytes.Buffer
	if err := Diagnostics(&buf, files, diags[1:2], true, 80); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\x1b[1;4mbogus\x1b[0m") {
		t.Errorf("colored output does not highlight the subject:\n%q", buf.String())
	}
}

func TestDiagnosticsJSON(t *testing.T) {
	_, diags := testDiags(t)
	var buf bytes.Buffer
	if err := DiagnosticsJSON(&buf, diags); err != nil {
		t.Fatal(err)
	}
	var got JSONDiagnostics
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := JSONDiagnostics{
		Valid: false, ErrorCount: 3, WarningCount: 1,
		Diagnostics: []JSONDiagnostic{
			{Severity: "warning", Summary: "Target matches nothing", Detail: "--target x names nothing."},
			{Severity: "error", Summary: "No value for required variable",
				Range: &JSONRange{Filename: "b.cw", Start: JSONPos{1, 1, 0}, End: JSONPos{1, 13, 12}}},
			{Severity: "error", Summary: "Unsupported argument", Detail: `An argument named "bogus" is not expected here.`,
				Range: &JSONRange{Filename: "main.cw", Start: JSONPos{2, 3, 24}, End: JSONPos{2, 8, 29}}},
			{Severity: "error", Summary: "Incorrect attribute value type", Detail: "A string is required.",
				Range: &JSONRange{Filename: "main.cw", Start: JSONPos{3, 11, 44}, End: JSONPos{3, 12, 45}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := DiagnosticsJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"valid": true`) || !strings.Contains(buf.String(), `"diagnostics": []`) {
		t.Errorf("empty diagnostics: %s", buf.String())
	}
}
