package daemon

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoff(t *testing.T) {
	b := backoff{base: time.Second, cap: 10 * time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Failure())
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("delays (-want +got):\n%s", d)
	}
	b.Forget()
	if d := b.Failure(); d != time.Second {
		t.Errorf("after Forget: %v, want 1s", d)
	}
	huge := backoff{base: time.Second, cap: 5 * time.Minute, failures: 200}
	if d := huge.delay(); d != 5*time.Minute {
		t.Errorf("200 failures: %v, want the cap", d)
	}
}

func TestBudget(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	type check struct {
		at    time.Duration
		spend bool
		ok    bool
		why   string
		until time.Duration
	}
	tests := []struct {
		name   string
		max    int
		cool   time.Duration
		checks []check
	}{
		{name: "two per hour with cooldown", max: 2, cool: 10 * time.Minute, checks: []check{
			{at: 0, ok: true, spend: true},
			{at: 5 * time.Minute, why: "cooldown", until: 10 * time.Minute},
			{at: 10 * time.Minute, ok: true, spend: true},
			{at: 25 * time.Minute, why: "budget", until: 60 * time.Minute},
			{at: 59 * time.Minute, why: "budget", until: 60 * time.Minute},
			{at: 60 * time.Minute, ok: true, spend: true},
			{at: 65 * time.Minute, why: "budget", until: 70 * time.Minute},
		}},
		{name: "zero budget", max: 0, cool: time.Minute, checks: []check{
			{at: 0, why: "budget"},
		}},
		{name: "no cooldown", max: 3, cool: 0, checks: []check{
			{at: 0, ok: true, spend: true}, {at: 0, ok: true, spend: true}, {at: 1, ok: true, spend: true},
			{at: 2, why: "budget", until: time.Hour},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := budget{max: tt.max, cooldown: tt.cool}
			for _, c := range tt.checks {
				now := t0.Add(c.at)
				ok, why, until := b.Allow(now)
				if ok != c.ok || why != c.why || (c.until != 0 && !until.Equal(t0.Add(c.until))) {
					t.Errorf("at %v: Allow = %v %q %v, want %v %q %v", c.at, ok, why, until.Sub(t0), c.ok, c.why, c.until)
				}
				if c.spend {
					b.Spend(now)
				}
			}
		})
	}
}
