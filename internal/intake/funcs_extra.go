package intake

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// extraFunctions are Terraform functions that go-cty's stdlib lacks.
func extraFunctions() map[string]function.Function {
	str2 := func(f func(a, b string) bool) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "part", Type: cty.String}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
			},
		})
	}
	boolList := func(all bool) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				for it := args[0].ElementIterator(); it.Next(); {
					_, v := it.Element()
					if !v.IsKnown() {
						return cty.UnknownVal(cty.Bool), nil
					}
					if v.IsNull() {
						continue
					}
					if v.True() != all {
						return cty.BoolVal(!all), nil
					}
				}
				return cty.BoolVal(all), nil
			},
		})
	}
	return map[string]function.Function{
		"startswith":  str2(strings.HasPrefix),
		"endswith":    str2(strings.HasSuffix),
		"strcontains": str2(strings.Contains),
		"alltrue":     boolList(true),
		"anytrue":     boolList(false),
		"urlencode":   stringFunc(func(s string) (string, error) { return url.QueryEscape(s), nil }),
		"base64sha256": stringFunc(func(s string) (string, error) {
			h := sha256.Sum256([]byte(s))
			return base64.StdEncoding.EncodeToString(h[:]), nil
		}),
		"sum": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
			Type:   function.StaticReturnType(cty.Number),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				l, err := convert.Convert(args[0], cty.List(cty.Number))
				if err != nil {
					return cty.NilVal, fmt.Errorf("sum needs a list of numbers: %w", err)
				}
				if !l.IsWhollyKnown() {
					return cty.UnknownVal(cty.Number), nil
				}
				total := new(big.Float)
				for it := l.ElementIterator(); it.Next(); {
					_, v := it.Element()
					if v.IsNull() {
						return cty.NilVal, fmt.Errorf("sum cannot add null")
					}
					total.Add(total, v.AsBigFloat())
				}
				return cty.NumberVal(total), nil
			},
		}),
		"one": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
			Type: func(args []cty.Value) (cty.Type, error) {
				ty := args[0].Type()
				switch {
				case ty.IsListType() || ty.IsSetType():
					return ty.ElementType(), nil
				case ty.IsTupleType():
					ets := ty.TupleElementTypes()
					if len(ets) == 0 {
						return cty.DynamicPseudoType, nil
					}
					if len(ets) == 1 {
						return ets[0], nil
					}
				}
				return cty.NilType, function.NewArgErrorf(0, "must be a list or set with at most one element")
			},
			Impl: func(args []cty.Value, ret cty.Type) (cty.Value, error) {
				v := args[0]
				if !v.IsKnown() {
					return cty.UnknownVal(ret), nil
				}
				switch v.LengthInt() {
				case 0:
					return cty.NullVal(ret), nil
				case 1:
					it := v.ElementIterator()
					it.Next()
					_, e := it.Element()
					return e, nil
				}
				return cty.NilVal, fmt.Errorf("must be a list or set with at most one element")
			},
		}),
	}
}
