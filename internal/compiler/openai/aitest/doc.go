// Package aitest is a fake OpenAI-compatible chat completions endpoint for
// tests: an in-process httptest server that replays scripted answers and
// records every request it saw.
//
// Invariants: answers are served in order, the last one repeating once the
// script runs out; every HTTP request (retries included) is one recorded
// call; the server never reaches the network.
//
// Use from a testscript: start the server in the Go test function, hand its
// URL to the scripts through Setup, and script the answers:
//
//	srv := aitest.NewServer(t, aitest.Bash(func(st contract.Step) string { ... }))
//	testscript.Run(t, testscript.Params{Dir: "testdata/script", Setup: func(e *testscript.Env) error {
//		e.Setenv("CLOCKWORK_AI_BASE_URL", srv.URL())
//		e.Setenv("CLOCKWORK_AI_MODEL", "fake")
//		return nil
//	}})
package aitest
