package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// The model does not answer in the bundle's own shape but in a "wire" shape
// derived from it by modelSchema, because OpenAI's strict structured output
// accepts only closed objects whose properties are all required:
//   - fingerprint and compiler are dropped (Compile sets them);
//   - the open maps run.env and vars become lists of {name, value} pairs;
//   - every optional property is required but nullable;
//   - keywords strict mode does not support (minLength, maxLength, $schema,
//     $id) are dropped and const becomes a one-value enum.
// toBundleJSON turns a wire answer back into bundle JSON, which is then
// parsed against the real schema: the adapted copy only guides the model.

// schemaName is the response_format name given to the model.
const schemaName = "clockwork_artifact_bundle"

// modelSchema returns the wire-shape JSON Schema, adapted from the embedded
// bundle schema.
func modelSchema() (map[string]any, error) {
	raw, err := contract.Schema(contract.SchemaBundle)
	if err != nil {
		return nil, err
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("bundle schema: %w", err)
	}
	delete(s, "$schema")
	delete(s, "$id")
	props, err := objectAt(s, "properties")
	if err != nil {
		return nil, err
	}
	delete(props, "fingerprint")
	delete(props, "compiler")
	props["vars"] = pairList("non-secret values passed to every step as environment variables", map[string]any{"anyOf": []any{
		map[string]any{"type": "string"}, map[string]any{"type": "number"}, map[string]any{"type": "boolean"},
	}})
	run, err := objectAt(s, "properties", "steps", "items", "properties", "run", "properties")
	if err != nil {
		return nil, err
	}
	run["env"] = pairList("extra environment variables of this step", map[string]any{"type": "string"})
	strictify(s)
	return s, nil
}

func pairList(desc string, value map[string]any) map[string]any {
	return map[string]any{
		"type":        "array",
		"description": desc,
		"items": map[string]any{
			"type":                 "object",
			"additionalProperties": false,
			"required":             []any{"name", "value"},
			"properties": map[string]any{
				"name":  map[string]any{"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
				"value": value,
			},
		},
	}
}

func objectAt(s map[string]any, path ...string) (map[string]any, error) {
	cur := s
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("bundle schema has no object at %s", strings.Join(path, "/"))
		}
		cur = next
	}
	return cur, nil
}

// strictify rewrites a schema node in place for strict structured output.
func strictify(node map[string]any) {
	delete(node, "minLength")
	delete(node, "maxLength")
	delete(node, "title")
	if c, ok := node["const"]; ok {
		delete(node, "const")
		node["enum"] = []any{c}
		if _, typed := node["type"]; !typed {
			if _, isString := c.(string); isString {
				node["type"] = "string"
			}
		}
	}
	if props, ok := node["properties"].(map[string]any); ok {
		required := map[string]bool{}
		if req, ok := node["required"].([]any); ok {
			for _, r := range req {
				if name, ok := r.(string); ok {
					required[name] = true
				}
			}
		}
		names := make([]string, 0, len(props))
		for name, p := range props {
			names = append(names, name)
			child, ok := p.(map[string]any)
			if !ok {
				continue
			}
			strictify(child)
			if !required[name] {
				props[name] = nullable(child)
			}
		}
		sort.Strings(names)
		all := make([]any, len(names))
		for i, n := range names {
			all[i] = n
		}
		node["required"] = all
		node["additionalProperties"] = false
	}
	if items, ok := node["items"].(map[string]any); ok {
		strictify(items)
	}
}

// nullable lets a schema node also accept null.
func nullable(node map[string]any) map[string]any {
	switch t := node["type"].(type) {
	case string:
		node["type"] = []any{t, "null"}
		return node
	case []any:
		node["type"] = append(t, "null")
		return node
	}
	return map[string]any{"anyOf": []any{node, map[string]any{"type": "null"}}}
}

