package schema

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Problem is one thing wrong with a resource's attributes. Intake turns it
// into a diagnostic whose range is that of Attr (or of the block when Attr is
// empty or absent).
type Problem struct {
	// Attr is the top-level attribute the problem is about ("" for the
	// resource as a whole).
	Attr string
	// Path is the attribute path as a user writes it: "health_check.port",
	// "ports[0].external".
	Path    string
	Summary string
	Detail  string
	// Missing is set when a required attribute has no value.
	Missing bool
}

// Conform checks the evaluated top-level attribute values of a resource
// against the schema and returns the normalized attribute object: every
// schema attribute present, absent optional ones null, defaults filled,
// durations in seconds, modes as four octal digits. Values absent from vals
// or null are treated alike. Keys of vals that are not schema attributes are
// ignored (intake reports them with their ranges). Marks are kept on the
// values they were on; unknown values pass through with the attribute type.
func (r *Resource) Conform(vals map[string]cty.Value) (cty.Value, []Problem) {
	out := make(map[string]cty.Value, len(r.Attributes))
	var probs []Problem
	for _, a := range r.Attributes {
		v, ok := vals[a.Name]
		if !ok || isNull(v) {
			if a.Required {
				probs = append(probs, Problem{Attr: a.Name, Path: a.Name, Missing: true,
					Summary: "Missing required argument",
					Detail:  fmt.Sprintf("The argument %q is required, but no definition was found.", a.Name)})
			}
			out[a.Name] = a.defaultValue()
			continue
		}
		cv, ps := a.conform(v, a.Name)
		for i := range ps {
			ps[i].Attr = a.Name
		}
		probs = append(probs, ps...)
		out[a.Name] = cv
	}
	if r.finish != nil {
		probs = append(probs, r.finish(out)...)
	}
	return cty.ObjectVal(out), probs
}

func isNull(v cty.Value) bool {
	v, _ = v.Unmark()
	return v.IsNull()
}

func (a *Attribute) defaultValue() cty.Value {
	if a.Default != cty.NilVal {
		return a.Default
	}
	return cty.NullVal(a.Type)
}

func (a *Attribute) problem(path, format string, args ...any) Problem {
	return Problem{Path: path, Summary: "Incorrect attribute value type",
		Detail: fmt.Sprintf("Inappropriate value for attribute %q: ", path) + fmt.Sprintf(format, args...)}
}

// conform normalizes one non-null value.
func (a *Attribute) conform(v cty.Value, path string) (cty.Value, []Problem) {
	v, marks := v.Unmark()
	out, probs := a.conformUnmarked(v, path)
	if len(probs) > 0 {
		return cty.UnknownVal(a.Type).WithMarks(marks), probs
	}
	return out.WithMarks(marks), nil
}

