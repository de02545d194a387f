package builtin

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// args reads a step's args into the bundle step's environment, recording
// every problem on the unit. Each input NAME is either NAME=<literal> or,
// when the value is a secret or known only after apply, NAME_FROM=<variable>,
// which the script dereferences at run time (see cw_input in bash.go).
type args struct {
	u *unit
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// lookup returns the arg attr, or the name of the variable in attrVar.
func (a *args) lookup(attr string) (v any, from string, ok bool) {
	if v, ok := a.u.step.Args[attr]; ok && v != nil {
		return v, "", true
	}
	if v, ok := a.u.step.Args[attr+"Var"]; ok && v != nil {
		s, isStr := v.(string)
		if !isStr || !envNameRE.MatchString(s) {
			a.u.errorf("arg %sVar must name an environment variable, got %v", attr, describe(v))
			return nil, "", false
		}
		return nil, s, true
	}
	return nil, "", false
}

// has reports whether the arg attr (or attrVar) is set.
func (a *args) has(attr string) bool {
	_, _, ok := a.lookup(attr)
	return ok
}

// str puts the string arg attr into the environment as env. def is used
// when the arg is absent; a required arg without default is an error.
func (a *args) str(attr, env string, required bool, def string) {
	v, from, ok := a.lookup(attr)
	switch {
	case !ok && def != "":
		a.u.env[env] = def
	case !ok && required:
		a.u.errorf("missing arg %q", attr)
	case !ok:
	case from != "":
		a.u.env[env+"_FROM"] = from
	default:
		s, isStr := v.(string)
		if !isStr {
			a.u.errorf("arg %q must be a string, got %s", attr, describe(v))
			return
		}
		if required && s == "" {
			a.u.errorf("arg %q must not be empty", attr)
			return
		}
		a.literal(attr, env, s)
	}
}

// literal puts s into the environment unless an environment cannot carry it.
func (a *args) literal(attr, env, s string) {
	if strings.IndexByte(s, 0) >= 0 {
		a.u.errorf("arg %q contains a NUL byte, which cannot be passed in the environment", attr)
		return
	}
	a.u.env[env] = s
}

// num puts the non-negative number arg attr into the environment as env,
// or def when it is absent ("" for none).
func (a *args) num(attr, env, def string) {
	v, from, ok := a.lookup(attr)
	switch {
	case !ok:
		if def != "" {
			a.u.env[env] = def
		}
	case from != "":
		a.u.env[env+"_FROM"] = from
	default:
		s, isNum := number(v)
		if !isNum || strings.HasPrefix(s, "-") {
			a.u.errorf("arg %q must be a non-negative number, got %s", attr, describe(v))
			return
		}
		a.u.env[env] = s
	}
}

var modeRE = regexp.MustCompile(`^0?[0-7]{3,4}$`)

// mode puts the octal mode arg attr (default def) into the environment.
func (a *args) mode(attr, env, def string) {
	v, _, ok := a.lookup(attr)
	if !ok {
		a.u.env[env] = def
		return
	}
	s, isStr := v.(string)
	if !isStr {
		if n, isNum := number(v); isNum {
			s = n // 644 written as a number
		}
	}
	if !modeRE.MatchString(s) {
		a.u.errorf("arg %q must be an octal mode such as \"0644\", got %s", attr, describe(v))
		return
	}
	a.u.env[env] = s
}

var serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// serviceName puts the service name into the environment; it names files
// under $CW_STATE_DIR/services, so it must be a plain file name.
func (a *args) serviceName(env string) {
	v, _, ok := a.lookup("name")
	s, isStr := v.(string)
	if !ok || !isStr || !serviceNameRE.MatchString(s) {
		a.u.errorf("arg \"name\" must be a service name of letters, digits, '.', '_' and '-' known at plan time, got %s", describe(v))
		return
	}
	a.u.env[env] = s
}

// command puts a command into the environment: a string as env_SH (run with
// sh -c), a list as env_ARGC and env_ARG_0, env_ARG_1, ... (each element a
// literal or, for a {"fromEnv": NAME} element, env_ARG_i_FROM).
func (a *args) command(attr, env string, required bool) {
	v, from, ok := a.lookup(attr)
	switch {
	case !ok:
		if required {
			a.u.errorf("missing arg %q", attr)
		}
	case from != "":
		a.u.env[env+"_SH_FROM"] = from
	default:
		if ss, isStrs := v.([]string); isStrs {
			anys := make([]any, len(ss))
			for i, s := range ss {
				anys[i] = s
			}
			v = anys
		}
		switch t := v.(type) {
		case string:
			if required && strings.TrimSpace(t) == "" {
				a.u.errorf("arg %q must not be empty", attr)
				return
			}
			a.literal(attr, env+"_SH", t)
		case []any:
			if required && len(t) == 0 {
				a.u.errorf("arg %q must not be an empty list", attr)
				return
			}
			a.u.env[env+"_ARGC"] = strconv.Itoa(len(t))
			for i, e := range t {
				a.element(fmt.Sprintf("%s[%d]", attr, i), fmt.Sprintf("%s_ARG_%d", env, i), e)
			}
		default:
			a.u.errorf("arg %q must be a string or a list of strings, got %s", attr, describe(v))
		}
	}
}

// envMap puts an environment map into the environment as env_COUNT and, in
// key order, env_<i>_KEY plus env_<i> (or env_<i>_FROM).
func (a *args) envMap(attr, env string) {
	v, from, ok := a.lookup(attr)
	if !ok {
		return
	}
	if from != "" {
		a.u.errorf("arg %q must be known at plan time (a map); only its values may come from variables", attr)
		return
	}
	var m map[string]any
	switch t := v.(type) {
	case map[string]any:
		m = t
	case map[string]string:
		m = make(map[string]any, len(t))
		for k, s := range t {
			m[k] = s
		}
	default:
		a.u.errorf("arg %q must be a map of strings, got %s", attr, describe(v))
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	a.u.env[env+"_COUNT"] = strconv.Itoa(len(keys))
	for i, k := range keys {
		if !envNameRE.MatchString(k) {
			a.u.errorf("arg %q: %q is not a valid environment variable name", attr, k)
			continue
		}
		a.u.env[fmt.Sprintf("%s_%d_KEY", env, i)] = k
		a.element(fmt.Sprintf("%s[%q]", attr, k), fmt.Sprintf("%s_%d", env, i), m[k])
	}
}

// element puts one list element or map value into the environment.
func (a *args) element(what, env string, v any) {
	if m, ok := v.(map[string]any); ok {
		name, isStr := m["fromEnv"].(string)
		if len(m) != 1 || !isStr || !envNameRE.MatchString(name) {
			a.u.errorf("%s must be a string, a number, a bool or {\"fromEnv\": NAME}, got %s", what, describe(v))
			return
		}
		a.u.env[env+"_FROM"] = name
		return
	}
	switch t := v.(type) {
	case string:
		a.literal(what, env, t)
	case bool:
		a.u.env[env] = strconv.FormatBool(t)
	default:
		s, ok := number(v)
		if !ok {
			a.u.errorf("%s must be a string, a number, a bool or {\"fromEnv\": NAME}, got %s", what, describe(v))
			return
		}
		a.u.env[env] = s
	}
}

// number formats an integer or float arg; integral floats print as integers.
func number(v any) (string, bool) {
	switch t := v.(type) {
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case int32:
		return strconv.FormatInt(int64(t), 10), true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "", false
		}
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatInt(int64(t), 10), true
		}
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return strconv.FormatInt(i, 10), true
		}
		if f, err := t.Float64(); err == nil {
			return number(f)
		}
	}
	return "", false
}

// describe renders a value for an error message.
func describe(v any) string {
	if v == nil {
		return "nothing"
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("a %T", v)
	}
	return string(b)
}
