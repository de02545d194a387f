package intake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func bigSource(n int, extra func(i int) string) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "resource \"file\" \"r%d\" {\n  path    = \"f%d\"\n  content = <<-EOT\n    line %d\n    EOT\n%s}\n", i, i, i, extra(i))
	}
	return []byte(b.String())
}

type blockSummary struct {
	Type   string
	Labels []string
	Def    hcl.Range
	Attrs  int
}

func summarize(t *testing.T, body hcl.Body) []blockSummary {
	t.Helper()
	content, diags := body.Content(rootSchema)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var out []blockSummary
	for _, b := range content.Blocks {
		attrs, _ := b.Body.JustAttributes()
		out = append(out, blockSummary{b.Type, b.Labels, b.DefRange, len(attrs)})
	}
	return out
}

func TestParseSplitMatchesWholeParse(t *testing.T) {
	src := bigSource(4000, func(int) string { return "" })
	split, ok := parseSplit(src, "main.cw")
	if !ok {
		t.Fatal("a large clean file was not split")
	}
	if n := len(split.Nav.(*splitNav).parts); n < 2 {
		t.Fatalf("%d parts", n)
	}
	whole, diags := hclsyntax.ParseConfig(src, "main.cw", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diff := cmp.Diff(summarize(t, whole.Body), summarize(t, split.Body)); diff != "" {
		t.Error(diff)
	}
}

func TestParseSplitFallsBack(t *testing.T) {
	// A heredoc holding "}" and a line that looks like a block start, at
	// every resource: any split lands inside one, and the whole file is
	// parsed instead.
	src := bigSource(4000, func(i int) string {
		return "  mode = \"0644\"\n"
	})
	tricky := strings.ReplaceAll(string(src), "    line ", "}\nresource \"x\" \"y\" {\n    line ")
	if _, ok := parseSplit([]byte(tricky), "main.cw"); ok {
		t.Fatal("split inside heredocs")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cw"), []byte(tricky), 0o644); err != nil {
		t.Fatal(err)
	}
	res, diags := Load(context.Background(), Options{Dir: dir})
	if len(diags) > 0 {
		t.Fatal(renderDiags(res.Files, diags)[:2000])
	}
	if len(res.Config.Resources) != 4000 {
		t.Errorf("%d resources", len(res.Config.Resources))
	}
	got := res.Config.Resources[0].Attrs.GetAttr("content").AsString()
	if got != "}\nresource \"x\" \"y\" {\n    line 0\n" {
		t.Errorf("content = %q", got)
	}
}

func TestParseSplitDiagnosticsContext(t *testing.T) {
	src := bigSource(4000, func(i int) string {
		if i == 3000 {
			return "  colour = \"blue\"\n"
		}
		return ""
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cw"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	res, diags := Load(context.Background(), Options{Dir: dir})
	if _, ok := res.Files["main.cw"].Nav.(*splitNav); !ok {
		t.Fatal("file was not parsed in chunks")
	}
	got := renderDiags(res.Files, diags)
	want := `Error: Unsupported argument

  on main.cw line 18006, in resource "file" "r3000":
18006:   colour = "blue"

An argument named "colour" is not expected here.

`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}