func (a *Attribute) conformUnmarked(v cty.Value, path string) (cty.Value, []Problem) {
	if v.IsNull() {
		return a.defaultValue(), nil
	}
	switch a.Kind {
	case KindAny:
		return v, nil
	case KindDuration:
		if !v.IsKnown() {
			return cty.UnknownVal(cty.Number), nil
		}
		secs, err := DurationSeconds(v)
		if err != nil {
			return cty.NilVal, []Problem{a.problem(path, "%s.", err)}
		}
		return cty.NumberIntVal(secs), nil
	case KindMode:
		s, err := convert.Convert(v, cty.String)
		if err != nil {
			return cty.NilVal, []Problem{a.problem(path, "a string is required (an octal mode such as \"0644\").")}
		}
		if !s.IsKnown() {
			return s, nil
		}
		m, ok := NormalizeMode(s.AsString())
		if !ok {
			return cty.NilVal, []Problem{{Path: path, Summary: "Invalid file mode",
				Detail: fmt.Sprintf("The value of %q must be octal permission bits such as \"0644\" or \"0755\", not %q.", path, s.AsString())}}
		}
		return cty.StringVal(m), nil
	case KindCommand, KindArgv:
		ty := v.Type()
		if ty == cty.String || ty.IsPrimitiveType() {
			s, err := convert.Convert(v, cty.String)
			if err != nil {
				return cty.NilVal, []Problem{a.problem(path, "a string or a list of strings is required.")}
			}
			if a.Kind == KindArgv {
				return cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"), s}), nil
			}
			return s, nil
		}
		if !v.IsKnown() && ty == cty.DynamicPseudoType {
			return cty.UnknownVal(a.Type), nil
		}
		l, err := convert.Convert(v, cty.List(cty.String))
		if err != nil {
			return cty.NilVal, []Problem{a.problem(path, "a string or a list of strings is required.")}
		}
		if l.IsKnown() && l.LengthInt() == 0 {
			return cty.NilVal, []Problem{{Path: path, Summary: "Empty command",
				Detail: fmt.Sprintf("The value of %q must name a program to run.", path)}}
		}
		return l, nil
	case KindObject:
		return a.conformObject(v, path)
	case KindObjectList:
		if !v.IsKnown() {
			return cty.UnknownVal(a.Type), nil
		}
		ty := v.Type()
		if !ty.IsListType() && !ty.IsTupleType() && !ty.IsSetType() {
			return cty.NilVal, []Problem{a.problem(path, "a list of objects is required.")}
		}
		var elems []cty.Value
		var probs []Problem
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, ev := it.Element()
			ep := fmt.Sprintf("%s[%d]", path, i)
			ev, marks := ev.Unmark()
			if ev.IsNull() {
				probs = append(probs, a.problem(ep, "an object is required, not null."))
				continue
			}
			cv, ps := a.conformObject(ev, ep)
			probs = append(probs, ps...)
			elems = append(elems, cv.WithMarks(marks))
		}
		if len(probs) > 0 {
			return cty.NilVal, probs
		}
		if len(elems) == 0 {
			return cty.ListValEmpty(a.Type.ElementType()), nil
		}
		return cty.ListVal(elems), nil
	}
	if cv, probs, ok := a.fastCollection(v, path); ok {
		return cv, probs
	}
	if !v.IsKnown() {
		if _, err := convert.Convert(v, a.Type); err != nil {
			return cty.NilVal, []Problem{a.problem(path, "%s.", err)}
		}
		return cty.UnknownVal(a.Type), nil
	}
	cv, err := convert.Convert(v, a.Type)
	if err != nil {
		return cty.NilVal, []Problem{a.problem(path, "%s.", err)}
	}
	if len(a.Enum) > 0 && cv.IsKnown() && !cv.IsMarked() {
		if s := cv.AsString(); !slices.Contains(a.Enum, s) {
			return cty.NilVal, []Problem{{Path: path, Summary: "Invalid value",
				Detail: fmt.Sprintf("The value of %q must be one of %s, not %q.", path, quoteList(a.Enum), s)}}
		}
	}
	return cv, nil
}

// fastCollection converts an object to map(P) or a tuple to list(P), P
// primitive, element by element: cty's general conversion unifies types
// first and is far slower, which matters for 10,000 resources.
func (a *Attribute) fastCollection(v cty.Value, path string) (cty.Value, []Problem, bool) {
	if !v.IsKnown() || !a.Type.IsCollectionType() || !a.Type.ElementType().IsPrimitiveType() {
		return cty.NilVal, nil, false
	}
	ty, et := v.Type(), a.Type.ElementType()
	isMap := a.Type.IsMapType() && (ty.IsObjectType() || ty.IsMapType())
	isList := a.Type.IsListType() && (ty.IsTupleType() || ty.IsListType())
	if !isMap && !isList {
		return cty.NilVal, nil, false
	}
	var probs []Problem
	var elems []cty.Value
	var m map[string]cty.Value
	if isMap {
		m = make(map[string]cty.Value, v.LengthInt())
	}
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		k, e := it.Element()
		e, marks := e.Unmark()
		ep := fmt.Sprintf("%s[%d]", path, i)
		if isMap {
			ep = path + "." + k.AsString()
		}
		ce, err := convertPrimitive(e, et)
		if err != nil {
			probs = append(probs, a.problem(ep, "%s.", err))
			continue
		}
		ce = ce.WithMarks(marks)
		if isMap {
			m[k.AsString()] = ce
		} else {
			elems = append(elems, ce)
		}
	}
	switch {
	case len(probs) > 0:
		return cty.NilVal, probs, true
	case isMap && len(m) == 0:
		return cty.MapValEmpty(et), nil, true
	case isMap:
		return cty.MapVal(m), nil, true
	case len(elems) == 0:
		return cty.ListValEmpty(et), nil, true
	}
	return cty.ListVal(elems), nil, true
}

