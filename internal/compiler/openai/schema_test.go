package openai

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// TestModelSchemaIsStrict checks the rules of OpenAI's strict structured
// output on the schema given to the model: every object closed, every
// property required, no unsupported keyword.
func TestModelSchemaIsStrict(t *testing.T) {
	s, err := modelSchema()
	if err != nil {
		t.Fatal(err)
	}
	unsupported := []string{"minLength", "maxLength", "const", "$schema", "$id", "patternProperties", "title"}
	var walk func(path string, node map[string]any)
	walk = func(path string, node map[string]any) {
		for _, k := range unsupported {
			if _, ok := node[k]; ok {
				t.Errorf("%s: unsupported keyword %s", path, k)
			}
		}
		if props, ok := node["properties"].(map[string]any); ok {
			if node["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties is not false", path)
			}
			var names, required []string
			for n, p := range props {
				names = append(names, n)
				walk(path+"/"+n, p.(map[string]any))
			}
			for _, r := range node["required"].([]any) {
				required = append(required, r.(string))
			}
			sort.Strings(names)
			if diff := cmp.Diff(names, required); diff != "" {
				t.Errorf("%s: required is not every property (-properties +required):\n%s", path, diff)
			}
		} else if node["type"] == "object" {
			t.Errorf("%s: an object without properties (an open map)", path)
		}
		if items, ok := node["items"].(map[string]any); ok {
			walk(path+"[]", items)
		}
		if alts, ok := node["anyOf"].([]any); ok {
			for i, a := range alts {
				walk(path+"|"+string(rune('0'+i)), a.(map[string]any))
			}
		}
	}
	walk("", s)

	// The wire answer in testdata satisfies the model's schema, and turns
	// into a bundle that satisfies the real one.
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://model.json", doc); err != nil {
		t.Fatal(err)
	}
	compiled, err := c.Compile("mem://model.json")
	if err != nil {
		t.Fatalf("the model schema is not a valid JSON Schema: %v", err)
	}
	answer, err := os.ReadFile(filepath.Join("testdata", "valid_answer.json"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(answer))
	if err != nil {
		t.Fatal(err)
	}
	if err := compiled.Validate(inst); err != nil {
		t.Errorf("testdata/valid_answer.json does not match the model schema: %v", err)
	}
	obj, err := extractJSON(string(answer))
	if err != nil {
		t.Fatal(err)
	}
	data, err := toBundleJSON(obj, "sha256:x", "openai:m")
	if err != nil {
		t.Fatal(err)
	}
	b, err := contract.ParseBundle(data)
	if err != nil {
		t.Fatalf("converted answer: %v", err)
	}
	if b.Fingerprint != "sha256:x" || b.Compiler != "openai:m" || b.Steps[0].Run.Env["HELLO_TEXT"] != "hello" || b.Vars["GREETING_OWNER"] != "clockwork" {
		t.Errorf("converted bundle lost fields: %+v", b)
	}
}

func TestToBundleJSON(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{"bundle shape kept", `{"version":"1","artifacts":[],"steps":[{"purpose":"a","run":{"cmd":["bash"],"env":{"A":"1"}}}],"vars":{"X":1}}`,
			`{"artifacts":[],"steps":[{"purpose":"a","run":{"cmd":["bash"],"env":{"A":"1"}}}],"vars":{"X":1},"version":"1"}`, ""},
		{"nulls dropped", `{"version":"1","artifacts":[],"steps":[{"purpose":"a","run":{"cmd":["bash"],"env":null,"timeout":null,"retries":null}}],"vars":null}`,
			`{"artifacts":[],"steps":[{"purpose":"a","run":{"cmd":["bash"]}}],"version":"1"}`, ""},
		{"model's fingerprint and compiler ignored", `{"version":"1","fingerprint":"sha256:evil","compiler":"builtin","artifacts":[],"steps":[]}`,
			`{"artifacts":[],"steps":[],"version":"1"}`, ""},
		{"unknown fields kept for the schema to reject", `{"version":"1","artifacts":[],"steps":[],"exec":"rm -rf /"}`,
			`{"artifacts":[],"exec":"rm -rf /","steps":[],"version":"1"}`, ""},
		{"duplicate pair", `{"version":"1","artifacts":[],"steps":[],"vars":[{"name":"A","value":"1"},{"name":"A","value":"2"}]}`, "", "A is given twice"},
		{"pair without name", `{"version":"1","artifacts":[],"steps":[],"vars":[{"value":"1"}]}`, "", "vars[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := extractJSON(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := toBundleJSON(obj, "", "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, compact.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtractJSON(t *testing.T) {
	obj := `{"version":"1","artifacts":[],"steps":[]}`
	cases := []struct {
		name   string
		answer string
		ok     bool
	}{
		{"bare", obj, true},
		{"whitespace", "\n  " + obj + "\n", true},
		{"json fence", "Here you go:\n```json\n" + obj + "\n```\nDone.", true},
		{"plain fence", "```\n" + obj + "\n```", true},
		{"prose before and after", "The bundle is " + obj + ". It is idempotent {mostly}.", true},
		{"other object first", `Example: {"a": 1}. Answer: ` + obj, true},
		{"think block with braces", "<think>{\"steps\": \"not this\"</think>" + obj, true},
		{"no JSON", "I cannot help with that.", false},
		{"object without steps or artifacts", `{"answer": "no"}`, false},
		{"truncated", obj[:20], false},
		{"array", `[` + obj + `]`, true}, // the object inside is found
		{"brace flood", strings.Repeat(`{"steps":`, 20000), false},
		{"bash braces before the object", "Use ${HOME} and { a; } then\n" + obj, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extractJSON(tc.answer)
			if (err == nil) != tc.ok {
				t.Fatalf("extractJSON error = %v, want ok %v", err, tc.ok)
			}
			if tc.ok {
				if diff := cmp.Diff(map[string]any{"version": "1", "artifacts": []any{}, "steps": []any{}}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

// FuzzJudge feeds arbitrary answers through extraction, conversion, both
// schema checks and forge's validator: none may panic, and an accepted
// bundle must pass forge's validator.
func FuzzJudge(f *testing.F) {
	valid, err := os.ReadFile(filepath.Join("testdata", "valid_answer.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(valid))
	f.Add("```json\n" + string(valid) + "\n```")
	f.Add(`{"version":"1","artifacts":[{"path":"../x","mode":"4755","purpose":"p","lang":"bash","content":""}],"steps":[{"purpose":"p","run":{"cmd":["curl"],"env":[{"name":"A"}]}}]}`)
	f.Add(`{"steps": 1}`)
	al := testActionList(f)
	checker, err := newBundleChecker()
	if err != nil {
		f.Fatal(err)
	}
	s := &session{checker: checker}
	f.Fuzz(func(t *testing.T, answer string) {
		check := func(b *contract.Bundle) (*contract.Bundle, []string) {
			if err := defaultValidate(b, al); err != nil {
				return b, problemsOf(err)
			}
			return b, nil
		}
		b, problems := s.judge(answer, "stop", check)
		if len(problems) == 0 {
			if b == nil {
				t.Fatal("no problems and no bundle")
			}
			if err := defaultValidate(b, al); err != nil {
				t.Fatalf("accepted a bundle forge rejects: %v", err)
			}
		}
	})
}