// toBundleJSON converts a wire-shape (or bundle-shape) answer object into
// bundle JSON: null optionals are dropped, {name, value} lists become maps,
// fingerprint and compiler are set by the caller. Anything else is kept as
// the model wrote it, for the real schema to judge.
func toBundleJSON(answer map[string]any, fingerprint, compiler string) ([]byte, error) {
	delete(answer, "fingerprint")
	delete(answer, "compiler")
	if err := pairsToMap(answer, "vars"); err != nil {
		return nil, err
	}
	if steps, ok := answer["steps"].([]any); ok {
		for i, st := range steps {
			step, ok := st.(map[string]any)
			if !ok {
				continue
			}
			run, ok := step["run"].(map[string]any)
			if !ok {
				continue
			}
			for _, k := range []string{"timeout", "retries"} {
				if v, present := run[k]; present && v == nil {
					delete(run, k)
				}
			}
			if err := pairsToMap(run, "env"); err != nil {
				return nil, fmt.Errorf("steps[%d].run: %w", i, err)
			}
		}
	}
	if fingerprint != "" {
		answer["fingerprint"] = fingerprint
	}
	if compiler != "" {
		answer["compiler"] = compiler
	}
	return contract.Marshal(answer)
}

// pairsToMap rewrites obj[key] from a list of {name, value} into an object;
// null is dropped; an object is kept as it is.
func pairsToMap(obj map[string]any, key string) error {
	v, present := obj[key]
	if !present {
		return nil
	}
	switch t := v.(type) {
	case nil:
		delete(obj, key)
	case []any:
		m := map[string]any{}
		for i, e := range t {
			pair, ok := e.(map[string]any)
			name, okName := pair["name"].(string)
			if !ok || !okName {
				return fmt.Errorf("%s[%d]: want an object with a string name and a value", key, i)
			}
			if _, dup := m[name]; dup {
				return fmt.Errorf("%s: %s is given twice", key, name)
			}
			m[name] = pair["value"]
		}
		obj[key] = m
	}
	return nil
}

// errNoJSON is returned by extractJSON when no bundle object is found.
var errNoJSON = errors.New("the answer contains no JSON object with \"artifacts\" and \"steps\"")

var (
	thinkRE = regexp.MustCompile(`(?s)<think>.*?</think>`)
	fenceRE = regexp.MustCompile("(?s)```[a-zA-Z]*[ \t]*\r?\n(.*?)```")
)

// extractJSON finds the bundle object in an answer: the whole text, else a
// fenced code block, else the first balanced JSON object in prose. Only an
// object with "steps" or "artifacts" counts. Reasoning models' <think>
// blocks are skipped.
func extractJSON(answer string) (map[string]any, error) {
	text := thinkRE.ReplaceAllString(answer, "")
	var candidates []string
	candidates = append(candidates, strings.TrimSpace(text))
	for _, m := range fenceRE.FindAllStringSubmatch(text, -1) {
		candidates = append(candidates, strings.TrimSpace(m[1]))
	}
	for _, c := range candidates {
		if obj, ok := decodeObject(c, false); ok {
			return obj, nil
		}
	}
	// Prose: try each '{' that opens an object with a key ("{" then
	// optional space then '"'), at most maxProseTries of them, so braces in
	// code (${VAR}, { ...; }) and hostile brace floods cost little.
	tries := 0
	for i := 0; i < len(text) && tries < maxProseTries; i++ {
		if text[i] != '{' || !opensKey(text[i+1:]) {
			continue
		}
		tries++
		if obj, ok := decodeObject(text[i:], true); ok {
			return obj, nil
		}
	}
	return nil, errNoJSON
}

// maxProseTries bounds the decode attempts on an answer in prose.
const maxProseTries = 64

// opensKey reports whether s starts, after white space, with '"'.
func opensKey(s string) bool {
	t := strings.TrimLeft(s, " \t\r\n")
	return strings.HasPrefix(t, `"`)
}

// decodeObject decodes one JSON object from s; trailing text is allowed
// only when prefix is set.
func decodeObject(s string, prefix bool) (map[string]any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	if !prefix && dec.More() {
		return nil, false
	}
	_, hasSteps := obj["steps"]
	_, hasArtifacts := obj["artifacts"]
	if !hasSteps && !hasArtifacts {
		return nil, false
	}
	return obj, true
}

// indentJSON pretty-prints JSON for the prompt and logs.
func indentJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
