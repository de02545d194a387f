package forge

import (
	"errors"
	"strings"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/google/go-cmp/cmp"
)

const (
	stepFile  = "file.motd/ensure_file"
	stepCheck = "check.motd/verify_file"
	shPath    = "scripts/01_file_motd.sh"
	pyPath    = "scripts/02_check_motd.py"
)

func addArtifact(b *contract.Bundle, path, mode, lang, content string) {
	b.Artifacts = append(b.Artifacts, contract.Artifact{Path: path, Mode: mode, Purpose: stepFile, Lang: lang, Content: content})
}

func TestValidateRules(t *testing.T) {
	al := testActionList(t)
	tests := []struct {
		name   string
		mutate func(b *contract.Bundle)
		policy Policy
		want   []string // Rules() of the error; nil: accepted
	}{
		{name: "valid", mutate: func(*contract.Bundle) {}},

		// paths
		{name: "path/dotdot", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "../x.py" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/absolute", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "/tmp/x.py" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/unclean", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "scripts//x.py" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/dot-slash", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "./x.py" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/backslash", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = `scripts\x.py` }, want: []string{RulePath, RuleRuntime}},
		{name: "path/control", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "scripts/x\t.py" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/leading-dash", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "scripts/-x.py" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/non-ascii", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "scripts/\u0445.py" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/empty", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = "" }, want: []string{RulePath, RuleRuntime}},
		{name: "path/too-long", mutate: func(b *contract.Bundle) { b.Artifacts[1].Path = strings.Repeat("a", 256) }, want: []string{RulePath, RuleRuntime}},
		{name: "path/reserved-facts", mutate: func(b *contract.Bundle) { addArtifact(b, "Facts.json", "0644", "json", "{}") }, want: []string{RulePath}},
		{name: "path/reserved-agent-dir", mutate: func(b *contract.Bundle) { addArtifact(b, "agent", "0644", "text", "x") }, want: []string{RulePath}},
		{name: "path/shadows-runtime", mutate: func(b *contract.Bundle) { addArtifact(b, "python3", "0755", "bash", "#!/bin/bash\n") }, want: []string{RulePath}},
		{name: "path/agent-prefix-ok", mutate: func(b *contract.Bundle) { addArtifact(b, "agents/x.txt", "0644", "text", "x") }},
		{name: "path/hidden-file-ok", mutate: func(b *contract.Bundle) { addArtifact(b, "scripts/.env.example", "0644", "text", "x") }},

		// collisions
		{name: "collision/case", mutate: func(b *contract.Bundle) { addArtifact(b, "SCRIPTS/02_check_motd.py", "0644", "text", "x") }, want: []string{RuleCollision}},
		{name: "collision/dir-case", mutate: func(b *contract.Bundle) { addArtifact(b, "Scripts", "0644", "text", "x") }, want: []string{RuleCollision}},

		// runtimes
		{name: "runtime/curl", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"curl", "x"} }, want: []string{RuleRuntime}},
		{name: "runtime/not-in-custom-allowlist", policy: Policy{Allowlist: []string{"bash"}}, mutate: func(*contract.Bundle) {}, want: []string{RuleRuntime}},
		{name: "runtime/empty-allowlist", policy: Policy{Allowlist: []string{}}, mutate: func(*contract.Bundle) {}, want: []string{RuleRuntime, RuleShebang}},
		{name: "runtime/dot-slash-artifact-ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"./" + shPath, "arg"} }},
		{name: "runtime/dot-slash-runtime", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"./python3", pyPath} }, want: []string{RuleRuntime}},
		{name: "runtime/bash-script-ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-eu", shPath, "--flag"} }},
		{name: "runtime/bash-o-pipefail-ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-o", "pipefail", shPath} }},
		{name: "runtime/bash-inline-ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-c", "echo hi", "arg0"} }},
		{name: "runtime/bash-euo-pipefail-ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-euo", "pipefail", shPath} }},
		{name: "runtime/bash-o-missing", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-o"} }, want: []string{RuleRuntime}},
		{name: "runtime/bash-o-path", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-o", "/tmp/x", shPath} }, want: []string{RuleRuntime}},
		{name: "runtime/bash-ec-ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-ec", "true"} }},
		{name: "runtime/sh-eo-c-ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"sh", "-eo", "noglob", "-c", "true"} }},
		{name: "runtime/bash-O-shopt", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-O", "extglob", shPath} }, want: []string{RuleRuntime}},
		{name: "runtime/bash-i", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-i", shPath} }, want: []string{RuleRuntime}},
		{name: "runtime/bash-dash-stdin", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-"} }, want: []string{RuleRuntime}},
		{name: "runtime/bash-inline-missing", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"bash", "-c"} }, want: []string{RuleRuntime}},
		{name: "runtime/sh-wrong-lang", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = []string{"sh", shPath} }, want: []string{RuleRuntime}},
		{name: "runtime/python-unbuffered-ok", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"python3", "-u", "./" + pyPath} }},
		{name: "runtime/python-inline-ok", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"python3", "-c", "print(1)"} }},
		{name: "runtime/python-module", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"python3", "-m", "http.server"} }, want: []string{RuleRuntime}},
		{name: "runtime/python-W", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"python3", "-W", "ignore", pyPath} }, want: []string{RuleRuntime}},
		{name: "runtime/double-dash-ok", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"python3", "--", pyPath} }},
		{name: "runtime/go-run-ok", mutate: func(b *contract.Bundle) {
			addArtifact(b, "scripts/x.go", "0644", "go", "package main\nfunc main() {}\n")
			b.Steps[1].Run.Cmd = []string{"go", "run", "scripts/x.go", "arg"}
		}},
		{name: "runtime/go-run-not-go", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"go", "run", pyPath} }, want: []string{RuleRuntime}},
		{name: "runtime/go-build", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"go", "build", "./..."} }, want: []string{RuleRuntime}},
		{name: "runtime/deno-run-allow-ok", mutate: func(b *contract.Bundle) {
			addArtifact(b, "scripts/x.ts", "0644", "deno", "console.log(1)\n")
			b.Steps[1].Run.Cmd = []string{"deno", "run", "--allow-read=.", "--no-prompt", "scripts/x.ts"}
		}},
		{name: "runtime/deno-config", mutate: func(b *contract.Bundle) {
			addArtifact(b, "scripts/x.ts", "0644", "deno", "console.log(1)\n")
			b.Steps[1].Run.Cmd = []string{"deno", "run", "--config=/tmp/x.json", "scripts/x.ts"}
		}, want: []string{RuleRuntime}},
		{name: "runtime/node-eval-ok", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"node", "-e", "process.exit(0)"} }},
		{name: "runtime/node-import", mutate: func(b *contract.Bundle) {
			addArtifact(b, "scripts/x.js", "0644", "node", "1\n")
			b.Steps[1].Run.Cmd = []string{"node", "--import", "/tmp/x.mjs", "scripts/x.js"}
		}, want: []string{RuleRuntime}},
		{name: "runtime/artifact-not-executable", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{pyPath} }, want: []string{RuleRuntime}},
		{name: "runtime/nul-arg", mutate: func(b *contract.Bundle) { b.Steps[1].Run.Cmd = []string{"python3", pyPath, "a\x00b"} }, want: []string{RuleContent}},

		// shebangs
		{name: "shebang/bin-bash-ok", mutate: func(b *contract.Bundle) { b.Artifacts[0].Content = "#!/bin/bash\necho\n" }},
		{name: "shebang/bash-flags-ok", mutate: func(b *contract.Bundle) { b.Artifacts[0].Content = "#! /usr/bin/bash -eu\necho\n" }},
		{name: "shebang/bash-bad-flag", mutate: func(b *contract.Bundle) { b.Artifacts[0].Content = "#!/bin/bash --rcfile\necho\n" }, want: []string{RuleRuntime, RuleShebang}},
		{name: "shebang/env-two-args", mutate: func(b *contract.Bundle) { b.Artifacts[0].Content = "#!/usr/bin/env bash -e\necho\n" }, want: []string{RuleRuntime, RuleShebang}},
		{name: "shebang/env-path", mutate: func(b *contract.Bundle) { b.Artifacts[0].Content = "#!/usr/bin/env /tmp/bash\necho\n" }, want: []string{RuleRuntime, RuleShebang}},
		{name: "shebang/opt-bin", mutate: func(b *contract.Bundle) { b.Artifacts[0].Content = "#!/opt/bin/bash\necho\n" }, want: []string{RuleRuntime, RuleShebang}},
		{name: "shebang/sh-for-bash", mutate: func(b *contract.Bundle) { b.Artifacts[0].Content = "#!/bin/sh\necho\n" }, want: []string{RuleRuntime, RuleShebang}},
		{name: "shebang/python3-ok", mutate: func(b *contract.Bundle) {
			b.Artifacts[1].Mode = "0755"
			b.Artifacts[1].Content = "#!/usr/bin/env python3\nprint(1)\n"
			b.Steps[1].Run.Cmd = []string{pyPath}
		}},
		{name: "shebang/python-not-python3", mutate: func(b *contract.Bundle) {
			b.Artifacts[1].Mode = "0755"
			b.Artifacts[1].Content = "#!/usr/bin/env python\nprint(1)\n"
		}, want: []string{RuleShebang}},
		{name: "shebang/go-executable", mutate: func(b *contract.Bundle) { addArtifact(b, "scripts/x.go", "0755", "go", "package main\n") }, want: []string{RuleMode}},
		{name: "shebang/unknown-lang", mutate: func(b *contract.Bundle) { addArtifact(b, "scripts/x.rb", "0755", "ruby", "#!/usr/bin/env ruby\n") }, want: []string{RuleShebang}},

		// purposes
		{name: "purpose/missing", mutate: func(b *contract.Bundle) { b.Steps = b.Steps[:1] }, want: []string{RulePurpose}},
		{name: "purpose/empty", mutate: func(b *contract.Bundle) { b.Steps[1].Purpose = "" }, want: []string{RulePurpose}},
		{name: "purpose/artifact-empty", mutate: func(b *contract.Bundle) { b.Artifacts[1].Purpose = "" }, want: []string{RulePurpose}},

		// modes
		{name: "mode/0644-three-digits-ok", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "644" }},
		{name: "mode/0600-ok", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "0600" }},
		{name: "mode/0444-ok", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "0444" }},
		{name: "mode/0640-ok", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "0640" }},
		{name: "mode/0700-ok", mutate: func(b *contract.Bundle) { b.Artifacts[0].Mode = "0700" }},
		{name: "mode/0555-ok", mutate: func(b *contract.Bundle) { b.Artifacts[0].Mode = "0555" }},
		{name: "mode/0750-ok", mutate: func(b *contract.Bundle) { b.Artifacts[0].Mode = "0750" }},
		{name: "mode/0711", mutate: func(b *contract.Bundle) { b.Artifacts[0].Mode = "0711" }},
		{name: "mode/0655-exec-by-others-only", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "0645" }, want: []string{RuleMode, RuleShebang}},
		{name: "mode/not-octal", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "0o644" }, want: []string{RuleMode}},
		{name: "mode/decimal-digits", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "0648" }, want: []string{RuleMode}},
		{name: "mode/empty", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "" }, want: []string{RuleMode}},
		{name: "mode/setuid", mutate: func(b *contract.Bundle) { b.Artifacts[0].Mode = "04755" }, want: []string{RuleMode}},
		{name: "mode/group-writable-data", mutate: func(b *contract.Bundle) { b.Artifacts[1].Mode = "0664" }, want: []string{RuleMode}},

		// content and sizes
		{name: "content/invalid-utf8", mutate: func(b *contract.Bundle) { b.Artifacts[1].Content = "print('\xff')\n" }, want: []string{RuleContent}},
		{name: "content/nul", mutate: func(b *contract.Bundle) { b.Artifacts[1].Content = "a\x00" }, want: []string{RuleContent}},
		{name: "content/unicode-ok", mutate: func(b *contract.Bundle) { b.Artifacts[1].Content = "print('héllo → 世界')\n" }},
		{name: "size/artifact", policy: Policy{MaxArtifactSize: 10}, mutate: func(*contract.Bundle) {}, want: []string{RuleSize}},
		{name: "size/total", policy: Policy{MaxTotalSize: 100}, mutate: func(*contract.Bundle) {}, want: []string{RuleSize}},
		{name: "size/count", policy: Policy{MaxArtifacts: 1}, mutate: func(*contract.Bundle) {}, want: []string{RuleSize}},
		{name: "size/default-artifact-bound", mutate: func(b *contract.Bundle) { b.Artifacts[1].Content = strings.Repeat("#", DefaultMaxArtifactSize+1) }, want: []string{RuleSize}},

		// env, vars, bounds, version
		{name: "env/ok", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Env = map[string]string{"APP_PORT": "8080", "_x": "1"} }},
		{name: "env/cw-reserved", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Env = map[string]string{"CW_ROOT": "/"} }, want: []string{RuleEnv}},
		{name: "env/dyld", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Env = map[string]string{"DYLD_INSERT_LIBRARIES": "/x"} }, want: []string{RuleEnv}},
		{name: "env/node-options", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Env = map[string]string{"NODE_OPTIONS": "--require /x"} }, want: []string{RuleEnv}},
		{name: "env/starts-with-digit", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Env = map[string]string{"1X": "a"} }, want: []string{RuleEnv}},
		{name: "env/nul-value", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Env = map[string]string{"X": "a\x00"} }, want: []string{RuleEnv}},
		{name: "vars/path", mutate: func(b *contract.Bundle) { b.Vars["PATH"] = "/tmp" }, want: []string{RuleEnv}},
		{name: "vars/number-ok", mutate: func(b *contract.Bundle) { b.Vars["PORT"] = int64(8080); b.Vars["ON"] = true }},
		{name: "vars/list", mutate: func(b *contract.Bundle) { b.Vars["L"] = []any{"a"} }, want: []string{RuleSchema}},
		{name: "bounds/timeout", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Timeout = MaxStepTimeout + 1 }, want: []string{RuleSchema}},
		{name: "bounds/retries", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Retries = -1 }, want: []string{RuleSchema}},
		{name: "bounds/max-ok", mutate: func(b *contract.Bundle) {
			b.Steps[0].Run.Timeout, b.Steps[0].Run.Retries = MaxStepTimeout, MaxStepRetries
		}},
		{name: "lang/empty", mutate: func(b *contract.Bundle) { b.Artifacts[1].Lang = "" }, want: []string{RuleSchema}},
		{name: "lang/odd", mutate: func(b *contract.Bundle) { b.Artifacts[1].Lang = "Py thon" }, want: []string{RuleSchema}},
		{name: "version", mutate: func(b *contract.Bundle) { b.Version = "" }, want: []string{RuleSchema}},
		{name: "cmd/empty", mutate: func(b *contract.Bundle) { b.Steps[0].Run.Cmd = nil }, want: []string{RuleSchema}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := validBundle(t)
			tt.mutate(b)
			err := Validate(b, al, tt.policy)
			var got []string
			if err != nil {
				ve, ok := AsValidationError(err)
				if !ok {
					t.Fatalf("error is not a *ValidationError: %v", err)
				}
				got = ve.Rules()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("rules (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestValidationErrorFormat(t *testing.T) {
	al := testActionList(t)
	b := validBundle(t)
	b.Artifacts[0].Mode = "4777"
	b.Steps[1].Run.Cmd = []string{"curl", "x"}
	b.Steps = append(b.Steps, contract.BundleStep{Purpose: "nope/x", Run: contract.Run{Cmd: []string{"sh", "-c", "true"}}})
	err := Validate(b, al, Policy{})
	want := `bundle rejected:
mode: artifact "scripts/01_file_motd.sh": mode 4777 is group-writable
mode: artifact "scripts/01_file_motd.sh": mode 4777 is setuid
mode: artifact "scripts/01_file_motd.sh": mode 4777 is world-writable
purpose: step "nope/x": purpose is not a step of the action list
runtime: step "check.motd/verify_file": run.cmd[0] "curl" is neither an allowlisted runtime (bash, sh, python3, node, deno, go) nor an executable artifact of the bundle`
	if err == nil {
		t.Fatal("accepted")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Fatalf("Error() (-want +got):\n%s", diff)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 5 {
		t.Fatalf("errors.As: %v", err)
	}
}

func TestValidateNilInputs(t *testing.T) {
	al := testActionList(t)
	if err := Validate(nil, al, Policy{}); err == nil {
		t.Fatal("nil bundle accepted")
	}
	if err := Validate(validBundle(t), nil, Policy{}); err == nil {
		t.Fatal("nil action list accepted")
	}
}

func TestParseShebang(t *testing.T) {
	tests := []struct {
		content, want string
		ok            bool
	}{
		{"#!/bin/bash\n", "bash", true},
		{"#!/usr/bin/env bash\n", "bash", true},
		{"#!/usr/bin/env python3\n", "python3", true},
		{"#!/usr/local/bin/node\n", "node", true},
		{"#!/bin/sh -e\n", "sh", true},
		{"#!/usr/bin/env -S bash\n", "", false},
		{"#!/usr/bin/env\n", "", false},
		{"#!/usr/bin/env X=1 bash\n", "", false},
		{"#!/usr/bin/../bin/bash\n", "", false},
		{"#!/home/u/bin/bash\n", "", false},
		{"#!\n", "", false},
		{"echo\n", "", false},
		{"#!/bin/bash\r\n", "", false},
		{"#!/usr/bin/python3 -I\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.content, func(t *testing.T) {
			got, err := parseShebang(tt.content)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseShebang(%q) = %q, %v; want %q ok=%v", tt.content, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestLoneSurrogate(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"a":"\udc80"}`, true},
		{`{"a":"\ud800"}`, true},
		{`{"a":"\ud800\u0041"}`, true},
		{`{"a":"\ud83d\ude00"}`, false},
		{`{"a":"\\udc80"}`, false}, // an escaped backslash, then text
		{`{"a":"\u00e9"}`, false},
		{`{"\udfff":1}`, true},
		{`{"a":"x"} "\udc80"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := loneSurrogate([]byte(tt.in)); got != tt.want {
				t.Fatalf("loneSurrogate(%s) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
