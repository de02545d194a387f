package aitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// PlanFromRequest returns the ActionList the compiler put in the first user
// message of a request (after the "ActionList" heading).
func PlanFromRequest(r Request) (*contract.ActionList, error) {
	for _, m := range r.Messages {
		if m.Role != "user" {
			continue
		}
		_, rest, ok := strings.Cut(m.Content, "\nActionList")
		if !ok {
			continue
		}
		start := strings.Index(rest, "{")
		if start < 0 {
			break
		}
		dec := json.NewDecoder(strings.NewReader(rest[start:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("aitest: actionlist in the prompt: %w", err)
		}
		return contract.ParseActionList(raw)
	}
	return nil, errors.New("aitest: no ActionList in the request")
}

// Bash answers every request with a valid wire-shape bundle built from the
// ActionList in the prompt: per step one bash script (mode 0755, shebang,
// set -eu) whose body is body(step), run as ["bash", path]. Artifacts go
// under scripts/ai/ when the system prompt asks for it (mixed mode), else
// under scripts/. A step for which body returns "" gets "exit 0".
func Bash(body func(contract.Step) string) Answer {
	return Answer{Func: func(r Request) Answer {
		al, err := PlanFromRequest(r)
		if err != nil {
			return Error(500, "", err.Error())
		}
		dir := "scripts/"
		if len(r.Messages) > 0 && strings.Contains(r.Messages[0].Content, "Put every artifact\nunder scripts/ai/") {
			dir = "scripts/ai/"
		}
		artifacts := []any{}
		steps := []any{}
		for _, st := range al.Steps {
			path := dir + contract.EnvSlug(st.ID) + ".sh"
			path = strings.ToLower(path)
			text := body(st)
			if text == "" {
				text = "exit 0"
			}
			artifacts = append(artifacts, map[string]any{
				"path": path, "mode": "0755", "purpose": st.ID, "lang": "bash",
				"content": "#!/usr/bin/env bash\nset -eu\n" + strings.TrimRight(text, "\n") + "\n",
			})
			steps = append(steps, map[string]any{"purpose": st.ID,
				"run": map[string]any{"cmd": []any{"bash", path}, "env": nil, "timeout": nil, "retries": nil}})
		}
		out, err := json.Marshal(map[string]any{"version": "1", "artifacts": artifacts, "steps": steps, "vars": nil})
		if err != nil {
			return Error(500, "", err.Error())
		}
		return Content(string(out))
	}}
}
