package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/clockwork-iac/clockwork/internal/sandbox"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"clockwork": func() { os.Exit(run()) },
	})
}

// TestScripts runs the txtar scenarios in testdata/script against the real
// binary entry point (in-process re-exec of this test binary).
func TestScripts(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("COMPAT", filepath.Join(repo, "..", "shared", "compat", "clockwork-v0.1-examples"))
			for _, k := range []string{"DOCKER_HOST", "CONTAINERS_CONF"} {
				if v := os.Getenv(k); v != "" {
					env.Setenv(k, v)
				}
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "compat":
				_, err := os.Stat(filepath.Join(repo, "..", "shared", "compat", "clockwork-v0.1-examples"))
				return err == nil, nil
			case "landlock":
				_, ok, _ := sandbox.Status()
				return ok, nil
			case "engine":
				if os.Getenv("DOCKER_HOST") == "" && os.Getenv("CW_REQUIRE_ENGINE") == "1" {
					return false, fmt.Errorf("CW_REQUIRE_ENGINE=1 but DOCKER_HOST is not set: run scripts/setup-podman.sh")
				}
				return os.Getenv("DOCKER_HOST") != "", nil
			}
			return false, nil
		},
	})
}