// convertPrimitive is convert.Convert with a fast path for whole numbers to
// strings (cty formats its 512-bit numbers slowly).
func convertPrimitive(v cty.Value, want cty.Type) (cty.Value, error) {
	if want == cty.String && v.Type() == cty.Number && v.IsKnown() && !v.IsNull() {
		if f := v.AsBigFloat(); f.IsInt() {
			if i, acc := f.Int64(); acc == big.Exact {
				return cty.StringVal(strconv.FormatInt(i, 10)), nil
			}
		}
	}
	return convert.Convert(v, want)
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// conformObject normalizes an object or map value against a.Nested.
func (a *Attribute) conformObject(v cty.Value, path string) (cty.Value, []Problem) {
	objType := a.Type
	if a.Kind == KindObjectList {
		objType = a.Type.ElementType()
	}
	if !v.IsKnown() {
		return cty.UnknownVal(objType), nil
	}
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return cty.NilVal, []Problem{a.problem(path, "an object is required.")}
	}
	in := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		in[k.AsString()] = ev
	}
	var probs []Problem
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(a.Nested, func(n *Attribute) bool { return n.Name == k }) {
			names := make([]string, len(a.Nested))
			for i, n := range a.Nested {
				names[i] = n.Name
			}
			probs = append(probs, Problem{Path: path + "." + k, Summary: "Unsupported argument",
				Detail: fmt.Sprintf("An argument named %q is not expected in %s; expected: %s.", k, path, strings.Join(names, ", "))})
		}
	}
	out := make(map[string]cty.Value, len(a.Nested))
	for _, n := range a.Nested {
		np := path + "." + n.Name
		nv, ok := in[n.Name]
		if !ok || isNull(nv) {
			if n.Required {
				probs = append(probs, Problem{Path: np, Missing: true, Summary: "Missing required argument",
					Detail: fmt.Sprintf("The argument %q is required, but no definition was found.", np)})
			}
			out[n.Name] = n.defaultValue()
			continue
		}
		cv, ps := n.conform(nv, np)
		probs = append(probs, ps...)
		out[n.Name] = cv
	}
	if len(probs) > 0 {
		return cty.NilVal, probs
	}
	return cty.ObjectVal(out), nil
}

var durationNumber = regexp.MustCompile(`^[0-9]+$`)

// DurationSeconds converts a number of seconds or a duration string ("30s",
// "5m", "1h30m", "30") to whole seconds.
func DurationSeconds(v cty.Value) (int64, error) {
	v, _ = v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return 0, fmt.Errorf("a known duration is required")
	}
	switch v.Type() {
	case cty.Number:
		return wholeSeconds(v.AsBigFloat())
	case cty.String:
		s := strings.TrimSpace(v.AsString())
		if durationNumber.MatchString(s) {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("duration %q is out of range", s)
			}
			return n, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (use seconds or a string such as \"30s\", \"5m\", \"1h30m\")", s)
		}
		if d < 0 {
			return 0, fmt.Errorf("duration %q must not be negative", s)
		}
		if d%time.Second != 0 {
			return 0, fmt.Errorf("duration %q must be a whole number of seconds", s)
		}
		return int64(d / time.Second), nil
	}
	return 0, fmt.Errorf("a number of seconds or a duration string is required")
}

func wholeSeconds(f *big.Float) (int64, error) {
	if f.Sign() < 0 {
		return 0, fmt.Errorf("duration must not be negative")
	}
	if !f.IsInt() {
		return 0, fmt.Errorf("duration must be a whole number of seconds")
	}
	n, acc := f.Int64()
	if acc != big.Exact {
		return 0, fmt.Errorf("duration is out of range")
	}
	return n, nil
}

var modePattern = regexp.MustCompile(`^0?[0-7]{3}$`)

// NormalizeMode turns "644", "0644" into "0644"; ok is false for anything
// that is not three octal digits with an optional leading zero.
func NormalizeMode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !modePattern.MatchString(s) {
		return "", false
	}
	if len(s) == 3 {
		s = "0" + s
	}
	return s, true
}

