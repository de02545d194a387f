package intake

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

func loadSrc(t *testing.T, src string, opts Options) (*Result, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cw"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Dir = dir
	res, diags := Load(context.Background(), opts)
	return res, renderDiags(res.Files, diags)
}

func resource(t *testing.T, cfg *ir.Config, addr string) *ir.Resource {
	t.Helper()
	for _, r := range cfg.Resources {
		if r.Addr == addr {
			return r
		}
	}
	t.Fatalf("no resource %s", addr)
	return nil
}

func TestDeferredAndSensitiveMarks(t *testing.T) {
	res, diags := loadSrc(t, `
variable "token" {
  type      = string
  sensitive = true
}
resource "image" "app" {}
resource "command" "c" {
  command = "true"
}
resource "service" "web" {
  name        = "web"
  image       = image.app.ref
  environment = {
    TOKEN = var.token
    V     = command.c.outputs.V
    MIXED = "v=${command.c.outputs["V"]}"
  }
}
`, Options{Environ: []string{"CW_VAR_token=s3cret"}})
	if diags != "" {
		t.Fatal(diags)
	}
	web := resource(t, res.Config, "service.web")
	img := web.Attrs.GetAttr("image")
	if img.IsKnown() {
		t.Fatalf("image is known: %#v", img)
	}
	if diff := cmp.Diff([]ir.Deferred{{Resource: "image.app", Attr: "ref", Key: "IMAGE_REF"}}, ir.DeferredOf(img)); diff != "" {
		t.Error(diff)
	}
	env := web.Attrs.GetAttr("environment")
	v := env.Index(cty.StringVal("V"))
	if diff := cmp.Diff([]ir.Deferred{{Resource: "command.c", Attr: "outputs.V", Key: "V"}}, ir.DeferredOf(v)); diff != "" {
		t.Error(diff)
	}
	if mixed := env.Index(cty.StringVal("MIXED")); mixed.IsKnown() || len(ir.DeferredOf(mixed)) != 1 {
		t.Errorf("MIXED = %#v", mixed)
	}
	tok := env.Index(cty.StringVal("TOKEN"))
	if !tok.HasMark(ir.Sensitive) {
		t.Errorf("TOKEN not sensitive: %#v", tok)
	}
	if got, _ := tok.Unmark(); got.AsString() != "s3cret" {
		t.Errorf("TOKEN = %#v", got)
	}
	if !ir.IsSensitive(web.Attrs) {
		t.Error("IsSensitive(attrs) = false")
	}
	if diff := cmp.Diff([]string{"command.c", "image.app"}, web.DependsOn); diff != "" {
		t.Error(diff)
	}
}

func TestEnvironComesOnlyFromOptions(t *testing.T) {
	t.Setenv("CW_VAR_name", "from-process")
	src := `
variable "name" {
  type    = string
  default = "default"
}
resource "directory" "d" {
  path = var.name
}
`
	res, diags := loadSrc(t, src, Options{})
	if diags != "" {
		t.Fatal(diags)
	}
	if got := resource(t, res.Config, "directory.d").Attrs.GetAttr("path").AsString(); got != "default" {
		t.Errorf("path = %q; intake read the process environment", got)
	}
	res, _ = loadSrc(t, src, Options{Environ: []string{"CW_VAR_name=given"}})
	if got := resource(t, res.Config, "directory.d").Attrs.GetAttr("path").AsString(); got != "given" {
		t.Errorf("path = %q", got)
	}
}

func TestFileNamesRelativeToDir(t *testing.T) {
	res, diags := loadSrc(t, `resource "file" "f" {
  path = "x"
}`, Options{})
	if !strings.Contains(diags, "on main.cw line 1") {
		t.Errorf("diagnostics do not name main.cw relative to the directory:\n%s", diags)
	}
	if diff := cmp.Diff([]string{"main.cw"}, keys(res.Files)); diff != "" {
		t.Error(diff)
	}
}

func TestDefaultsAndProviders(t *testing.T) {
	res, diags := loadSrc(t, `
resource "service" "proc" {
  name    = "p"
  command = "sleep 1"
}
resource "service" "ctr" {
  name  = "c"
  image = "nginx"
}
resource "network" "n" {
  name = "n"
}
resource "volume" "v" {
  name = "v"
}
resource "git_repo" "r" {
  url  = "u"
  path = "p"
}
`, Options{})
	if diags != "" {
		t.Fatal(diags)
	}
	want := map[string]string{"service.proc": "local", "service.ctr": "docker", "network.n": "docker", "volume.v": "docker", "git_repo.r": "local"}
	for addr, p := range want {
		if got := resource(t, res.Config, addr).Provider; got != p {
			t.Errorf("%s provider = %q, want %q", addr, got, p)
		}
	}
	proc := resource(t, res.Config, "service.proc").Attrs
	if !proc.GetAttr("restart").IsNull() {
		t.Error("process service got a restart policy")
	}
	r := resource(t, res.Config, "git_repo.r").Attrs
	if r.GetAttr("ref").AsString() != "HEAD" || !r.GetAttr("depth").RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("git_repo defaults = %#v", r)
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := genConfig(t, 10, true)
	_, diags := Load(ctx, Options{Dir: dir})
	if !hasSummary(diags, "Loading canceled") {
		t.Errorf("diags = %v", diags)
	}
}

func TestVarFileJSONAndOutsideDir(t *testing.T) {
	other := t.TempDir()
	jsonFile := filepath.Join(other, "vals.json")
	if err := os.WriteFile(jsonFile, []byte(`{"name": "from-json", "ports": [1, 2]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, diags := loadSrc(t, `
variable "name" {
  type = string
}
variable "ports" {
  type = list(number)
}
resource "directory" "d" {
  path = "${var.name}-${length(var.ports)}"
}
`, Options{VarFiles: []string{jsonFile}})
	if diags != "" {
		t.Fatal(diags)
	}
	if got := resource(t, res.Config, "directory.d").Attrs.GetAttr("path").AsString(); got != "from-json-2" {
		t.Errorf("path = %q", got)
	}
	for _, v := range res.Config.Variables {
		if v.Source != "--var-file "+jsonFile {
			t.Errorf("%s source = %q", v.Name, v.Source)
		}
	}
}
