package runner_test

import (
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/runner"
	"github.com/clockwork-iac/clockwork/internal/runner/runnertest"
)

func TestLocalConformance(t *testing.T) {
	runnertest.Run(t, func(t *testing.T) runner.Runner {
		return &runner.Local{Grace: 500 * time.Millisecond}
	})
}
