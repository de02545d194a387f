package openai

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

// compileMixed compiles with the fallback every step it accepts, asks the
// model for the rest, and merges. The merged bundle is validated against
// the whole ActionList inside the repair loop, so a model answer that
// collides with the fallback's part is sent back like any other problem.
func (s *session) compileMixed(ctx context.Context, al *contract.ActionList, f *facts.Facts, validate func(*contract.Bundle, *contract.ActionList) error) (*contract.Bundle, error) {
	fb := s.c.cfg.Fallback
	if fb == nil {
		return nil, errors.New("mixed AI compilation needs the built-in compiler as fallback")
	}
	var supported, refused []contract.Step
	for _, st := range al.Steps {
		one, err := subList(al, []contract.Step{st})
		if err != nil {
			return nil, err
		}
		if _, err := fb.Compile(ctx, one, f); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			s.c.cfg.Logger.DebugContext(ctx, "step goes to the model", "step", st.ID, "reason", err.Error())
			refused = append(refused, st)
			continue
		}
		supported = append(supported, st)
	}
	base := &contract.Bundle{Version: contract.Version}
	if len(supported) > 0 {
		part, err := subList(al, supported)
		if err != nil {
			return nil, err
		}
		base, err = fb.Compile(ctx, part, f)
		if err != nil {
			return nil, fmt.Errorf("%s compiler: %w", fb.Name(), err)
		}
	}
	name := Name + ":" + s.c.cfg.Model + "+" + fb.Name()
	if len(refused) == 0 {
		// Nothing for the model: no call is made.
		base.Fingerprint = al.Fingerprint
		return base, nil
	}
	rest, err := subList(al, refused)
	if err != nil {
		return nil, err
	}
	check := func(b *contract.Bundle) (*contract.Bundle, []string) {
		problems := underDir(b, artifactDir(ModeMixed))
		merged, conflicts := merge(al, base, b)
		problems = append(problems, conflicts...)
		merged.Compiler = name
		merged.Fingerprint = al.Fingerprint
		if err := validate(merged, al); err != nil {
			problems = append(problems, problemsOf(err)...)
		}
		return merged, problems
	}
	return s.ask(ctx, rest, f, check)
}

// subList returns a copy of al with only steps, its fingerprint recomputed.
func subList(al *contract.ActionList, steps []contract.Step) (*contract.ActionList, error) {
	sub := *al
	sub.Steps = append([]contract.Step(nil), steps...)
	fp, err := contract.ComputeFingerprint(sub.Steps)
	if err != nil {
		return nil, err
	}
	sub.Fingerprint = fp
	return &sub, nil
}

// merge joins the fallback's bundle and the model's. Artifact paths and
// vars must not collide; steps are ordered as in al, artifacts by path.
func merge(al *contract.ActionList, base, model *contract.Bundle) (*contract.Bundle, []string) {
	var problems []string
	out := &contract.Bundle{Version: contract.Version}
	paths := map[string]bool{}
	for _, a := range base.Artifacts {
		paths[a.Path] = true
		out.Artifacts = append(out.Artifacts, a)
	}
	for _, a := range model.Artifacts {
		if paths[a.Path] {
			problems = append(problems, fmt.Sprintf("artifact %s: collides with an artifact of the built-in compiler", a.Path))
			continue
		}
		out.Artifacts = append(out.Artifacts, a)
	}
	sort.SliceStable(out.Artifacts, func(i, j int) bool { return out.Artifacts[i].Path < out.Artifacts[j].Path })

	if len(base.Vars)+len(model.Vars) > 0 {
		out.Vars = map[string]any{}
	}
	for k, v := range base.Vars {
		out.Vars[k] = v
	}
	for k, v := range model.Vars {
		if old, ok := out.Vars[k]; ok && fmt.Sprint(old) != fmt.Sprint(v) {
			problems = append(problems, fmt.Sprintf("vars.%s: conflicts with the built-in compiler's value; choose another name", k))
			continue
		}
		out.Vars[k] = v
	}

	order := map[string]int{}
	for i, st := range al.Steps {
		order[st.ID] = i
	}
	out.Steps = append(append(out.Steps, base.Steps...), model.Steps...)
	sort.SliceStable(out.Steps, func(i, j int) bool {
		oi, iok := order[out.Steps[i].Purpose]
		oj, jok := order[out.Steps[j].Purpose]
		if !iok || !jok {
			return iok && !jok
		}
		return oi < oj
	})
	return out, problems
}
