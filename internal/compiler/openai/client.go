package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// attempts records what the transport saw during one logical call (openai-go
// retries inside it): how many HTTP attempts were made and the status and
// body of the last one. Guarded by mu; one per call.
type attempts struct {
	mu     sync.Mutex
	count  int
	status int
	body   string
}

func (a *attempts) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count++
	a.status, a.body = 0, ""
	if res != nil {
		a.status = res.StatusCode
		if res.StatusCode >= 400 && res.Body != nil {
			b, rerr := io.ReadAll(io.LimitReader(res.Body, 64<<10))
			_ = res.Body.Close()
			if rerr == nil {
				a.body = string(b)
			}
			res.Body = io.NopCloser(strings.NewReader(a.body))
		}
	}
	return res, err
}

func (a *attempts) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count, a.status, a.body = 0, 0, ""
}

func (a *attempts) snapshot() (count, status int, body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.count, a.status, a.body
}

// newClient builds the openai-go client from the config.
func (c *Compiler) newClient(rec *attempts) oai.Client {
	opts := []option.RequestOption{
		option.WithBaseURL(c.cfg.BaseURL + "/"),
		option.WithMaxRetries(c.cfg.MaxRetries),
		option.WithRequestTimeout(c.cfg.Timeout),
		option.WithMiddleware(rec.middleware),
	}
	if c.cfg.MaxRetryDelay > 0 {
		opts = append(opts, option.WithMaxRetryDelay(c.cfg.MaxRetryDelay))
	}
	// Always set the key, even empty, so an OPENAI_API_KEY in the process
	// environment never reaches an endpoint the user did not give it to.
	opts = append(opts, option.WithAPIKey(c.cfg.APIKey))
	if c.cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.cfg.HTTPClient))
	}
	return oai.NewClient(opts...)
}

// EndpointError is a request the endpoint did not answer usefully: it was
// unreachable, timed out, refused the key, does not serve the model, or
// failed after every retry. Nothing was compiled.
type EndpointError struct {
	URL    string
	Status int // HTTP status of the last attempt; 0 when there was none
	// Attempts is the number of HTTP requests made (retries included).
	Attempts int
	Msg      string
	Err      error
}

func (e *EndpointError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *EndpointError) Unwrap() error { return e.Err }

// errResponseFormat marks a 400 that rejects response_format: the caller
// retries the call in plain JSON mode.
var errResponseFormat = errors.New("the endpoint does not support response_format json_schema")

// classify turns an error of Chat.Completions.New into a clear one.
func (c *Compiler) classify(ctx context.Context, err error, rec *attempts) error {
	url := c.cfg.BaseURL
	n, status, body := rec.snapshot()
	if ctx.Err() != nil {
		return fmt.Errorf("asking the model at %s: %w", url, ctx.Err())
	}
	var apiErr *oai.Error
	if status == 0 && errors.As(err, &apiErr) {
		status = apiErr.StatusCode
	}
	msg := apiMessage(err, body)
	tries := ""
	if n > 1 {
		tries = fmt.Sprintf(" after %d attempts", n)
	}
	e := &EndpointError{URL: url, Status: status, Attempts: n, Err: err}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.Msg = fmt.Sprintf("the model endpoint at %s did not answer within %s", url, c.cfg.Timeout)
		e.Err = nil
	case status == 0:
		e.Msg = fmt.Sprintf("cannot reach the model endpoint at %s%s", url, tries)
	case mentionsResponseFormat(status, msg):
		return errResponseFormat
	case isModelNotFound(status, msg) || strings.Contains(body, "model_not_found"):
		e.Msg = fmt.Sprintf("model %q is not served by %s (%d: %s); set %s to a model the endpoint lists", c.cfg.Model, url, status, msg, EnvModel)
		e.Err = nil
	case status == http.StatusNotFound:
		e.Msg = fmt.Sprintf("%s has no chat completions API (404 for %s/chat/completions); the base URL usually ends in /v1", url, url)
		e.Err = nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Msg = fmt.Sprintf("the model endpoint at %s refused the API key (%d: %s); set %s or %s", url, status, msg, EnvAPIKey, EnvOpenAIAPIKey)
		e.Err = nil
	case status == http.StatusTooManyRequests:
		e.Msg = fmt.Sprintf("the model endpoint at %s is rate limiting (429)%s: %s", url, tries, msg)
		e.Err = nil
	case status >= 500:
		e.Msg = fmt.Sprintf("the model endpoint at %s failed (%d)%s: %s", url, status, tries, msg)
		e.Err = nil
	default:
		e.Msg = fmt.Sprintf("the model endpoint at %s rejected the request (%d): %s", url, status, msg)
		e.Err = nil
	}
	return e
}

// apiMessage extracts the error message from an OpenAI-style body
// ({"error": {"message": ...}}), an Ollama-style one ({"error": "..."}) or
// plain text.
func apiMessage(err error, body string) string {
	var doc map[string]any
	if json.Unmarshal([]byte(body), &doc) == nil {
		if inner, ok := doc["error"].(map[string]any); ok {
			doc = inner
		}
		for _, k := range []string{"message", "error", "detail"} {
			if s, ok := doc[k].(string); ok && s != "" {
				return s
			}
		}
	}
	if s := strings.TrimSpace(body); s != "" && !strings.HasPrefix(s, "{") {
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		return s
	}
	var apiErr *oai.Error
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return apiErr.Message
	}
	if err != nil {
		return err.Error()
	}
	return "no message"
}

func mentionsResponseFormat(status int, msg string) bool {
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity && status != http.StatusNotImplemented {
		return false
	}
	m := strings.ToLower(msg)
	// Wide on purpose: a 400 about anything schema-like is most likely our
	// response_format; the worst case is one plain request more.
	return strings.Contains(m, "response_format") || strings.Contains(m, "schema") ||
		strings.Contains(m, "response format") || strings.Contains(m, "structured output") ||
		strings.Contains(m, "grammar")
}

func isModelNotFound(status int, msg string) bool {
	m := strings.ToLower(msg)
	if strings.Contains(m, "model_not_found") {
		return true
	}
	if status != http.StatusNotFound && status != http.StatusBadRequest {
		return false
	}
	return strings.Contains(m, "model") &&
		(strings.Contains(m, "not found") || strings.Contains(m, "does not exist") ||
			strings.Contains(m, "not exist") || strings.Contains(m, "unknown") || strings.Contains(m, "no such"))
}
