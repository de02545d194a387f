package openai

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// Modes of compilation.
const (
	// ModeWhole sends the whole ActionList to the model (the default).
	ModeWhole = "whole"
	// ModeMixed compiles with the fallback (built-in) compiler every step it
	// supports and sends only the rest (such as `custom` task steps) to the model.
	ModeMixed = "mixed"
)

// Defaults.
const (
	DefaultBaseURL    = "https://api.openai.com/v1"
	DefaultTimeout    = 120 * time.Second
	DefaultMaxRepairs = 2
	DefaultMaxRetries = 3
)

// Environment variables read by ConfigFromEnv.
const (
	EnvBaseURL       = "CLOCKWORK_AI_BASE_URL"
	EnvModel         = "CLOCKWORK_AI_MODEL"
	EnvAPIKey        = "CLOCKWORK_AI_API_KEY"
	EnvMode          = "CLOCKWORK_AI_MODE"
	EnvTimeout       = "CLOCKWORK_AI_TIMEOUT"
	EnvOpenAIBaseURL = "OPENAI_BASE_URL"
	EnvOpenAIAPIKey  = "OPENAI_API_KEY"
)

// ErrNoModel is returned by ConfigFromEnv when no model is named.
var ErrNoModel = errors.New(EnvModel + " is not set: name the model the endpoint serves (for example gpt-4o-mini, llama3.1:8b)")

// Config configures the AI compiler.
type Config struct {
	// BaseURL of the OpenAI-compatible API, usually ending in /v1.
	BaseURL string
	// Model the endpoint serves. Required.
	Model string
	// APIKey sent as a bearer token; empty for local servers that need none.
	// It is never logged nor written anywhere.
	APIKey string
	// Timeout per request (default DefaultTimeout).
	Timeout time.Duration
	// MaxRepairs is how many times an invalid answer is sent back to the
	// model with the validator's findings (ConfigFromEnv: DefaultMaxRepairs).
	// Taken literally: 0 means no repair.
	MaxRepairs int
	// MaxRetries is how many times a request that failed with 429, 5xx or a
	// connection error is retried with exponential backoff (ConfigFromEnv:
	// DefaultMaxRetries). Taken literally: 0 means one attempt only.
	MaxRetries int
	// MaxRetryDelay caps the backoff between retries (0: openai-go's cap of
	// 8s; server-directed Retry-After delays up to 2 minutes are honoured).
	MaxRetryDelay time.Duration
	// Mode is ModeWhole (default) or ModeMixed.
	Mode string
	// AgentDir is where prompt-<n>.json and answer-<n>.txt are written
	// (normally .clockwork/build/agent). Empty: nothing is written.
	AgentDir string
	// Validate checks a candidate bundle against the ActionList: forge's
	// validator, the trust boundary. Nil: forge.Validate with
	// forge.DefaultPolicy().
	Validate func(*contract.Bundle, *contract.ActionList) error
	// Allowlist is the runtimes the prompt offers the model, intersected
	// with the runtimes present in the facts (nil: forge.DefaultAllowlist).
	// Pass the policy's allowlist when the user configured one.
	Allowlist []string
	// Fallback is the built-in compiler; required in mixed mode.
	Fallback forge.Compiler
	// Secrets are the plan's secret values by environment variable name
	// (assembly's Plan.Secrets), for a double check only: Compile refuses to
	// send or log a prompt that contains one of them (values shorter than
	// 4 bytes are not checked). They are never sent anywhere.
	Secrets map[string]string
	// HTTPClient overrides the HTTP client (tests).
	HTTPClient *http.Client
	// Logger receives progress at debug/info level (nil: discarded).
	Logger *slog.Logger
}

// ConfigFromEnv reads the configuration from environ ("KEY=VALUE" entries,
// as os.Environ returns): CLOCKWORK_AI_BASE_URL, CLOCKWORK_AI_MODEL,
// CLOCKWORK_AI_API_KEY, CLOCKWORK_AI_MODE and CLOCKWORK_AI_TIMEOUT (a Go
// duration such as "5m", or seconds), falling back to
// OPENAI_BASE_URL and OPENAI_API_KEY. The model has no fallback: ErrNoModel
// if it is unset. Timeout, MaxRepairs and MaxRetries get their defaults;
// flags override them afterwards.
func ConfigFromEnv(environ []string) (Config, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(env[k]); v != "" {
				return v
			}
		}
		return ""
	}
	cfg := Config{
		BaseURL: first(EnvBaseURL, EnvOpenAIBaseURL),
		Model:   first(EnvModel),
		APIKey:  first(EnvAPIKey, EnvOpenAIAPIKey),
		Mode:    first(EnvMode),

		Timeout:    DefaultTimeout,
		MaxRepairs: DefaultMaxRepairs,
		MaxRetries: DefaultMaxRetries,
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Model == "" {
		return cfg, ErrNoModel
	}
	if err := checkMode(cfg.Mode); err != nil {
		return cfg, fmt.Errorf("%s: %w", EnvMode, err)
	}
	if v := first(EnvTimeout); v != "" {
		d, err := parseTimeout(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", EnvTimeout, err)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// parseTimeout accepts a Go duration ("90s", "5m") or whole seconds ("300").
func parseTimeout(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 300s or 5m", v)
	}
	return d, nil
}

func checkMode(m string) error {
	switch m {
	case "", ModeWhole, ModeMixed:
		return nil
	}
	return fmt.Errorf("unknown AI compile mode %s (want %s or %s)", strconv.Quote(m), ModeWhole, ModeMixed)
}

// withDefaults fills zero fields that have no meaningful zero value.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	c.MaxRepairs = max(c.MaxRepairs, 0)
	c.MaxRetries = max(c.MaxRetries, 0)
	if c.Mode == "" {
		c.Mode = ModeWhole
	}
	if c.Allowlist == nil {
		c.Allowlist = append([]string(nil), forge.DefaultAllowlist...)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
