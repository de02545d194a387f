package cli

import (
	"fmt"
	"path/filepath"

	"github.com/clockwork-iac/clockwork/internal/compiler/builtin"
	"github.com/clockwork-iac/clockwork/internal/compiler/openai"
	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// compiler returns the compiler chosen by --compiler (default builtin).
// The AI compiler is configured from CLOCKWORK_AI_* (or OPENAI_*) variables.
func (a *app) compiler(c *common) (forge.Compiler, error) {
	switch c.compiler {
	case "", "builtin":
		return builtin.New(), nil
	case "openai", "ai":
		cfg, err := openai.ConfigFromEnv(a.stdio.Environ)
		if err != nil {
			return nil, fmt.Errorf("--compiler openai: %w", err)
		}
		cfg.MaxRepairs = c.aiRepairs
		if c.aiMode != "" {
			cfg.Mode = c.aiMode
		}
		cfg.AgentDir = filepath.Join(c.chdir, ".clockwork", "build", "agent")
		cfg.Fallback = builtin.New()
		p := forge.DefaultPolicy()
		if len(c.allowlist) > 0 {
			p.Allowlist = c.allowlist
			cfg.Allowlist = c.allowlist
		}
		cfg.Validate = func(b *contract.Bundle, al *contract.ActionList) error { return forge.Validate(b, al, p) }
		return openai.New(cfg), nil
	}
	return nil, fmt.Errorf("unknown compiler %q (use builtin or openai)", c.compiler)
}
