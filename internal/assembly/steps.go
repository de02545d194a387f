package assembly

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/ir"
)

// Resource types assembly knows how to plan.
const (
	TypeFile      = "file"
	TypeDirectory = "directory"
	TypeGitRepo   = "git_repo"
	TypeImage     = "image"
	TypeService   = "service"
	TypeNetwork   = "network"
	TypeVolume    = "volume"
	TypeCommand   = "command"
	TypeCheck     = "check"
	TypeTask      = "task"
)

// stepSpec is a planned step before ids, changes and dependencies are set.
type stepSpec struct {
	name string
	args map[string]any
}

// planned is what one resource plans, independent of state.
type planned struct {
	ensure  []stepSpec
	deletes []stepSpec
}

// pathArgs are args holding filesystem paths, cleaned as written.
var pathArgs = []string{"path", "source", "context", "dockerfile", "workdir", "creates"}

// planResource plans the ensure and delete steps of r from attrs (normally
// r.Attrs). Problems are recorded on c.
func planResource(c *converter, r *ir.Resource, attrs cty.Value) planned {
	var p planned
	switch r.Type {
	case TypeFile:
		// Intake renders template with vars into content; the template
		// path stays only if nothing rendered it.
		args := passThrough(c, attrs, "vars")
		if _, ok := args["content"]; ok {
			delete(args, "template")
		} else if _, ok := args["contentVar"]; ok {
			delete(args, "template")
		}
		defaultArg(args, "mode", "0644")
		c.mode(args)
		if s, ok := args["content"].(string); ok {
			sum := sha256.Sum256([]byte(s))
			args["sha256"] = hex.EncodeToString(sum[:])
		}
		p.ensure = []stepSpec{{contract.StepEnsureFile, args}}
		p.deletes = []stepSpec{{contract.StepRemoveFile, pick(args, "path")}}
	case TypeDirectory:
		args := passThrough(c, attrs)
		defaultArg(args, "mode", "0755")
		c.mode(args)
		p.ensure = []stepSpec{{contract.StepEnsureDirectory, args}}
		p.deletes = []stepSpec{{contract.StepRemoveDirectory, pick(args, "path")}}
	case TypeGitRepo:
		args := passThrough(c, attrs)
		defaultArg(args, "depth", int64(0))
		p.ensure = []stepSpec{{contract.StepFetchRepo, args}}
		p.deletes = []stepSpec{{contract.StepRemoveRepo, pick(args, "path")}}
	case TypeImage:
		args := passThrough(c, attrs)
		p.ensure = []stepSpec{{contract.StepBuildImage, args}}
		p.deletes = []stepSpec{{contract.StepRemoveImage, pick(args, "tags")}}
	case TypeService:
		args := passThrough(c, attrs, "health_check")
		kind := "process"
		if !isNull(getAttr(attrs, "image")) {
			kind = "container"
		}
		args["kind"] = kind
		defaultName(args, r)
		p.ensure = []stepSpec{{contract.StepEnsureService, args}}
		if hc := healthCheck(attrs); !isNull(hc) {
			if v := c.healthCheck(r, attrs, hc, kind); v != nil {
				p.ensure = append(p.ensure, stepSpec{contract.StepVerifyHTTP, v})
			}
		}
		p.deletes = []stepSpec{{contract.StepRemoveService, pick(args, "kind", "name")}}
	case TypeNetwork, TypeVolume:
		args := passThrough(c, attrs)
		defaultName(args, r)
		ensure, remove := contract.StepEnsureNetwork, contract.StepRemoveNetwork
		if r.Type == TypeVolume {
			ensure, remove = contract.StepEnsureVolume, contract.StepRemoveVolume
		}
		p.ensure = []stepSpec{{ensure, args}}
		p.deletes = []stepSpec{{remove, pick(args, "name")}}
	case TypeCommand:
		args := passThrough(c, attrs, "on_destroy")
		p.ensure = []stepSpec{{contract.StepRunCommand, args}}
		if od := getAttr(attrs, "on_destroy"); !isNull(od) {
			del := pick(args, "environment", "workdir")
			c.put(del, "command", "on_destroy", od)
			p.deletes = []stepSpec{{contract.StepRunCommand, del}}
		}
	case TypeCheck:
		args := passThrough(c, attrs, "type")
		typ := getAttr(attrs, "type")
		name := ""
		if ut, _ := typ.Unmark(); !ut.IsNull() && ut.IsKnown() && ut.Type() == cty.String {
			name = map[string]string{
				"http":        contract.StepVerifyHTTP,
				"tcp":         contract.StepVerifyTCP,
				"file_exists": contract.StepVerifyFile,
				"command":     contract.StepVerifyCommand,
			}[ut.AsString()]
		}
		if name == "" {
			c.errorf("type", "Invalid check type", fmt.Sprintf(`%s: type must be one of "http", "tcp", "file_exists", "command".`, r.Addr))
			return p
		}
		if name == contract.StepVerifyHTTP {
			defaultArg(args, "expect_status", int64(200))
		}
		c.durations(args, "timeout", "interval")
		p.ensure = []stepSpec{{name, args}}
	case TypeTask:
		args := passThrough(c, attrs)
		p.ensure = []stepSpec{{contract.StepCustom, args}}
	default:
		c.diags = append(c.diags, errorAt(r.DeclRange, "Unsupported resource type",
			fmt.Sprintf("%s: assembly cannot plan resources of type %q.", r.Addr, r.Type)))
	}
	for _, s := range p.ensure {
		cleanPaths(s.args)
	}
	for _, s := range p.deletes {
		cleanPaths(s.args)
	}
	return p
}

