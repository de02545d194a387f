package cli

import (
	"fmt"

	"github.com/clockwork-iac/clockwork/internal/compiler/builtin"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// compiler returns the compiler chosen by --compiler (default builtin).
func (a *app) compiler(c *common) (forge.Compiler, error) {
	switch c.compiler {
	case "", "builtin":
		return builtin.New(), nil
	}
	return nil, fmt.Errorf("unknown compiler %q (use builtin or openai)", c.compiler)
}
