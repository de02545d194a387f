package daemon

import (
	"context"
	"errors"
)

// Pipeline is what the daemon needs from intake, assembly and forge. The CLI
// implements it over the real stages; the daemon never touches state,
// bundles or runners except through it. Methods are called from one
// goroutine at a time (the pass), never concurrently.
type Pipeline interface {
	// Plan runs intake and assembly over the configuration directory and
	// returns the desired resources. A configuration with errors returns a
	// non-nil error; PlanResult may still be returned to carry the
	// Diagnostics. The daemon then keeps the last good plan. Diagnostics with
	// a nil error are warnings.
	//
	// Plan must not change anything on disk except caches.
	Plan(ctx context.Context) (*PlanResult, error)

	// Apply builds the bundle if needed and runs the steps of the target
	// resources (like `clockwork apply --target`), recording state after
	// every step. It runs the last good configuration: when the .cw has
	// errors it re-runs the bundle that was last built from a valid one.
	// When ctx is cancelled it stops dispatching and drains running steps
	// before returning. An error wrapping ErrBusy (the state lock is held by
	// a manual apply) is not counted against any resource.
	Apply(ctx context.Context, targets []string) (*ApplyResult, error)

	// Observe reports the health of every resource it can observe: verify
	// steps (HTTP, TCP, file, command checks), service process liveness,
	// container inspect (running, expected config hash). Resources it
	// cannot observe are left out and count as healthy.
	Observe(ctx context.Context) ([]Observation, error)

	// PatchArtifact changes one step of the current bundle as described,
	// validates the bundle exactly as forge validates any bundle, and writes
	// it. The .cw files are not touched. It returns a short description of
	// the change ("retries 1 -> 3"); an error wrapping ErrNoPatch when the
	// requested change makes no sense for the step (already at the maximum,
	// no health check).
	PatchArtifact(ctx context.Context, p ArtifactPatch) (string, error)
}

// ErrBusy is wrapped by a Pipeline error when the state lock is held by
// someone else (a manual `clockwork apply`); the pass is retried later.
var ErrBusy = errors.New("state is locked by another operation")

// ErrNoPatch is wrapped by PatchArtifact when it cannot make the requested
// change; the daemon goes on to the next rule (a runbook).
var ErrNoPatch = errors.New("no artifact patch applies")

// PlanResult is the desired state as a pass sees it.
type PlanResult struct {
	// Resources in ActionList order.
	Resources []ResourceInfo
	// Diagnostics as text, one per problem, file:line:col first.
	Diagnostics []string
	// Fingerprint of the ActionList.
	Fingerprint string
}

// ResourceInfo is one resource of the plan.
type ResourceInfo struct {
	Addr string // "service.web"
	Type string // "service"
	// Kind is "process" or "container" for services, "" otherwise.
	Kind string
	// Changed is true when the plan has create or update steps for it.
	Changed bool
	// Destroy is true when the plan deletes it (removed from the .cw). The
	// daemon never applies a destroy; it writes a runbook.
	Destroy bool
	// File is the .cw file (relative to the configuration directory) that
	// declares it; "" when unknown. Used to write .cw proposals.
	File string
	// Ports are the external ports the resource declares, if any; the daemon
	// checks them when a start fails with "address in use".
	Ports []int
}

// ApplyResult lists what happened to each step, in ActionList order.
type ApplyResult struct {
	Results []StepOutcome
}

// StepOutcome is one step's result.
type StepOutcome struct {
	StepID   string // "service.web/ensure_service"
	Resource string // "service.web"
	// Status is "ok", "failed" or "skipped" (a dependency failed).
	Status string
	// Err is the failure in one line; "" when ok.
	Err string
	// LogTail is the end of the step's log (already masked by the executor).
	LogTail string
}

// Observation is the observed health of one resource.
type Observation struct {
	Resource string
	Healthy  bool
	// Detail says what was seen: "process 4242 exited (signal: killed)",
	// "GET http://127.0.0.1:8080/ : connection refused".
	Detail string
	// StepID is the verify step that failed, if one did.
	StepID string
}

// ArtifactPatch asks the pipeline to change one step of the bundle.
type ArtifactPatch struct {
	Resource string
	// StepID is the step to change: the failing one.
	StepID string
	// Kind is policy.KindRetries (raise the step's retries, e.g. to twice
	// the current value, at least 3), policy.KindTimeout (double the step's
	// timeout), policy.KindHealthCheck (double the health check's grace:
	// retries x interval of the verify step) or policy.KindLogging (keep more
	// of the step's log).
	Kind string
	// Reason is what the daemon saw, for the bundle's manifest or a log.
	Reason string
	// LogTail is the failing step's log, for a compiler asked to regenerate
	// the script.
	LogTail string
}
