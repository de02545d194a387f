package openai

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

// promptVersion names the prompt below. Change it whenever the prompt or
// the wire schema changes: it is part of Settings, so cached bundles made
// with another prompt are not reused.
const promptVersion = "v1"

// langOf maps a runtime to the artifact lang the prompt asks for.
var langOf = map[string]string{
	"bash": "bash", "sh": "sh", "python3": "python", "node": "node", "deno": "deno", "go": "go",
}

// systemPrompt is the versioned contract given to the model. %[1]s is the
// artifact directory, %[2]s the runtime lines, %[3]s the mode note, %[4]s
// the wire JSON Schema.
const systemPrompt = `You are the compiler of Clockwork, an infrastructure-as-code tool (prompt ` + promptVersion + `).
You receive an ActionList: planned steps, in execution order. Each step has an "id", a kind ("name"), the
"resource" it belongs to, a "change" (create, update, delete, noop), "depends_on" (step ids that run first)
and fully evaluated "args". You answer with an ArtifactBundle: the scripts that carry the steps out. The
core validates your bundle before anything is written or run, and rejects it whole if any rule is broken.

# The bundle
- "artifacts": files written under .clockwork/build/, each {"path", "mode", "purpose", "lang", "content"}.
- "steps": exactly one entry per ActionList step, in ActionList order: {"purpose": <the step id>,
  "run": {"cmd": [...], "env": [{"name", "value"}] or null, "timeout": seconds or null, "retries": n or null}}.
  No other steps: every purpose is a step id of the ActionList, none missing, none twice.
- "vars": [{"name", "value"}] passed to every step as environment variables, or null.
- "version": "1".

# Rules
- Paths: relative, clean (no "..", no "./", no leading "/", no backslashes), files only (no symlinks),
  all under %[1]s. Name files after the step, e.g. %[1]sfile-hello-ensure-file.sh.
- Every artifact's "purpose" is the id of the step it serves; a helper used by several steps names the first.
- Runtimes: run.cmd[0] must be one of these, and only these (the machine has them):
%[2]s
  Usual form: "cmd": ["bash", "%[1]s<name>.sh"] (or python3, node, "deno run" with its script path);
  Go only as ["go", "run", "%[1]s<name>.go"]. Arguments after the script path are the script's own.
  No other interpreter options (no -m, --require, ...): the script must be an artifact of the bundle.
- Modes: "0755" for scripts, "0644" for data files and Go sources. Never setuid, setgid, sticky or
  world-writable. A script with mode 0755 starts with a shebang naming its runtime
  ("#!/usr/bin/env bash", "#!/usr/bin/env python3"), and its "lang" matches the runtime that runs it
  (bash, sh, python, node, deno, go).
- run.env and vars names are valid environment variable names and never PATH, HOME, CW_*, LD_*,
  BASH_ENV, ENV, PYTHONPATH, NODE_OPTIONS, GOFLAGS or similar loader settings.
- Content: UTF-8 text, no NUL bytes, short and readable: a person will open and edit these files.

# How steps run
- Each step runs with the working directory .clockwork/build/ ($CW_BUILD) and a clean environment holding only:
  PATH, HOME, CW_ROOT (absolute configuration directory: relative paths in args are relative to it),
  CW_BUILD, CW_STATE_DIR, CW_OUTPUT, CW_STEP_ID, CW_RESOURCE, CW_CHANGE (create|update|delete|noop),
  the bundle's vars, the step's run.env, the outputs of the resources it depends on (key KEY of
  resource image.app arrives as IMAGE_APP_KEY), and the variables the step lists in "secret_env".
- Pass the step's argument values to its script through run.env (preferred: the script then keeps
  working when a value changes) or write them into the script; resolve relative paths against "$CW_ROOT".
- An arg "<attr>Var": "NAME" means the value is known only at run time: read it from the environment
  variable NAME. An element {"fromEnv": "NAME"} likewise. Names in "secret_env" carry secrets: read them
  from the environment, never print, log or write their values.
- A step publishes values by appending KEY=VALUE lines to the file "$CW_OUTPUT"; later steps get them
  as environment variables.
- Scripts must be idempotent: check the current state first and change only what differs; running a
  step twice changes nothing the second time.
- Exit 0 on success and non-zero on failure with a clear message on stderr (bash: set -euo pipefail).
- verify_* steps only observe: they never change anything and exit non-zero when the check fails.
- remove_* steps (change "delete") remove what the resource created and succeed when it is already gone.
- A "custom" step has "args.intent" (what to achieve, in words) and "args.inputs" (values): implement
  the intent with those inputs.
- Do not install software, do not use sudo, do not download and run code, do not touch paths the step
  does not name.
%[3]s
# Answer
Answer with the bundle as one JSON object and nothing else: no prose, no Markdown fences. It must
validate against this JSON Schema:
%[4]s
`

