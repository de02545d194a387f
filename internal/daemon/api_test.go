package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestEventString(t *testing.T) {
	e := Event{Time: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC), Pass: 12, Resource: "service.web", Kind: EventProposal,
		Seen: "bind: address already in use\nagain", Rule: "fix 2", Result: "waits", Ref: "ab12cd34"}
	want := "2026-11-26T03:00:00Z #12 proposal service.web: bind: address already in use / again | fix 2 | waits [ab12cd34]"
	if got := e.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	var b strings.Builder
	WriteProposal(&b, Proposal{ID: "ab12cd34", Status: ProposalPending, Resource: "service.web", Kind: "ports", Reason: "taken", Diff: "--- a/main.cw\n+++ b/main.cw\n"})
	if !strings.Contains(b.String(), "proposal ab12cd34 (pending) for service.web") || !strings.Contains(b.String(), "  +++ b/main.cw") {
		t.Errorf("WriteProposal:\n%s", b.String())
	}
}
