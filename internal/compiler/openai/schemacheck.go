package openai

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// bundleChecker checks answers against the real bundle schema and words
// every problem for the repair message. contract.ParseBundle checks the
// same schema again before a bundle is decoded; this copy exists to give the
// model readable messages (and must not panic on hostile input).
type bundleChecker struct {
	schema  *jsonschema.Schema
	printer *message.Printer
}

func newBundleChecker() (*bundleChecker, error) {
	raw, err := contract.Schema(contract.SchemaBundle)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("bundle schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	const url = "mem://bundle.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("bundle schema: %w", err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("bundle schema: %w", err)
	}
	return &bundleChecker{schema: s, printer: message.NewPrinter(language.English)}, nil
}

// problems returns "schema: <json pointer>: <message>" lines, sorted, or nil.
func (bc *bundleChecker) problems(data []byte) []string {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return []string{"schema: (root): not valid JSON: " + err.Error()}
	}
	err = bc.schema.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []string{"schema: " + err.Error()}
	}
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, fmt.Sprintf("schema: /%s: %s", strings.Join(e.InstanceLocation, "/"), e.ErrorKind.LocalizedString(bc.printer)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out)
	return compactStrings(out)
}

func compactStrings(in []string) []string {
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// parseBundle is contract.ParseBundle with a panic in the schema checker
// turned into an error: hostile input is rejected, never crashes the process.
func parseBundle(data []byte) (b *contract.Bundle, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("bundle schema check failed: %v", r)
		}
	}()
	return contract.ParseBundle(data)
}
