package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite docs/resources.md")

func TestDocsUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "resources.md")
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/schema -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/resources.md is out of date; run go test ./internal/schema -update\n%s", cmp.Diff(string(want), string(got)))
	}
}

func TestTypes(t *testing.T) {
	want := []string{"check", "command", "directory", "file", "git_repo", "image", "network", "service", "task", "volume"}
	if diff := cmp.Diff(want, Types()); diff != "" {
		t.Error(diff)
	}
	if _, ok := Lookup("webapp"); ok {
		t.Error("Lookup(webapp) found a type")
	}
}

func TestJSONSchema(t *testing.T) {
	tests := []struct {
		typ   string
		doc   string
		valid bool
	}{
		{"service", `{"name":"web","image":"nginx","ports":[{"external":8080,"internal":80}],"health_check":{"path":"/","interval":"30s"},"retries":3,"timeout":30,"depends_on":["image.app"]}`, true},
		{"service", `{"name":"web","command":"python -m http.server"}`, true},
		{"service", `{"image":"nginx"}`, false},
		{"service", `{"name":"web","bogus":1}`, false},
		{"file", `{"path":"a","content":"x","mode":"0644"}`, true},
		{"file", `{"path":"a","mode":"999"}`, false},
		{"check", `{"type":"http","url":"http://x"}`, true},
		{"check", `{"type":"smtp"}`, false},
		{"task", `{"intent":"rotate logs","inputs":{"a":[1,2]}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.doc, func(t *testing.T) {
			r, _ := Lookup(tt.typ)
			raw, err := r.JSONSchema()
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			c := jsonschema.NewCompiler()
			if err := c.AddResource("r.json", doc); err != nil {
				t.Fatal(err)
			}
			sch, err := c.Compile("r.json")
			if err != nil {
				t.Fatal(err)
			}
			var inst any
			if err := json.Unmarshal([]byte(tt.doc), &inst); err != nil {
				t.Fatal(err)
			}
			err = sch.Validate(inst)
			if (err == nil) != tt.valid {
				t.Errorf("valid = %v, want %v (%v)", err == nil, tt.valid, err)
			}
		})
	}
}

func TestConform(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		vals  map[string]cty.Value
		check func(t *testing.T, obj cty.Value)
		probs []string // Path: Summary
	}{
		{
			name: "service defaults",
			typ:  "service",
			vals: map[string]cty.Value{
				"name":         cty.StringVal("web"),
				"image":        cty.StringVal("nginx"),
				"ports":        cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"external": cty.NumberIntVal(8080), "internal": cty.NumberIntVal(80)})}),
				"environment":  cty.ObjectVal(map[string]cty.Value{"PORT": cty.NumberIntVal(80), "DEBUG": cty.True}),
				"health_check": cty.ObjectVal(map[string]cty.Value{"interval": cty.StringVal("1m30s")}),
				"command":      cty.StringVal("nginx -g 'daemon off;'"),
			},
			check: func(t *testing.T, obj cty.Value) {
				hc := obj.GetAttr("health_check")
				eq(t, hc.GetAttr("port"), cty.NumberIntVal(8080))
				eq(t, hc.GetAttr("interval"), cty.NumberIntVal(90))
				eq(t, hc.GetAttr("retries"), cty.NumberIntVal(3))
				eq(t, hc.GetAttr("path"), cty.StringVal("/"))
				eq(t, obj.GetAttr("restart"), cty.StringVal("unless-stopped"))
				eq(t, obj.GetAttr("environment").Index(cty.StringVal("DEBUG")), cty.StringVal("true"))
				eq(t, obj.GetAttr("ports").Index(cty.NumberIntVal(0)).GetAttr("host_ip"), cty.StringVal("127.0.0.1"))
				eq(t, obj.GetAttr("command"), cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"), cty.StringVal("nginx -g 'daemon off;'")}))
			},
		},
		{
			name:  "process without command or port",
			typ:   "service",
			vals:  map[string]cty.Value{"name": cty.StringVal("p"), "health_check": cty.EmptyObjectVal},
			probs: []string{"command: Missing required argument", "health_check.port: Missing required argument"},
		},
		{
			name: "bad nested",
			typ:  "service",
			vals: map[string]cty.Value{"name": cty.StringVal("p"), "image": cty.StringVal("x"),
				"ports": cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"external": cty.StringVal("x"), "foo": cty.True})})},
			probs: []string{"ports[0].foo: Unsupported argument", "ports[0].external: Incorrect attribute value type", "ports[0].internal: Missing required argument"},
		},
		{
			name: "file mode and exclusive content",
			typ:  "file",
			vals: map[string]cty.Value{"path": cty.StringVal("a"), "content": cty.StringVal("x"), "source": cty.StringVal("b"), "mode": cty.StringVal("755")},
			check: func(t *testing.T, obj cty.Value) {
				eq(t, obj.GetAttr("mode"), cty.StringVal("0755"))
			},
			probs: []string{"source: Conflicting file content"},
		},
		{
			name:  "file bad mode",
			typ:   "file",
			vals:  map[string]cty.Value{"path": cty.StringVal("a"), "content": cty.StringVal("x"), "mode": cty.StringVal("rwx")},
			probs: []string{"mode: Invalid file mode"},
		},
		{
			name:  "check needs url",
			typ:   "check",
			vals:  map[string]cty.Value{"type": cty.StringVal("http"), "timeout": cty.StringVal("2s")},
			probs: []string{"url: Missing required argument"},
		},
		{
			name:  "check bad type and duration",
			typ:   "check",
			vals:  map[string]cty.Value{"type": cty.StringVal("smtp"), "timeout": cty.StringVal("soon"), "interval": cty.NumberFloatVal(1.5)},
			probs: []string{"type: Invalid value", "timeout: Incorrect attribute value type", "interval: Incorrect attribute value type"},
		},
		{
			name: "command string kept",
			typ:  "command",
			vals: map[string]cty.Value{"command": cty.StringVal("make")},
			check: func(t *testing.T, obj cty.Value) {
				eq(t, obj.GetAttr("command"), cty.StringVal("make"))
			},
		},
		{
			name:  "git_repo missing",
			typ:   "git_repo",
			vals:  map[string]cty.Value{"depth": cty.NumberIntVal(-1)},
			probs: []string{"url: Missing required argument", "path: Missing required argument", "depth: Invalid value"},
		},
		{
			name: "unknown and marked pass through",
			typ:  "image",
			vals: map[string]cty.Value{"context": cty.UnknownVal(cty.String).Mark("m"), "tags": cty.UnknownVal(cty.DynamicPseudoType)},
			check: func(t *testing.T, obj cty.Value) {
				c := obj.GetAttr("context")
				if c.IsKnown() || !c.HasMark("m") {
					t.Errorf("context = %#v", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := Lookup(tt.typ)
			if !ok {
				t.Fatal(tt.typ)
			}
			obj, probs := r.Conform(tt.vals)
			var got []string
			for _, p := range probs {
				got = append(got, p.Path+": "+p.Summary)
			}
			if diff := cmp.Diff(tt.probs, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if !obj.Type().Equals(r.ObjectType()) && tt.typ != "command" && tt.typ != "check" && tt.typ != "file" && tt.typ != "task" {
				t.Errorf("type %#v, want %#v", obj.Type(), r.ObjectType())
			}
			if tt.check != nil {
				tt.check(t, obj)
			}
		})
	}
}

func eq(t *testing.T, got, want cty.Value) {
	t.Helper()
	if !got.RawEquals(want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestDurationSeconds(t *testing.T) {
	tests := []struct {
		in   cty.Value
		want int64
		ok   bool
	}{
		{cty.NumberIntVal(30), 30, true},
		{cty.StringVal("30"), 30, true},
		{cty.StringVal("30s"), 30, true},
		{cty.StringVal("5m"), 300, true},
		{cty.StringVal("1h30m"), 5400, true},
		{cty.StringVal("300ms"), 0, false},
		{cty.StringVal("-5s"), 0, false},
		{cty.NumberIntVal(-1), 0, false},
		{cty.True, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in.GoString(), func(t *testing.T) {
			got, err := DurationSeconds(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("got %d, %v; want %d ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}
