package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// fakePipeline is the caller's dependency for testing the loop: resources
// whose health the test controls, and records of every call.
type fakePipeline struct {
	mu        sync.Mutex
	plan      func() (*PlanResult, error)
	resources []ResourceInfo
	healthy   map[string]bool
	detail    map[string]string
	// apply decides each target's outcome; nil: the target becomes healthy.
	apply func(target string) StepOutcome
	// applyErr is returned by Apply (whole call failed).
	applyErr error

	applies    [][]string
	applyTimes []time.Time
	patches    []ArtifactPatch
	patchTimes []time.Time
	plans      int
	onPlan     func()
}

var _ Pipeline = (*fakePipeline)(nil)

func newFake(resources ...ResourceInfo) *fakePipeline {
	f := &fakePipeline{resources: resources, healthy: map[string]bool{}, detail: map[string]string{}}
	for _, r := range resources {
		f.healthy[r.Addr] = true
	}
	return f
}

func (f *fakePipeline) Plan(ctx context.Context) (*PlanResult, error) {
	f.mu.Lock()
	f.plans++
	hook, plan := f.onPlan, f.plan
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	if plan != nil {
		return plan()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &PlanResult{Resources: slices.Clone(f.resources), Fingerprint: "sha256:test"}, nil
}

func (f *fakePipeline) Apply(ctx context.Context, targets []string) (*ApplyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies = append(f.applies, slices.Clone(targets))
	f.applyTimes = append(f.applyTimes, time.Now())
	if f.applyErr != nil {
		return nil, f.applyErr
	}
	res := &ApplyResult{}
	for _, t := range targets {
		o := StepOutcome{StepID: t + "/ensure_service", Resource: t, Status: "ok"}
		if f.apply != nil {
			o = f.apply(t)
		}
		if o.Status == "ok" {
			f.healthy[t] = true
			f.detail[t] = ""
		}
		res.Results = append(res.Results, o)
	}
	return res, nil
}

func (f *fakePipeline) Observe(ctx context.Context) ([]Observation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Observation
	for _, r := range f.resources {
		out = append(out, Observation{Resource: r.Addr, Healthy: f.healthy[r.Addr], Detail: f.detail[r.Addr]})
	}
	return out, nil
}

func (f *fakePipeline) PatchArtifact(ctx context.Context, p ArtifactPatch) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.patches = append(f.patches, p)
	f.patchTimes = append(f.patchTimes, time.Now())
	return fmt.Sprintf("%s of %s doubled", p.Kind, p.StepID), nil
}

// kill marks a resource unhealthy, as a crashed process.
func (f *fakePipeline) kill(addr, detail string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.healthy[addr] = false
	f.detail[addr] = detail
}

func (f *fakePipeline) snapshot() (applies [][]string, applyTimes []time.Time, patches []ArtifactPatch, patchTimes []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applies), slices.Clone(f.applyTimes), slices.Clone(f.patches), slices.Clone(f.patchTimes)
}
