package aitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Answer is one scripted reply.
type Answer struct {
	// Status is the HTTP status (0: 200).
	Status int
	// Content is the assistant message of a 200 answer.
	Content string
	// FinishReason of a 200 answer ("" : "stop").
	FinishReason string
	// Body, when set, is sent verbatim instead of a chat completion (for
	// error answers), with content type application/json.
	Body string
	// Header is added to the response (e.g. Retry-After-Ms).
	Header map[string]string
	// Delay holds the answer back (a hang); the handler gives up when the
	// client goes away.
	Delay time.Duration
	// Func, when set, computes the answer from the request instead.
	Func func(Request) Answer
}

// Request is what the server saw in one call.
type Request struct {
	Path   string
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Model, Messages and ResponseFormat are decoded from Body.
	Model          string
	Messages       []Message
	ResponseFormat json.RawMessage
}

// Message is one chat message of a request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Server is the fake endpoint.
type Server struct {
	srv *httptest.Server

	mu      sync.Mutex // guards answers, next and calls
	answers []Answer
	next    int
	calls   []Request
}

// NewServer starts a fake endpoint replaying answers in order (the last
// repeats); it is closed when the test ends.
func NewServer(t testing.TB, answers ...Answer) *Server {
	t.Helper()
	s := &Server{answers: answers}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL to configure (CLOCKWORK_AI_BASE_URL), ending in /v1.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// Calls returns the requests seen so far, in order.
func (s *Server) Calls() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.calls...)
}

// Push appends answers to the script.
func (s *Server) Push(answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, answers...)
}

// Content is a 200 answer whose assistant message is content.
func Content(content string) Answer { return Answer{Content: content} }

// Error is an OpenAI-style error answer.
func Error(status int, code, message string) Answer {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": "invalid_request_error", "param": nil, "code": code,
	}})
	return Answer{Status: status, Body: string(body)}
}

// ModelNotFound is what OpenAI answers for a model it does not serve.
func ModelNotFound(model string) Answer {
	return Error(http.StatusNotFound, "model_not_found", fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model))
}

// ResponseFormatUnsupported is a 400 as endpoints without structured
// output send it when the request has a json_schema response_format; a
// request without one gets next instead.
func ResponseFormatUnsupported(next Answer) Answer {
	return Answer{Func: func(r Request) Answer {
		if len(r.ResponseFormat) > 0 && string(r.ResponseFormat) != "null" {
			return Error(http.StatusBadRequest, "invalid_request_error", "response_format type json_schema is not supported by this server")
		}
		return next
	}}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	var decoded struct {
		Model          string          `json:"model"`
		Messages       []Message       `json:"messages"`
		ResponseFormat json.RawMessage `json:"response_format"`
	}
	if err := json.Unmarshal(body, &decoded); err == nil {
		req.Model, req.Messages, req.ResponseFormat = decoded.Model, decoded.Messages, decoded.ResponseFormat
	}

	s.mu.Lock()
	s.calls = append(s.calls, req)
	var a Answer
	switch {
	case len(s.answers) == 0:
		a = Error(http.StatusInternalServerError, "", "aitest: no answer scripted")
	case s.next < len(s.answers):
		a = s.answers[s.next]
		s.next++
	default:
		a = s.answers[len(s.answers)-1]
	}
	s.mu.Unlock()

	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.Error(w, `{"error":{"message":"aitest: only POST .../chat/completions is served"}}`, http.StatusNotFound)
		return
	}
	for a.Func != nil {
		a = a.Func(req)
	}
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	if a.Body != "" {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, a.Body)
		return
	}
	finish := a.FinishReason
	if finish == "" {
		finish = "stop"
	}
	out, _ := json.Marshal(map[string]any{
		"id":      "chatcmpl-aitest",
		"object":  "chat.completion",
		"created": 0,
		"model":   req.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": a.Content, "refusal": nil},
			"finish_reason": finish,
			"logprobs":      nil,
		}},
		"usage": map[string]any{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
	})
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
