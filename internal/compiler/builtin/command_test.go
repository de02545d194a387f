package builtin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

func TestRunCommand(t *testing.T) {
	f := localFacts(t)
	tests := []struct {
		name     string
		args     map[string]any
		setup    func(t *testing.T, s *sandbox)
		env      []string
		wantRun  bool
		wantSkip string
	}{
		{name: "string command", args: map[string]any{"command": "echo ran >> ran.txt"}, wantRun: true},
		{name: "list command", args: map[string]any{"command": []any{"sh", "-c", "echo ran >> ran.txt"}}, wantRun: true},
		{
			name: "creates exists", wantSkip: "exists (creates)",
			args:  map[string]any{"command": "echo ran >> ran.txt", "creates": "marker"},
			setup: func(t *testing.T, s *sandbox) { os.WriteFile(filepath.Join(s.root, "marker"), nil, 0o644) },
		},
		{name: "creates missing", args: map[string]any{"command": "echo ran >> ran.txt", "creates": "marker"}, wantRun: true},
		{name: "unless succeeds", args: map[string]any{"command": "echo ran >> ran.txt", "unless": "true"}, wantSkip: "skipped: the unless command succeeded"},
		{name: "unless fails", args: map[string]any{"command": "echo ran >> ran.txt", "unless": []any{"false"}}, wantRun: true},
		{name: "only_if fails", args: map[string]any{"command": "echo ran >> ran.txt", "only_if": "test -f nothing-here"}, wantSkip: "skipped: the only_if command failed"},
		{name: "only_if succeeds", args: map[string]any{"command": "echo ran >> ran.txt", "only_if": "test -d ."}, wantRun: true},
		{
			name: "environment with a secret, in a workdir",
			args: map[string]any{
				"command":     []any{"sh", "-c", `test "$GREETING $TOKEN" = "hello s3cr3t" && echo ran >> ../ran.txt`},
				"environment": map[string]any{"GREETING": "hello", "TOKEN": map[string]any{"fromEnv": "CW_SECRET_COMMAND_C_ENVIRONMENT_TOKEN"}},
				"workdir":     "sub",
			},
			setup:   func(t *testing.T, s *sandbox) { os.Mkdir(filepath.Join(s.root, "sub"), 0o755) },
			env:     []string{"CW_SECRET_COMMAND_C_ENVIRONMENT_TOKEN=s3cr3t"},
			wantRun: true,
		},
		{
			name:    "secret in a list command",
			args:    map[string]any{"command": []any{"sh", "-c", `test "$0" = s3cr3t && echo ran >> ran.txt`, map[string]any{"fromEnv": "CW_SECRET_X"}}},
			env:     []string{"CW_SECRET_X=s3cr3t"},
			wantRun: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			st := step("command.c", contract.StepRunCommand, tt.args)
			b := s.compile(t, f, st)
			r := s.run(t, b, st.ID, tt.env...).ok(t)
			ran, _ := os.ReadFile(filepath.Join(s.root, "ran.txt"))
			if got := string(ran) == "ran\n"; got != tt.wantRun {
				t.Errorf("ran = %v (ran.txt %q); want %v", got, ran, tt.wantRun)
			}
			if tt.wantSkip != "" && !strings.Contains(r.out, tt.wantSkip) {
				t.Errorf("output lacks %q", tt.wantSkip)
			}
		})
	}
}

func TestRunCommandPublishesAndFails(t *testing.T) {
	s := newSandbox(t)
	f := localFacts(t)
	st := step("command.c", contract.StepRunCommand, map[string]any{"command": `echo "BUILD_ID=42" >> "$CW_OUTPUT"`})
	b := s.compile(t, f, st)
	if r := s.run(t, b, st.ID).ok(t); r.outputs["BUILD_ID"] != "42" {
		t.Errorf("outputs = %v; want BUILD_ID=42", r.outputs)
	}
	st = step("command.c", contract.StepRunCommand, map[string]any{"command": "echo broken >&2; exit 7"})
	b = s.compile(t, f, st)
	r := s.run(t, b, st.ID)
	r.fails(t, "broken")
}

func TestVerifyCommand(t *testing.T) {
	f := localFacts(t)
	tests := []struct {
		name, want string
		args       map[string]any
		ok         bool
	}{
		{name: "succeeds in CW_ROOT", args: map[string]any{"command": "test -d .clockwork"}, ok: true, want: "ok:"},
		{name: "fails", args: map[string]any{"command": []any{"sh", "-c", "exit 3"}}, want: "exited with status 3"},
		{name: "times out", args: map[string]any{"command": "sleep 5", "timeout": int64(1)}, want: "timed out after 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			st := step("check.c", contract.StepVerifyCommand, tt.args)
			b := s.compile(t, f, st)
			r := s.run(t, b, st.ID)
			if tt.ok {
				r.ok(t).says(t, tt.want)
			} else {
				r.fails(t, tt.want)
			}
		})
	}
}
