package openai

import (
	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// defaultValidate is used when Config.Validate is nil: forge's validator
// with the default policy.
func defaultValidate(b *contract.Bundle, al *contract.ActionList) error {
	return forge.Validate(b, al, forge.DefaultPolicy())
}
