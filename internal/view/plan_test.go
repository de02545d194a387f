package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

func TestPlanHuman(t *testing.T) {
	step := func(res, name, change string, args map[string]any) contract.Step {
		return contract.Step{ID: contract.StepID(res, name), Name: name, Resource: res, Change: change, Args: args}
	}
	tests := []struct {
		name   string
		steps  []contract.Step
		forget []string
		want   string
	}{
		{
			name:  "no changes",
			steps: []contract.Step{step("file.a", "ensure_file", "noop", map[string]any{"path": "a"})},
			want:  "No changes. Your configuration matches the recorded state.\n",
		},
		{
			name: "every change kind, secrets and deferred values",
			steps: []contract.Step{
				step("file.gone", "remove_file", "delete", map[string]any{"path": "gone"}),
				step("file.a", "ensure_file", "create", map[string]any{"path": "a", "mode": "0644", "content": "line1\nline2\n", "sha256": "x"}),
				step("file.s", "ensure_file", "create", map[string]any{"path": "s", "contentVar": "CW_SECRET_FILE_S_CONTENT"}),
				step("service.web", "ensure_service", "update", map[string]any{
					"kind": "container", "name": "web", "imageVar": "IMAGE_APP_IMAGE_REF",
					"ports":       []any{map[string]any{"external": int64(8080), "internal": int64(80)}},
					"environment": map[string]any{"PW": map[string]any{"fromEnv": "CW_SECRET_X"}},
					"command":     []any{"run", map[string]any{"fromEnv": "CW_SECRET_Y"}, map[string]any{"fromEnv": "GIT_REPO_SRC_REPO_COMMIT"}, 1.5, true},
				}),
				step("service.web", "verify_http", "update", map[string]any{"url": "http://127.0.0.1:8080/", "expect_status": int64(200)}),
				step("file.same", "ensure_file", "noop", map[string]any{"path": "same"}),
				step("task.t", "unknown_kind", "create", map[string]any{"b": "2", "a": int64(1)}),
			},
			forget: []string{"check.old"},
			want: `Clockwork will perform the following actions:

  - file.gone: remove_file
      path = "gone"

  + file.a: ensure_file
      path    = "a"
      mode    = "0644"
      content = (12 bytes)

  + file.s: ensure_file
      path    = "s"
      content = (from $CW_SECRET_FILE_S_CONTENT)

  ~ service.web: ensure_service
      kind    = "container"
      name    = "web"
      image   = (from $IMAGE_APP_IMAGE_REF)
      command = ["run", (sensitive), (from $GIT_REPO_SRC_REPO_COMMIT), 1.5, true]
      ports   = [{ external = 8080, internal = 80 }]

  ~ service.web: verify_http
      url           = "http://127.0.0.1:8080/"
      expect_status = 200

  + task.t: unknown_kind
      a = 1
      b = "2"

  - check.old: removed from state (nothing to run)

Plan: 3 to create, 1 to update, 2 to delete, 1 unchanged.
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := PlanHumanForget(&buf, &contract.ActionList{Version: "1", Steps: tt.steps}, tt.forget, false); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanHumanColor(t *testing.T) {
	var buf bytes.Buffer
	al := &contract.ActionList{Steps: []contract.Step{{ID: "file.a/ensure_file", Name: "ensure_file", Resource: "file.a", Change: "create", Args: map[string]any{"path": "a"}}}}
	if err := PlanHuman(&buf, al, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\x1b[32m+\x1b[0m") {
		t.Errorf("no green + in colored output: %q", buf.String())
	}
}
