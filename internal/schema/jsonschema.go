package schema

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// JSONSchemaDraft is the JSON Schema dialect JSONSchema produces.
const JSONSchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// JSONSchema returns a JSON Schema (draft 2020-12) of the body of a resource
// block of this type, meta-arguments included, for editors. Keys are sorted,
// so the output is stable.
func (r *Resource) JSONSchema() ([]byte, error) {
	props := map[string]any{}
	var req []string
	for _, a := range r.Attributes {
		s, err := a.jsonSchema()
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
		}
		props[a.Name] = s
		if a.Required {
			req = append(req, a.Name)
		}
	}
	for name, s := range metaJSONSchema() {
		props[name] = s
	}
	doc := map[string]any{
		"$schema":              JSONSchemaDraft,
		"$id":                  "https://clockwork-iac.github.io/schemas/resource/" + r.Type + ".json",
		"title":                "resource \"" + r.Type + "\"",
		"description":          r.Description,
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(req) > 0 {
		doc["required"] = req
	}
	return json.MarshalIndent(doc, "", "  ")
}

func durationJSONSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string", "pattern": `^([0-9]+|([0-9]+(h|m|s))+)$`},
	}}
}

func metaJSONSchema() map[string]any {
	return map[string]any{
		"count":      map[string]any{"type": "integer", "minimum": 0, "description": "Number of instances (count.index in the body)."},
		"for_each":   map[string]any{"description": "A map, or a set of strings: one instance per key (each.key, each.value).", "oneOf": []any{map[string]any{"type": "object"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "uniqueItems": true}}},
		"depends_on": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "Resources this one depends on (TYPE.NAME or module.NAME)."},
		"provider":   map[string]any{"type": "string", "description": "Provider (runner) that applies it: KIND or KIND.ALIAS."},
		"retries":    map[string]any{"type": "integer", "minimum": 0, "description": "Retries of a failed step."},
		"timeout":    withDesc(durationJSONSchema(), "Timeout of each step."),
		"lifecycle": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
			"prevent_destroy": map[string]any{"type": "boolean"},
			"ignore_changes":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		}},
	}
}

func withDesc(m map[string]any, desc string) map[string]any {
	if desc != "" {
		m["description"] = desc
	}
	return m
}

func (a *Attribute) jsonSchema() (map[string]any, error) {
	var s map[string]any
	switch a.Kind {
	case KindDuration:
		s = durationJSONSchema()
	case KindMode:
		s = map[string]any{"type": "string", "pattern": "^0?[0-7]{3}$"}
	case KindCommand, KindArgv:
		s = map[string]any{"oneOf": []any{
			map[string]any{"type": "string"},
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1},
		}}
	case KindAny:
		s = map[string]any{}
	case KindObject, KindObjectList:
		props := map[string]any{}
		var req []string
		for _, n := range a.Nested {
			ns, err := n.jsonSchema()
			if err != nil {
				return nil, err
			}
			props[n.Name] = ns
			if n.Required {
				req = append(req, n.Name)
			}
		}
		obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(req) > 0 {
			obj["required"] = req
		}
		s = obj
		if a.Kind == KindObjectList {
			s = map[string]any{"type": "array", "items": obj}
		}
	default:
		s = typeJSONSchema(a.Type)
	}
	if len(a.Enum) > 0 {
		s["enum"] = a.Enum
	}
	if a.Default != cty.NilVal {
		raw, err := ctyjson.Marshal(a.Default, a.Default.Type())
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		s["default"] = json.RawMessage(raw)
	}
	return withDesc(s, a.Description), nil
}

func typeJSONSchema(t cty.Type) map[string]any {
	switch {
	case t == cty.String:
		return map[string]any{"type": "string"}
	case t == cty.Number:
		return map[string]any{"type": "number"}
	case t == cty.Bool:
		return map[string]any{"type": "boolean"}
	case t.IsListType() || t.IsSetType():
		return map[string]any{"type": "array", "items": typeJSONSchema(t.ElementType())}
	case t.IsMapType():
		el := typeJSONSchema(t.ElementType())
		if t.ElementType() == cty.String {
			// Numbers and booleans are converted to strings.
			el = map[string]any{"type": []any{"string", "number", "boolean"}}
		}
		return map[string]any{"type": "object", "additionalProperties": el}
	}
	return map[string]any{}
}

// bigText renders a number without exponent.
func bigText(f *big.Float) string { return f.Text('f', -1) }
