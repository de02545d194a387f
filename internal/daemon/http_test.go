package daemon

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

const webCW = `# web front
resource "service" "web" {
  ports = [{ external = 18080 }] # keep me
}
`

// serverWithProposal runs a daemon (one pass done) with a pending proposal
// and serves its Handler.
func serverWithProposal(t *testing.T) (*Daemon, *httptest.Server, string, *Proposal) {
	t.Helper()
	dir := t.TempDir()
	writeCW(t, filepath.Join(dir, "main.cw"), webCW)
	p := newFake(web)
	d, stop := startDaemon(t, dir, p, nil, nil)
	t.Cleanup(stop)
	waitFor(t, "the first pass", 5*time.Second, func() bool { return d.Status().LastPass != nil })
	prop, err := writeProposal(dir, time.Now(), proposalRequest{Resource: "service.web", Kind: "ports", File: "main.cw",
		Block: "resource.service.web", Path: []string{"ports", "0", "external"}, Value: cty.NumberIntVal(18081), Reason: "port 18080 is taken"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	return d, srv, dir, prop
}

func TestHTTPReadEndpoints(t *testing.T) {
	_, srv, _, prop := serverWithProposal(t)
	tests := []struct {
		path, contentType string
		want              []string
	}{
		{"/healthz", "text/plain", []string{"ok"}},
		{"/metrics", "text/plain", []string{"clockwork_daemon_passes_total{result=\"ok\"} 1", "clockwork_daemon_pass_duration_seconds_bucket", "clockwork_daemon_reconciles_total{result=\"failed\"} 0", "clockwork_daemon_fixes_total{kind=\"artifact\"} 0", "clockwork_daemon_budget_exhausted_total 0", "clockwork_daemon_drift_found_total 0"}},
		{"/api/status", "application/json", []string{`"addr": "service.web"`, `"health": "healthy"`, `"id": "` + prop.ID + `"`, `"drift": []`}},
		{"/", "text/html", []string{"service.web", "approve-" + prop.ID, "port 18080 is taken", "+  ports = [{ external = 18081 }] # keep me"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			body := html.UnescapeString(string(raw))
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q:\n%.2000s", tt.path, w, body)
				}
			}
		})
	}
	var st Status
	resp, err := http.Get(srv.URL + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Resources) != 1 || len(st.Proposals) != 1 || st.LastPass == nil {
		t.Errorf("status = %+v", st)
	}
}

func TestHTTPDecideNeedsToken(t *testing.T) {
	d, srv, dir, prop := serverWithProposal(t)
	post := func(path string, header map[string]string, form url.Values) int {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	approve := "/api/proposals/" + prop.ID + "/approve"
	tests := []struct {
		name   string
		path   string
		header map[string]string
		form   url.Values
		want   int
	}{
		{"no token", approve, nil, nil, http.StatusForbidden},
		{"wrong token", approve, map[string]string{CSRFHeader: "nope"}, nil, http.StatusForbidden},
		{"cross-site form with the right token", approve, map[string]string{"Sec-Fetch-Site": "cross-site"}, url.Values{"token": {d.csrf}}, http.StatusForbidden},
		{"unknown proposal", "/api/proposals/0000aaaa/approve", map[string]string{CSRFHeader: d.csrf}, nil, http.StatusNotFound},
		{"unknown action", "/api/proposals/" + prop.ID + "/merge", map[string]string{CSRFHeader: d.csrf}, nil, http.StatusNotFound},
		{"approve with header", approve, map[string]string{CSRFHeader: d.csrf}, nil, http.StatusOK},
		{"approve twice", approve, map[string]string{CSRFHeader: d.csrf}, nil, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(tt.path, tt.header, tt.form); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	b, _ := os.ReadFile(filepath.Join(dir, "main.cw"))
	if !strings.Contains(string(b), "external = 18081 }] # keep me") || !strings.HasPrefix(string(b), "# web front") {
		t.Errorf("main.cw after approve:\n%s", b)
	}
}
