package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    func(p *Policy)
		wantErr string
	}{
		{name: "no daemon block", src: "compiler {\n  kind = \"openai\"\n}\n", want: func(*Policy) {}},
		{name: "full block", src: `
daemon {
  max_fixes_per_hour = 5
  cooldown           = "1m"
  backoff_cap        = "30s"
  healthy_reset      = "10s"
  reconcile_attempts = 2
  auto_apply         = ["retries", "ports"]
  require_approval   = ["image"]
}
compiler {
  model = "x"
}
`, want: func(p *Policy) {
			p.MaxFixesPerHour = 5
			p.Cooldown = time.Minute
			p.BackoffCap = 30 * time.Second
			p.HealthyReset = 10 * time.Second
			p.ReconcileAttempts = 2
			p.AutoApply = []string{"retries", "ports"}
			p.RequireApproval = []string{"image"}
		}},
		{name: "bad duration", src: "daemon {\n  cooldown = \"ten minutes\"\n}\n", wantErr: "cooldown: expected a duration"},
		{name: "unknown attribute", src: "daemon {\n  colour = 1\n}\n", wantErr: "Unsupported argument"},
		{name: "destroy never automatic", src: "daemon {\n  auto_apply = [\"destroy\"]\n}\n", wantErr: "never automatic"},
		{name: "unknown kind", src: "daemon {\n  require_approval = [\"dns\"]\n}\n", wantErr: "unknown kind \"dns\""},
		{name: "both lists", src: "daemon {\n  auto_apply = [\"ports\"]\n}\n", wantErr: "both auto_apply and require_approval"},
		{name: "two blocks", src: "daemon {}\ndaemon {}\n", wantErr: "Duplicate daemon block"},
		{name: "cap below base", src: "daemon {\n  backoff_cap = \"1ms\"\n}\n", wantErr: "backoff_cap must not be less"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := Parse([]byte(tt.src), "clockwork.hcl")
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.wantErr) {
					t.Fatalf("diags = %v, want an error containing %q", diags, tt.wantErr)
				}
				if diff := cmp.Diff(Default(), got); diff != "" {
					t.Errorf("policy on error is not Default (-want +got):\n%s", diff)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diags: %v", diags)
			}
			want := Default()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	p, diags := Load(t.TempDir())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diff := cmp.Diff(Default(), p); diff != "" {
		t.Error(diff)
	}
}

func TestLoadDiagnosticPointsAtFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("daemon {\n  cooldown = 5\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := Load(dir)
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Filename != FileName || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("want an error at clockwork.hcl:2, got %v", diags)
	}
}

func TestDecide(t *testing.T) {
	p := Default()
	tests := map[string]Decision{
		"retries": Auto, "timeout": Auto, "health_check": Auto, "logging": Auto,
		"ports": Approval, "mounts": Approval, "volumes": Approval, "privileges": Approval, "image": Approval,
		"destroy": Never, "secrets": Never, "something-else": Never,
	}
	for kind, want := range tests {
		t.Run(kind, func(t *testing.T) {
			if got := p.Decide(kind); got != want {
				t.Errorf("Decide(%q) = %v, want %v", kind, got, want)
			}
		})
	}
	// Even a hand-built policy cannot make destroy automatic.
	p.AutoApply = append(p.AutoApply, KindDestroy)
	if p.Decide(KindDestroy) != Never {
		t.Error("destroy became automatic")
	}
}

func TestDescribe(t *testing.T) {
	var b strings.Builder
	Default().Describe(&b)
	for _, want := range []string{"at most 2 automatic fixes", "10m0s cooldown", "ports         .cw patch       needs approval", "retries       artifact patch  automatic", "destroy       operation       never automatic"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Describe output lacks %q:\n%s", want, b.String())
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("daemon {\n  cooldown = \"1m\"\n  auto_apply = [\"retries\"]\n}\n"))
	f.Add([]byte("compiler {}\ndaemon {\n  max_fixes_per_hour = 3\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, diags := Parse(src, "clockwork.hcl")
		if p.Decide(KindDestroy) != Never || p.Decide(KindSecrets) != Never {
			t.Fatal("destroy or secrets became automatic")
		}
		if !diags.HasErrors() && (p.BackoffBase <= 0 || p.BackoffCap < p.BackoffBase || p.ReconcileAttempts < 1) {
			t.Fatalf("accepted an unusable policy: %+v", p)
		}
	})
}