func known(v cty.Value) (cty.Value, bool) {
	v, _ = v.Unmark()
	return v, !v.IsNull() && v.IsKnown()
}

func finishNonNegative(names ...string) func(map[string]cty.Value) []Problem {
	return func(m map[string]cty.Value) []Problem {
		var probs []Problem
		for _, n := range names {
			if v, ok := known(m[n]); ok && v.Type() == cty.Number {
				if f := v.AsBigFloat(); f.Sign() < 0 || !f.IsInt() {
					probs = append(probs, Problem{Attr: n, Path: n, Summary: "Invalid value",
						Detail: fmt.Sprintf("The value of %q must be a whole number, at least 0.", n)})
				}
			}
		}
		return probs
	}
}

func finishFile(m map[string]cty.Value) []Problem {
	var set []string
	for _, n := range []string{"content", "source", "template"} {
		if !isNull(m[n]) {
			set = append(set, n)
		}
	}
	var probs []Problem
	switch {
	case len(set) == 0:
		probs = append(probs, Problem{Summary: "Missing file content", Missing: true,
			Detail: "A file needs exactly one of \"content\", \"source\" or \"template\"."})
	case len(set) > 1:
		probs = append(probs, Problem{Attr: set[1], Path: set[1], Summary: "Conflicting file content",
			Detail: fmt.Sprintf("A file needs exactly one of \"content\", \"source\" or \"template\"; this one sets %s.", strings.Join(set, " and "))})
	}
	if !isNull(m["vars"]) && isNull(m["template"]) {
		probs = append(probs, Problem{Attr: "vars", Path: "vars", Summary: "Vars without template",
			Detail: "\"vars\" is only used with \"template\"."})
	}
	if v, ok := known(m["vars"]); ok && !v.Type().IsObjectType() && !v.Type().IsMapType() {
		probs = append(probs, Problem{Attr: "vars", Path: "vars", Summary: "Incorrect attribute value type",
			Detail: "Inappropriate value for attribute \"vars\": an object or map is required."})
	}
	return probs
}

func finishService(m map[string]cty.Value) []Problem {
	var probs []Problem
	container := !isNull(m["image"])
	if container {
		if isNull(m["restart"]) {
			m["restart"] = cty.StringVal("unless-stopped")
		}
	} else if isNull(m["command"]) {
		probs = append(probs, Problem{Attr: "command", Path: "command", Missing: true, Summary: "Missing required argument",
			Detail: "A service without \"image\" is a local process and needs \"command\"."})
	}
	hc, hcMarks := m["health_check"].Unmark()
	if hc.IsNull() || !hc.IsKnown() {
		return probs
	}
	if !isNull(hc.GetAttr("port")) {
		return probs
	}
	port := cty.NullVal(cty.Number)
	if ports, ok := known(m["ports"]); ok && ports.LengthInt() > 0 {
		first, _ := ports.Index(cty.NumberIntVal(0)).Unmark()
		if first.IsKnown() && !first.IsNull() {
			port = first.GetAttr("external")
		} else {
			port = cty.UnknownVal(cty.Number)
		}
	} else if !ok && !isNull(m["ports"]) {
		port = cty.UnknownVal(cty.Number)
	}
	if port.IsNull() {
		probs = append(probs, Problem{Attr: "health_check", Path: "health_check.port", Missing: true, Summary: "Missing required argument",
			Detail: "\"health_check.port\" is required when the service has no ports."})
		return probs
	}
	attrs := hc.AsValueMap()
	attrs["port"] = port
	m["health_check"] = cty.ObjectVal(attrs).WithMarks(hcMarks)
	return probs
}

func finishCheck(m map[string]cty.Value) []Problem {
	t, ok := known(m["type"])
	if !ok {
		return nil
	}
	need := map[string]string{"http": "url", "tcp": "address", "file_exists": "path", "command": "command"}[t.AsString()]
	if need == "" || !isNull(m[need]) {
		return nil
	}
	return []Problem{{Attr: "type", Path: need, Missing: true, Summary: "Missing required argument",
		Detail: fmt.Sprintf("A check of type %q needs %q.", t.AsString(), need)}}
}
