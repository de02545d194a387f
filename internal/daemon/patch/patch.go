package patch

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Found describes the value at an address in a .cw file.
type Found struct {
	// Expr is the source text of the expression.
	Expr string
	// Value is the expression's value when it is a constant (no variables or
	// function calls); cty.NilVal otherwise.
	Value cty.Value
	// VarRef names the variable when the expression is exactly var.NAME.
	VarRef string
	// Range is where the expression is.
	Range hcl.Range
}

// Lookup finds the value at blockAddr and path in file without changing it.
// See SetAttribute for the address forms.
func Lookup(file []byte, blockAddr string, path []string) (Found, error) {
	t, err := locate(file, blockAddr, path)
	if err != nil {
		return Found{}, err
	}
	if t.expr == nil {
		return Found{}, fmt.Errorf("%s: %s not set", blockAddr, strings.Join(path, "."))
	}
	r := t.expr.Range()
	f := Found{Expr: string(r.SliceBytes(file)), Range: r}
	if len(t.expr.Variables()) == 0 {
		if v, diags := t.expr.Value(nil); !diags.HasErrors() {
			f.Value = v
		}
	}
	if st, ok := t.expr.(*hclsyntax.ScopeTraversalExpr); ok && len(st.Traversal) == 2 && st.Traversal.RootName() == "var" {
		if a, ok := st.Traversal[1].(hcl.TraverseAttr); ok {
			f.VarRef = a.Name
		}
	}
	return f, nil
}

// SetAttribute returns file with the value at blockAddr and path replaced by
// value, everything else byte for byte as it was.
//
// blockAddr names a top-level block by its type and labels joined with dots:
// "resource.service.web", "variable.port", "daemon"; "" is the file's
// top-level body (a .cwvars file). path descends from the block: an
// attribute name, then list indexes and object keys inside its value
// (["ports", "0", "external"]); a name that is a nested block descends into
// it ("health_check"), with an index when the block repeats
// (["ports", "1", "external"] for repeated ports blocks). A missing final
// attribute of a block is added; anything else missing is an error.
func SetAttribute(file []byte, blockAddr string, path []string, value cty.Value) ([]byte, error) {
	if len(path) == 0 {
		return nil, fmt.Errorf("set %s: empty path", blockAddr)
	}
	t, err := locate(file, blockAddr, path)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch {
	case t.expr == nil || t.whole:
		// A whole attribute: let hclwrite replace (or add) it.
		f, diags := hclwrite.ParseConfig(file, "input.cw", hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("set %s: %w", blockAddr, diags)
		}
		body := f.Body()
		for _, bi := range t.blockPath {
			body = findWriteBlock(body, bi.typ, bi.labels, bi.index)
			if body == nil {
				return nil, fmt.Errorf("set %s: block %s not found by hclwrite", blockAddr, bi.typ)
			}
		}
		body.SetAttributeValue(path[len(path)-1], value)
		out = f.Bytes()
	default:
		r := t.expr.Range()
		var b bytes.Buffer
		b.Write(file[:r.Start.Byte])
		b.Write(hclwrite.TokensForValue(value).Bytes())
		b.Write(file[r.End.Byte:])
		out = b.Bytes()
	}
	if _, diags := hclsyntax.ParseConfig(out, "patched.cw", hcl.InitialPos); diags.HasErrors() {
		return nil, fmt.Errorf("set %s: patched file does not parse: %w", blockAddr, diags)
	}
	return out, nil
}

type blockStep struct {
	typ    string
	labels []string
	index  int // among blocks with this type and labels
}

type target struct {
	blockPath []blockStep          // blocks descended into, outermost first
	expr      hclsyntax.Expression // nil: attribute absent (path's last element)
	whole     bool                 // expr is a whole attribute's expression
}