const mixedNote = `
# Mode
Another compiler handles the other steps of this plan; you get only the steps below. Put every artifact
under scripts/ai/.
`

// artifactDir is where the model must put its artifacts.
func artifactDir(mode string) string {
	if mode == ModeMixed {
		return "scripts/ai/"
	}
	return "scripts/"
}

// runtimes lists the allowlisted runtimes present in f; all of them when
// f knows of none.
func runtimes(allow []string, f *facts.Facts) []string {
	var out []string
	if f != nil {
		for _, r := range allow {
			if f.Has(r) {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, allow...)
	}
	return out
}

func runtimeLines(allow []string, f *facts.Facts) string {
	var b strings.Builder
	for _, r := range runtimes(allow, f) {
		lang := langOf[r]
		if lang == "" {
			lang = r
		}
		line := "  - " + r + " (lang " + lang + ")"
		if f != nil && f.Runtimes[r].Version != "" {
			line += ", version " + f.Runtimes[r].Version
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// buildSystemPrompt renders the system prompt for a mode, runtime
// allowlist and facts.
func buildSystemPrompt(mode string, allow []string, f *facts.Facts, schema map[string]any) (string, error) {
	s, err := json.Marshal(schema)
	if err != nil {
		return "", fmt.Errorf("render schema: %w", err)
	}
	note := ""
	if mode == ModeMixed {
		note = mixedNote
	}
	return fmt.Sprintf(systemPrompt, artifactDir(mode), runtimeLines(allow, f), note, s), nil
}

// promptFacts is what the model learns about the machine: no paths, no
// environment, nothing but what decides the choice of runtime.
type promptFacts struct {
	OS       string            `json:"os"`
	Arch     string            `json:"arch"`
	Runtimes map[string]string `json:"runtimes"` // present ones: version or "present"
	Engine   string            `json:"container_engine"`
	Git      bool              `json:"git"`
}

// buildUserPrompt renders the user message: the facts and the ActionList.
// Only these two reach the model; neither holds a secret value.
func buildUserPrompt(al *contract.ActionList, f *facts.Facts) (string, error) {
	pf := promptFacts{Runtimes: map[string]string{}, Engine: "unavailable"}
	if f != nil {
		pf.OS, pf.Arch, pf.Git = f.OS, f.Arch, f.Git.Present
		names := make([]string, 0, len(f.Runtimes))
		for n := range f.Runtimes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if r := f.Runtimes[n]; r.Present {
				pf.Runtimes[n] = r.Version
				if r.Version == "" {
					pf.Runtimes[n] = "present"
				}
			}
		}
		if f.Engine.Available {
			pf.Engine = "available"
			if f.Engine.Version != "" {
				pf.Engine += " (" + f.Engine.Version + ")"
			}
		}
	}
	fb, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return "", fmt.Errorf("render facts: %w", err)
	}
	ab, err := contract.Marshal(al)
	if err != nil {
		return "", fmt.Errorf("render actionlist: %w", err)
	}
	return "Environment facts (the machine the scripts run on):\n" + string(fb) +
		"\n\nActionList (compile every step: one bundle step per step id):\n" + string(ab) +
		"\nAnswer with the ArtifactBundle JSON object only.", nil
}

// repairPrompt is the user message sent after an invalid answer.
func repairPrompt(problems []string) string {
	return "Your bundle was rejected:\n- " + strings.Join(capProblems(problems), "\n- ") +
		"\nReturn a corrected complete bundle (every step and artifact, not only the changed ones) as one JSON object, following the same schema and rules."
}

// maxProblems bounds the problems listed in a repair message or an error.
const maxProblems = 40

func capProblems(p []string) []string {
	if len(p) <= maxProblems {
		return p
	}
	return append(append([]string(nil), p[:maxProblems]...), fmt.Sprintf("... and %d more problems", len(p)-maxProblems))
}