// passThrough converts every non-null attribute except skip into args.
func passThrough(c *converter, attrs cty.Value, skip ...string) map[string]any {
	args := map[string]any{}
	ua, _ := attrs.Unmark()
	if ua == cty.NilVal || ua.IsNull() || !ua.IsKnown() {
		return args
	}
	ty := ua.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return args
	}
	for it := ua.ElementIterator(); it.Next(); {
		k, v := it.Element()
		name := k.AsString()
		if contains(skip, name) {
			continue
		}
		c.put(args, name, name, v)
	}
	return args
}

// healthCheck returns the health_check of a service, a block (object, or a
// list of one) or a map attribute; null when absent.
func healthCheck(attrs cty.Value) cty.Value {
	hc := getAttr(attrs, "health_check")
	uh, _ := hc.Unmark()
	if uh.IsNull() || !uh.IsKnown() {
		return uh
	}
	if ty := uh.Type(); ty.IsListType() || ty.IsTupleType() || ty.IsSetType() {
		switch uh.LengthInt() {
		case 0:
			return cty.NullVal(cty.DynamicPseudoType)
		case 1:
			it := uh.ElementIterator()
			it.Next()
			_, e := it.Element()
			return e
		}
	}
	return hc
}

// healthCheck plans the verify_http args of a service's health_check:
// url http://127.0.0.1:<port><path>, where port is health_check.port or, for
// a container, the first port's external port.
func (c *converter) healthCheck(r *ir.Resource, attrs, hc cty.Value, kind string) map[string]any {
	args := map[string]any{}
	uh, _ := hc.Unmark()
	if ty := uh.Type(); ty.IsObjectType() || ty.IsMapType() {
		for it := uh.ElementIterator(); it.Next(); {
			k, v := it.Element()
			name := k.AsString()
			if name == "path" || name == "port" {
				continue
			}
			c.put(args, name, "health_check."+name, v)
		}
	}
	if _, ok := args["url"]; !ok {
		if _, ok := args["urlVar"]; !ok {
			port := getAttr(hc, "port")
			if isNull(port) && kind == "container" {
				if ports, _ := getAttr(attrs, "ports").Unmark(); !ports.IsNull() && ports.IsKnown() && ports.CanIterateElements() && ports.LengthInt() > 0 {
					it := ports.ElementIterator()
					it.Next()
					_, first := it.Element()
					port = getAttr(first, "external")
				}
			}
			p, ok := portString(port)
			if !ok {
				c.errorf("health_check", "Health check has no port",
					fmt.Sprintf("%s: health_check needs a port known at plan time: set health_check.port, or (for a container) give ports with an external port.", r.Addr))
				return nil
			}
			hpath := "/"
			if pv, _ := getAttr(hc, "path").Unmark(); !pv.IsNull() && pv.IsKnown() && pv.Type() == cty.String {
				hpath = pv.AsString()
				if !strings.HasPrefix(hpath, "/") {
					hpath = "/" + hpath
				}
			}
			args["url"] = "http://127.0.0.1:" + p + hpath
		}
	}
	defaultArg(args, "expect_status", int64(200))
	c.durationsAt("health_check", args, "timeout", "interval")
	return args
}

