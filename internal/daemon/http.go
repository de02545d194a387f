package daemon

import (
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed status.html.tmpl
var statusPageSrc string

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"join": strings.Join,
}).Parse(statusPageSrc))

// CSRFHeader carries the page's token on API calls that change something;
// a form post carries it in the "token" field instead.
const CSRFHeader = "X-Clockwork-Token"

// Handler serves the daemon's HTTP API and status page:
//
//	GET  /healthz                        "ok"
//	GET  /metrics                        Prometheus text format
//	GET  /api/status                     Status as JSON
//	POST /api/proposals/{id}/approve     apply a pending .cw proposal
//	POST /api/proposals/{id}/reject      reject it
//	GET  /                               the status page
//
// The POST endpoints need the token the page embeds (form field "token" or
// the X-Clockwork-Token header, as served in /api/status's page) and refuse
// cross-origin browser requests.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", d.metrics.handler())
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("POST /api/proposals/{id}/{action}", d.decide)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		data := struct {
			Status
			Token   string
			Message string
		}{Status: d.Status(), Token: d.csrf, Message: r.URL.Query().Get("msg")}
		if err := statusPage.Execute(w, data); err != nil {
			d.log.Error("status page", "err", err)
		}
	})
	cop := http.NewCrossOriginProtection()
	return cop.Handler(mux)
}

func (d *Daemon) decide(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	form := r.Header.Get(CSRFHeader) == ""
	tok := r.Header.Get(CSRFHeader)
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		tok = r.PostFormValue("token")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(d.csrf)) != 1 {
		http.Error(w, "missing or wrong token: reload the status page", http.StatusForbidden)
		return
	}
	var (
		p   *Proposal
		err error
	)
	switch action {
	case "approve":
		p, err = Approve(d.cfg.Dir, id)
	case "reject":
		p, err = Reject(d.cfg.Dir, id)
	default:
		http.NotFound(w, r)
		return
	}
	status := http.StatusOK
	msg := "proposal " + id + " " + action + "d"
	switch {
	case errors.Is(err, ErrNoProposal):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, ErrNotPending), errors.Is(err, ErrStale):
		status, msg = http.StatusConflict, err.Error()
	case err != nil:
		status, msg = http.StatusInternalServerError, err.Error()
	}
	if err == nil {
		d.record(Event{Resource: p.Resource, Kind: EventProposal, Seen: "proposal " + action + "d through the status page", Rule: "a person decided", Result: p.Status, Ref: id})
		d.Trigger("proposal " + id + " " + p.Status)
	}
	if form {
		http.Redirect(w, r, "/?msg="+template.URLQueryEscaper(msg), http.StatusSeeOther)
		return
	}
	if err != nil {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	writeJSON(w, status, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
