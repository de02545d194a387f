package contract

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schemas/*.schema.json
var schemaFS embed.FS

// Schema names.
const (
	SchemaActionList = "actionlist"
	SchemaBundle     = "bundle"
	SchemaState      = "state"
)

// SchemaNames lists the embedded contract schemas.
var SchemaNames = []string{SchemaActionList, SchemaBundle, SchemaState}

// Schema returns the raw JSON Schema document of a contract.
func Schema(name string) ([]byte, error) {
	b, err := schemaFS.ReadFile("schemas/" + name + ".schema.json")
	if err != nil {
		return nil, fmt.Errorf("no schema named %q (have %s)", name, strings.Join(SchemaNames, ", "))
	}
	return b, nil
}

// compiled schemas are immutable once built; the once guards construction.
var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func compiledSchema(name string) (*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		compiled = map[string]*jsonschema.Schema{}
		for _, n := range SchemaNames {
			raw, _ := Schema(n)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				compileErr = fmt.Errorf("embedded schema %s: %w", n, err)
				return
			}
			url := "mem://" + n + ".schema.json"
			if err := c.AddResource(url, doc); err != nil {
				compileErr = fmt.Errorf("embedded schema %s: %w", n, err)
				return
			}
			s, err := c.Compile(url)
			if err != nil {
				compileErr = fmt.Errorf("embedded schema %s: %w", n, err)
				return
			}
			compiled[n] = s
		}
	})
	if compileErr != nil {
		return nil, compileErr
	}
	s, ok := compiled[name]
	if !ok {
		return nil, fmt.Errorf("no schema named %q", name)
	}
	return s, nil
}

// SchemaError lists every schema violation of a document.
type SchemaError struct {
	Schema string
	// Problems are "<json pointer>: <message>" lines, sorted.
	Problems []string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%s does not match its schema:\n  %s", e.Schema, strings.Join(e.Problems, "\n  "))
}

// ValidateJSON checks raw JSON against the named contract schema.
func ValidateJSON(name string, data []byte) error {
	s, err := compiledSchema(name)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &SchemaError{Schema: name, Problems: []string{"(root): not valid JSON: " + err.Error()}}
	}
	if err := s.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if !asValidationError(err, &ve) {
			return &SchemaError{Schema: name, Problems: []string{err.Error()}}
		}
		return &SchemaError{Schema: name, Problems: flatten(ve)}
	}
	return nil
}

func asValidationError(err error, out **jsonschema.ValidationError) bool {
	ve, ok := err.(*jsonschema.ValidationError)
	if ok {
		*out = ve
	}
	return ok
}

// printer renders schema error messages; it is read-only after init.
var printer = message.NewPrinter(language.English)

func flatten(ve *jsonschema.ValidationError) []string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			ptr := "/" + strings.Join(e.InstanceLocation, "/")
			out = append(out, fmt.Sprintf("%s: %s", ptr, e.ErrorKind.LocalizedString(printer)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(in []string) []string {
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// ParseActionList validates data against the ActionList schema and decodes it.
func ParseActionList(data []byte) (*ActionList, error) {
	if err := ValidateJSON(SchemaActionList, data); err != nil {
		return nil, err
	}
	var al ActionList
	if err := decodeStrict(data, &al); err != nil {
		return nil, fmt.Errorf("decode actionlist: %w", err)
	}
	if err := normalizeArgs(al.Steps); err != nil {
		return nil, fmt.Errorf("decode actionlist: %w", err)
	}
	return &al, nil
}

// ParseBundle validates data against the bundle schema and decodes it.
func ParseBundle(data []byte) (*Bundle, error) {
	if err := ValidateJSON(SchemaBundle, data); err != nil {
		return nil, err
	}
	// The schema already refused unknown fields (additionalProperties is
	// false throughout); plain Unmarshal avoids the decoder's buffer copies,
	// which matter for bundles that carry every script.
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	for k, v := range b.Vars {
		nv, err := normalizeValue(v)
		if err != nil {
			return nil, fmt.Errorf("decode bundle: vars.%s: %w", k, err)
		}
		b.Vars[k] = nv
	}
	return &b, nil
}

// ParseState validates data against the state schema and decodes it.
func ParseState(data []byte) (*State, error) {
	if err := ValidateJSON(SchemaState, data); err != nil {
		return nil, err
	}
	var s State
	if err := decodeStrict(data, &s); err != nil {
		return nil, fmt.Errorf("decode state: %w", err)
	}
	for i := range s.Resources {
		if err := normalizeArgs(s.Resources[i].DeleteSteps); err != nil {
			return nil, fmt.Errorf("decode state: %s: %w", s.Resources[i].Address, err)
		}
	}
	for k, v := range s.Outputs {
		nv, err := normalizeValue(v)
		if err != nil {
			return nil, fmt.Errorf("decode state: outputs.%s: %w", k, err)
		}
		s.Outputs[k] = nv
	}
	return &s, nil
}

// MarshalValidated encodes v canonically and checks it against the named
// schema, so nothing invalid is ever written.
func MarshalValidated(name string, v any) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := ValidateJSON(name, b); err != nil {
		return nil, err
	}
	return b, nil
}

func normalizeArgs(steps []Step) error {
	for i := range steps {
		for k, v := range steps[i].Args {
			nv, err := normalizeValue(v)
			if err != nil {
				return fmt.Errorf("step %s: args.%s: %w", steps[i].ID, k, err)
			}
			steps[i].Args[k] = nv
		}
	}
	return nil
}

// normalizeValue turns json.Number into int64 when integral, else float64,
// recursively, so decoded args compare equal to freshly planned ones. A
// number no float64 can hold (1e999) is an error: it could not be written
// back.
func normalizeValue(v any) (any, error) {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		f, err := t.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("number %s is out of range", t)
		}
		return f, nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, fmt.Errorf("number %v is out of range", t)
		}
		if t == float64(int64(t)) && t >= -(1<<53) && t <= 1<<53 {
			return int64(t), nil
		}
		return t, nil
	case map[string]any:
		for k, e := range t {
			ne, err := normalizeValue(e)
			if err != nil {
				return nil, err
			}
			t[k] = ne
		}
		return t, nil
	case []any:
		for i, e := range t {
			ne, err := normalizeValue(e)
			if err != nil {
				return nil, err
			}
			t[i] = ne
		}
		return t, nil
	}
	return v, nil
}