// portString formats a known, non-sensitive port number or string.
func portString(v cty.Value) (string, bool) {
	if isNull(v) {
		return "", false
	}
	uv, marks := v.Unmark()
	if _, s := marks[ir.Sensitive]; s || !uv.IsKnown() {
		return "", false
	}
	switch uv.Type() {
	case cty.Number:
		if i, ok := number(uv.AsBigFloat()).(int64); ok && i > 0 {
			return strconv.FormatInt(i, 10), true
		}
	case cty.String:
		s := uv.AsString()
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return s, true
		}
	}
	return "", false
}

// durations turns duration args given as strings ("30s", "2m", "10") into
// whole seconds, as docs/steps.md requires.
func (c *converter) durations(args map[string]any, keys ...string) {
	c.durationsAt("", args, keys...)
}

func (c *converter) durationsAt(attr string, args map[string]any, keys ...string) {
	for _, k := range keys {
		s, ok := args[k].(string)
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			args[k] = n
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			a := attr
			if a == "" {
				a = k
			}
			c.errorf(a, "Invalid duration", fmt.Sprintf("%s: %s = %q is not a duration (use seconds, or a form like \"30s\" or \"2m\").", c.r.Addr, k, s))
			continue
		}
		args[k] = int64(math.Ceil(d.Seconds()))
	}
}

// mode normalizes a file mode arg to a four-digit octal string: "644" and the
// number 644 (HCL has no octal literals) both become "0644".
func (c *converter) mode(args map[string]any) {
	var s string
	switch m := args["mode"].(type) {
	case string:
		s = m
	case int64:
		s = strconv.FormatInt(m, 10)
	default:
		return
	}
	ok := len(s) >= 3 && len(s) <= 4
	for _, ch := range s {
		if ch < '0' || ch > '7' {
			ok = false
		}
	}
	if !ok {
		c.errorf("mode", "Invalid file mode", fmt.Sprintf("%s: mode %q is not an octal file mode such as \"0644\".", c.r.Addr, s))
		return
	}
	if len(s) == 3 {
		s = "0" + s
	}
	args["mode"] = s
}

func defaultArg(args map[string]any, key string, v any) {
	if _, ok := args[key]; ok {
		return
	}
	if _, ok := args[key+"Var"]; ok {
		return
	}
	args[key] = v
}

// defaultName gives a service, network or volume without a name its
// resource name, suffixed with the instance key for count/for_each.
func defaultName(args map[string]any, r *ir.Resource) {
	name := r.Name
	switch k := r.Key.(type) {
	case int:
		name += "-" + strconv.Itoa(k)
	case int64:
		name += "-" + strconv.FormatInt(k, 10)
	case string:
		name += "-" + k
	}
	defaultArg(args, "name", name)
}

// pick copies the named args (and their "Var" forms) into a new map.
func pick(args map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := args[k]; ok {
			out[k] = v
		}
		if v, ok := args[k+"Var"]; ok {
			out[k+"Var"] = v
		}
	}
	return out
}

func cleanPaths(args map[string]any) {
	for _, k := range pathArgs {
		if s, ok := args[k].(string); ok && s != "" {
			args[k] = path.Clean(s)
		}
	}
}

// secretEnvOf lists the secret env names args refer to, sorted.
func secretEnvOf(args map[string]any) []string {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if s, ok := e.(string); ok && (k == "fromEnv" || strings.HasSuffix(k, "Var")) && strings.HasPrefix(s, secretPrefix) {
					seen[s] = true
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(args)
	if len(seen) == 0 {
		return nil
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// secretPrefix starts every name contract.SecretEnvName returns.
const secretPrefix = "CW_SECRET_"

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
