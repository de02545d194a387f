package view

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// keyArgs returns the args shown for a step kind, in display order (nil:
// every arg, sorted). An arg given as "<name>Var" is shown as where its
// value comes from.
func keyArgs(name string) []string {
	switch name {
	case contract.StepEnsureFile:
		return []string{"path", "mode", "source", "content"}
	case contract.StepRemoveFile:
		return []string{"path"}
	case contract.StepEnsureDirectory:
		return []string{"path", "mode"}
	case contract.StepRemoveDirectory:
		return []string{"path"}
	case contract.StepFetchRepo:
		return []string{"url", "ref", "path"}
	case contract.StepRemoveRepo:
		return []string{"path"}
	case contract.StepBuildImage:
		return []string{"context", "dockerfile", "tags"}
	case contract.StepRemoveImage:
		return []string{"tags"}
	case contract.StepEnsureService:
		return []string{"kind", "name", "image", "command", "ports", "workdir"}
	case contract.StepRemoveService:
		return []string{"kind", "name"}
	case contract.StepEnsureNetwork:
		return []string{"name", "driver"}
	case contract.StepRemoveNetwork:
		return []string{"name"}
	case contract.StepEnsureVolume:
		return []string{"name", "driver"}
	case contract.StepRemoveVolume:
		return []string{"name"}
	case contract.StepRunCommand:
		return []string{"command", "creates", "unless", "only_if", "workdir"}
	case contract.StepVerifyHTTP:
		return []string{"url", "expect_status"}
	case contract.StepVerifyTCP:
		return []string{"address"}
	case contract.StepVerifyFile:
		return []string{"path"}
	case contract.StepVerifyCommand:
		return []string{"command"}
	case contract.StepCustom:
		return []string{"intent"}
	}
	return nil
}

// Terminal colors.
const (
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
	colorBold   = "\x1b[1m"
	colorReset  = "\x1b[0m"
)

// PlanHuman writes al like `terraform plan`: each create, update and delete
// step with its resource, kind and key args, then a summary counting
// resources. Noop steps are only counted.
func PlanHuman(w io.Writer, al *contract.ActionList, color bool) error {
	return PlanHumanForget(w, al, nil, color)
}

// PlanHumanForget is PlanHuman for a plan that also drops the resources
// forget (assembly.Plan.Forget) from state without running a step; they are
// listed and counted as deletes.
func PlanHumanForget(w io.Writer, al *contract.ActionList, forget []string, color bool) error {
	p := &printer{w: w, color: color}
	changes := map[string]string{} // resource -> change
	for _, s := range al.Steps {
		changes[s.Resource] = s.Change
	}
	var create, update, del, noop int
	for _, c := range changes {
		switch c {
		case contract.ChangeCreate:
			create++
		case contract.ChangeUpdate:
			update++
		case contract.ChangeDelete:
			del++
		default:
			noop++
		}
	}
	forget = append([]string(nil), forget...)
	sort.Strings(forget)
	for _, a := range forget {
		if _, ok := changes[a]; !ok {
			del++
		}
	}
	if create+update+del == 0 {
		p.printf("No changes. Your configuration matches the recorded state.\n")
		return p.err
	}
	p.printf("Clockwork will perform the following actions:\n")
	for i := range al.Steps {
		s := &al.Steps[i]
		if s.Change == contract.ChangeNoop {
			continue
		}
		p.step(s)
	}
	for _, a := range forget {
		p.printf("\n  %s %s: %s\n", p.paint(colorRed, "-"), p.paint(colorBold, a), "removed from state (nothing to run)")
	}
	p.printf("\nPlan: %d to create, %d to update, %d to delete, %d unchanged.\n", create, update, del, noop)
	return p.err
}

type printer struct {
	w     io.Writer
	color bool
	err   error
}

func (p *printer) printf(format string, a ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format, a...)
}

func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return code + s + colorReset
}

func (p *printer) step(s *contract.Step) {
	sym, code := "+", colorGreen
	switch s.Change {
	case contract.ChangeUpdate:
		sym, code = "~", colorYellow
	case contract.ChangeDelete:
		sym, code = "-", colorRed
	}
	where := ""
	if s.Source != nil {
		where = " (" + s.Source.String() + ")"
	}
	p.printf("\n  %s %s: %s%s\n", p.paint(code, sym), p.paint(colorBold, s.Resource), s.Name, where)
	keys := keyArgs(s.Name)
	if keys == nil {
		keys = sortedKeys(s.Args)
	}
	type line struct{ k, v string }
	var lines []line
	width := 0
	for _, k := range keys {
		var v string
		if x, ok := s.Args[k]; ok {
			v = formatValue(x)
			if t, isStr := x.(string); isStr && k == "content" && (len(t) > 60 || strings.Contains(t, "\n")) {
				v = fmt.Sprintf("(%d bytes)", len(t))
			}
		} else if x, ok := s.Args[k+"Var"].(string); ok {
			v = "(from $" + x + ")"
		} else {
			continue
		}
		lines = append(lines, line{k, v})
		width = max(width, len(k))
	}
	for _, l := range lines {
		p.printf("      %-*s = %s\n", width, l.k, l.v)
	}
}

// formatValue renders an arg value HCL-style. {"fromEnv": NAME} renders as
// "(sensitive)" for secrets and "(from $NAME)" for values known after apply.
func formatValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = strconv.Quote(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		if name, ok := t["fromEnv"].(string); ok && len(t) == 1 {
			if strings.HasPrefix(name, "CW_SECRET_") {
				return "(sensitive)"
			}
			return "(from $" + name + ")"
		}
		keys := sortedKeys(t)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " = " + formatValue(t[k])
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
