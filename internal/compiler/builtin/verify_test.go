package builtin

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

// freePort returns a port on 127.0.0.1 that nothing listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestVerifyHTTP(t *testing.T) {
	var flaky atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello world") })
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, "short and stout")
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) <= 2 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ready")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	local := localFacts(t)
	variants := []struct {
		name  string
		facts *facts.Facts
		lang  string
	}{
		{"python3", local, langPython},
		{"bash", withoutPython(local), langBash},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			tests := []struct {
				name string
				args map[string]any
				ok   bool
				want string
			}{
				{name: "200", args: map[string]any{"url": srv.URL + "/ok"}, ok: true, want: "answered 200"},
				{name: "body matches", args: map[string]any{"url": srv.URL + "/ok", "expect_body": "lo wor"}, ok: true, want: "answered 200"},
				{name: "expected 418", args: map[string]any{"url": srv.URL + "/teapot", "expect_status": int64(418)}, ok: true, want: "answered 418"},
				{name: "wrong status", args: map[string]any{"url": srv.URL + "/teapot", "interval": int64(0)}, want: "status 418, want 200; body: short and stout"},
				{name: "body mismatch", args: map[string]any{"url": srv.URL + "/ok", "expect_body": "goodbye"}, want: "does not contain"},
				{name: "redirect not followed", args: map[string]any{"url": srv.URL + "/moved"}, want: "status 302, want 200"},
				{name: "nothing listens", args: map[string]any{"url": fmt.Sprintf("http://127.0.0.1:%d/", freePort(t)), "retries": int64(1), "interval": 0.1}, want: "after 2 attempts"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s := newSandbox(t)
					st := step("check.h", contract.StepVerifyHTTP, tt.args)
					b := s.compile(t, v.facts, st)
					if b.Artifacts[0].Lang != v.lang {
						t.Fatalf("lang = %s; want %s", b.Artifacts[0].Lang, v.lang)
					}
					r := s.run(t, b, st.ID)
					if tt.ok {
						r.ok(t).says(t, tt.want)
					} else {
						r.fails(t, tt.want)
					}
				})
			}

			t.Run("retries until ready", func(t *testing.T) {
				flaky.Store(0)
				s := newSandbox(t)
				st := step("check.h", contract.StepVerifyHTTP, map[string]any{"url": srv.URL + "/flaky", "retries": int64(3), "interval": 0.1})
				b := s.compile(t, v.facts, st)
				s.run(t, b, st.ID).ok(t).says(t, "answered 200 (attempt 3/4)")
			})

			t.Run("server comes up", func(t *testing.T) {
				port := freePort(t)
				go func() {
					time.Sleep(500 * time.Millisecond)
					ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
					if err != nil {
						return
					}
					late := &http.Server{Handler: mux}
					t.Cleanup(func() { late.Close() })
					late.Serve(ln)
				}()
				s := newSandbox(t)
				st := step("check.h", contract.StepVerifyHTTP, map[string]any{
					"url": fmt.Sprintf("http://127.0.0.1:%d/ok", port), "retries": int64(20), "interval": 0.2, "timeout": int64(2)})
				b := s.compile(t, v.facts, st)
				s.run(t, b, st.ID).ok(t).says(t, "answered 200")
			})
		})
	}
}

func TestVerifyTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	f := localFacts(t)
	tests := []struct {
		name, address, want string
		ok                  bool
	}{
		{name: "listening", address: ln.Addr().String(), ok: true, want: "accepts connections (attempt 1/3)"},
		{name: "closed", address: fmt.Sprintf("127.0.0.1:%d", freePort(t)), want: "after 3 attempts: no connection"},
		{name: "not an address", address: "localhost", want: "is not host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			st := step("check.t", contract.StepVerifyTCP, map[string]any{"address": tt.address, "retries": int64(2), "interval": 0.1, "timeout": int64(1)})
			b := s.compile(t, f, st)
			r := s.run(t, b, st.ID)
			if tt.ok {
				r.ok(t).says(t, tt.want)
			} else {
				r.fails(t, tt.want)
			}
		})
	}
}
