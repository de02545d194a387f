package contract

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleActionList(t *testing.T) *ActionList {
	t.Helper()
	steps := []Step{
		{ID: "file.a/ensure_file", Name: StepEnsureFile, Resource: "file.a", Change: ChangeCreate,
			Args: map[string]any{"path": "a.txt", "mode": "0644", "content": "x", "n": int64(3), "f": 1.5,
				"l": []any{"a", int64(1)}, "m": map[string]any{"k": true}},
			Source: &Source{File: "main.cw", Line: 1, Col: 1}},
		{ID: "check.a/verify_file", Name: StepVerifyFile, Resource: "check.a", Change: ChangeCreate,
			DependsOn: []string{"file.a/ensure_file"}, Args: map[string]any{"path": "a.txt"}},
	}
	fp, err := ComputeFingerprint(steps)
	if err != nil {
		t.Fatal(err)
	}
	return &ActionList{Version: Version, Fingerprint: fp, Steps: steps}
}

func TestActionListRoundTrip(t *testing.T) {
	al := sampleActionList(t)
	b, err := MarshalValidated(SchemaActionList, al)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got, err := ParseActionList(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if diff := cmp.Diff(al, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	b2, _ := Marshal(got)
	if string(b) != string(b2) {
		t.Errorf("re-encoding changed bytes:\n%s\n---\n%s", b, b2)
	}
}

func TestFingerprintIgnoresChangeKind(t *testing.T) {
	al := sampleActionList(t)
	steps := append([]Step(nil), al.Steps...)
	steps[0].Change = ChangeNoop
	fp, _ := ComputeFingerprint(steps)
	if fp != al.Fingerprint {
		t.Errorf("fingerprint changed with the change kind: %s vs %s", fp, al.Fingerprint)
	}
	steps[0].Args = map[string]any{"path": "b.txt"}
	fp2, _ := ComputeFingerprint(steps)
	if fp2 == al.Fingerprint {
		t.Error("fingerprint did not change with the args")
	}
}

func TestSchemasRejectBadDocuments(t *testing.T) {
	tests := []struct {
		name, schema, doc, want string
	}{
		{"actionlist wrong version", SchemaActionList, `{"version":"2","fingerprint":"sha256:` + strings.Repeat("0", 64) + `","state_serial":0,"steps":[]}`, "/version"},
		{"actionlist unknown step kind", SchemaActionList, `{"version":"1","fingerprint":"sha256:` + strings.Repeat("0", 64) + `","state_serial":0,"steps":[{"id":"a.b/x","name":"rm_rf","resource":"a.b","change":"create","args":{}}]}`, "/steps/0/name"},
		{"actionlist extra field", SchemaActionList, `{"version":"1","fingerprint":"sha256:` + strings.Repeat("0", 64) + `","state_serial":0,"steps":[],"extra":1}`, "extra"},
		{"bundle missing steps", SchemaBundle, `{"version":"1","artifacts":[]}`, "steps"},
		{"bundle bad mode", SchemaBundle, `{"version":"1","artifacts":[{"path":"a","mode":"rwx","purpose":"p","lang":"bash","content":""}],"steps":[]}`, "/artifacts/0/mode"},
		{"bundle var object", SchemaBundle, `{"version":"1","artifacts":[],"steps":[],"vars":{"A":{"x":1}}}`, "/vars/A"},
		{"state negative serial", SchemaState, `{"version":"1","lineage":"x","serial":-1,"resources":[]}`, "/serial"},
		{"state bad status", SchemaState, `{"version":"1","lineage":"x","serial":1,"resources":[{"address":"a.b","type":"a","config_hash":"","status":"weird"}]}`, "/resources/0/status"},
		{"not json", SchemaState, `{"version":`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateJSON(tt.schema, []byte(tt.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	st := &State{Version: Version, Lineage: "abc", Serial: 3, Resources: []ResourceState{{
		Address: "file.a", Type: "file", ConfigHash: "sha256:x", Status: StatusApplied,
		Outputs: map[string]string{"K": "v"},
		Steps:   map[string]StepState{"file.a/ensure_file": {Status: "ok"}},
		DeleteSteps: []Step{{ID: "file.a/remove_file", Name: StepRemoveFile, Resource: "file.a", Change: ChangeDelete,
			Args: map[string]any{"path": "a", "n": int64(1)}}},
	}}}
	b, err := MarshalValidated(SchemaState, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseState(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEnvNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{OutputEnv("image.app", "IMAGE_REF"), "IMAGE_APP_IMAGE_REF"},
		{OutputEnv(`file.f["a-b"]`, "X"), "FILE_F_A_B_X"},
		{OutputEnv("module.m.git_repo.r", "REPO_COMMIT"), "MODULE_M_GIT_REPO_R_REPO_COMMIT"},
		{SecretEnvName("file.s", "content"), "CW_SECRET_FILE_S_CONTENT"},
		{EnvSlug("__a..b__"), "A_B"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