func locate(file []byte, blockAddr string, path []string) (target, error) {
	f, diags := hclsyntax.ParseConfig(file, "input.cw", hcl.InitialPos)
	if diags.HasErrors() {
		return target{}, fmt.Errorf("parse: %w", diags)
	}
	body := f.Body.(*hclsyntax.Body)
	var t target
	if blockAddr != "" {
		parts := strings.Split(blockAddr, ".")
		b := findBlock(body, parts[0], parts[1:], 0)
		if b == nil {
			return target{}, fmt.Errorf("block %s not found", blockAddr)
		}
		t.blockPath = append(t.blockPath, blockStep{typ: parts[0], labels: parts[1:]})
		body = b.Body
	}
	for i := 0; i < len(path); i++ {
		name := path[i]
		if a, ok := body.Attributes[name]; ok {
			expr, err := descend(a.Expr, path[i+1:])
			if err != nil {
				return target{}, fmt.Errorf("%s: %s: %w", blockAddr, strings.Join(path, "."), err)
			}
			t.expr, t.whole = expr, i == len(path)-1
			return t, nil
		}
		var nested []*hclsyntax.Block
		for _, b := range body.Blocks {
			if b.Type == name {
				nested = append(nested, b)
			}
		}
		if len(nested) == 0 {
			if i == len(path)-1 {
				return t, nil // absent attribute: SetAttribute adds it
			}
			return target{}, fmt.Errorf("%s: %s: no attribute or block %q", blockAddr, strings.Join(path, "."), name)
		}
		idx := 0
		if i+1 < len(path) {
			if n, err := strconv.Atoi(path[i+1]); err == nil {
				idx = n
				i++
			}
		}
		if idx < 0 || idx >= len(nested) {
			return target{}, fmt.Errorf("%s: %s: block %s[%d] out of range (%d blocks)", blockAddr, strings.Join(path, "."), name, idx, len(nested))
		}
		if i == len(path)-1 {
			return target{}, fmt.Errorf("%s: %s: is a block, not a value", blockAddr, strings.Join(path, "."))
		}
		t.blockPath = append(t.blockPath, blockStep{typ: name, index: idx})
		body = nested[idx].Body
	}
	return target{}, fmt.Errorf("%s: %s: path ends at a block", blockAddr, strings.Join(path, "."))
}

func descend(expr hclsyntax.Expression, rest []string) (hclsyntax.Expression, error) {
	for _, step := range rest {
		switch e := expr.(type) {
		case *hclsyntax.TupleConsExpr:
			n, err := strconv.Atoi(step)
			if err != nil || n < 0 || n >= len(e.Exprs) {
				return nil, fmt.Errorf("index %q out of range (%d elements)", step, len(e.Exprs))
			}
			expr = e.Exprs[n]
		case *hclsyntax.ObjectConsExpr:
			found := false
			for _, item := range e.Items {
				if objectKey(item.KeyExpr) == step {
					expr, found = item.ValueExpr, true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("key %q not found", step)
			}
		default:
			return nil, fmt.Errorf("cannot descend into %q: the value is not a list or object literal", step)
		}
	}
	return expr, nil
}

func objectKey(e hclsyntax.Expression) string {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if name := hcl.ExprAsKeyword(k.Wrapped); name != "" {
			return name
		}
		e = k.Wrapped
	}
	if v, diags := e.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
		return v.AsString()
	}
	return ""
}

func findBlock(body *hclsyntax.Body, typ string, labels []string, index int) *hclsyntax.Block {
	n := 0
	for _, b := range body.Blocks {
		if b.Type == typ && slices.Equal(b.Labels, labels) {
			if n == index {
				return b
			}
			n++
		}
	}
	return nil
}

func findWriteBlock(body *hclwrite.Body, typ string, labels []string, index int) *hclwrite.Body {
	n := 0
	for _, b := range body.Blocks() {
		if b.Type() == typ && slices.Equal(b.Labels(), labels) {
			if n == index {
				return b.Body()
			}
			n++
		}
	}
	return nil
}
