package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clockwork-iac/clockwork/internal/compiler/openai/aitest"
	"github.com/clockwork-iac/clockwork/internal/contract"
)

func TestCompileValidAnswer(t *testing.T) {
	t.Setenv("CW_SECRET_TASK_HELLO_TOKEN", testSecret)
	t.Setenv("OPENAI_API_KEY", "sk-from-process-env")
	valid := encode(t, validAnswer(t))
	cases := []struct {
		name   string
		answer string
	}{
		{"bare JSON", valid},
		{"prose around a fenced block", "Here is the bundle you asked for:\n\n```json\n" + valid + "\n```\n\nEach script is idempotent."},
		{"prose around bare JSON", "Sure. " + valid + " Let me know if you need changes."},
		{"reasoning block first", "<think>the plan has {two} steps</think>\n" + valid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := aitest.NewServer(t, aitest.Content(tc.answer))
			cfg := testConfig(t, srv)
			cfg.Secrets = map[string]string{"CW_SECRET_TASK_HELLO_TOKEN": testSecret}
			al := testActionList(t)
			b, err := New(cfg).Compile(context.Background(), al, testFacts())
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("server saw %d calls, want 1", len(calls))
			}
			if got, want := calls[0].Header.Get("Authorization"), "Bearer "+testAPIKey; got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			if calls[0].Model != testModel {
				t.Errorf("model = %q, want %q", calls[0].Model, testModel)
			}
			var rf struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Name   string         `json:"name"`
					Strict bool           `json:"strict"`
					Schema map[string]any `json:"schema"`
				} `json:"json_schema"`
			}
			if err := json.Unmarshal(calls[0].ResponseFormat, &rf); err != nil {
				t.Fatalf("response_format: %v", err)
			}
			if rf.Type != "json_schema" || !rf.JSONSchema.Strict || rf.JSONSchema.Name != schemaName || rf.JSONSchema.Schema["properties"] == nil {
				t.Errorf("response_format = %s, want a strict json_schema", calls[0].ResponseFormat)
			}

			if b.Compiler != "openai:"+testModel || b.Fingerprint != al.Fingerprint {
				t.Errorf("compiler, fingerprint = %q, %q", b.Compiler, b.Fingerprint)
			}
			wantSteps := []contract.BundleStep{
				{Purpose: "task.hello/custom", Run: contract.Run{
					Cmd: []string{"bash", "scripts/task-hello-custom.sh"},
					Env: map[string]string{"HELLO_PATH": "out/hello.txt", "HELLO_TEXT": "hello"},
				}},
				{Purpose: "check.hello/verify_file", Run: contract.Run{
					Cmd: []string{"bash", "scripts/check-hello-verify-file.sh"}, Timeout: 30, Retries: 1,
				}},
			}
			if diff := cmp.Diff(wantSteps, b.Steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]any{"GREETING_OWNER": "clockwork"}, b.Vars); diff != "" {
				t.Errorf("vars (-want +got):\n%s", diff)
			}

			if diff := cmp.Diff(map[string]os.FileMode{"prompt-1.json": 0o644, "answer-1.txt": 0o644}, agentFiles(t, cfg.AgentDir)); diff != "" {
				t.Errorf("agent files (-want +got):\n%s", diff)
			}
			prompt, err := os.ReadFile(filepath.Join(cfg.AgentDir, "prompt-1.json"))
			if err != nil {
				t.Fatal(err)
			}
			var sent map[string]any
			if err := json.Unmarshal(prompt, &sent); err != nil {
				t.Fatalf("prompt-1.json is not JSON: %v", err)
			}
			if !json.Valid(calls[0].Body) || !strings.Contains(string(prompt), "CW_SECRET_TASK_HELLO_TOKEN") {
				t.Errorf("prompt-1.json does not hold the plan's secret variable name")
			}
			var body map[string]any
			if err := json.Unmarshal(calls[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(body, sent); diff != "" {
				t.Errorf("prompt-1.json differs from the request body (-sent +logged):\n%s", diff)
			}
			answer, err := os.ReadFile(filepath.Join(cfg.AgentDir, "answer-1.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if string(answer) != tc.answer {
				t.Errorf("answer-1.txt = %q, want the raw answer", answer)
			}
			assertNoSecrets(t, cfg.AgentDir)
			if strings.Contains(string(calls[0].Body), testSecret) || strings.Contains(string(calls[0].Body), "sk-from-process-env") {
				t.Error("the request body holds a secret value")
			}
		})
	}
}

func TestCompileRepairs(t *testing.T) {
	valid := encode(t, validAnswer(t))
	missingStep := answerWith(t, func(m map[string]any) { m["steps"] = stepsOf(m)[:1] })
	cases := []struct {
		name       string
		first      string
		wantRepair string // in the repair message
	}{
		{"valid JSON violating the schema", `{"version":"1","artifacts":[{"path":"scripts/x.sh"}],"steps":"none"}`, "schema: /artifacts/0"},
		{"a missing step", missingStep, `purpose: step "check.hello/verify_file"`},
		{"no JSON at all", "I am sorry, I cannot write scripts.", "no JSON object"},
		{"an artifact outside scripts/", answerWith(t, func(m map[string]any) {
			artifact(m, 1)["path"] = "check.sh"
			runOf(m, 1)["cmd"] = []any{"bash", "check.sh"}
		}), "artifact check.sh: must be under scripts/"},
		{"a cut-off answer", valid[:len(valid)/2], "cut off"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := aitest.Content(tc.first)
			if tc.name == "a cut-off answer" {
				first.FinishReason = "length"
			}
			srv := aitest.NewServer(t, first, aitest.Content(valid))
			cfg := testConfig(t, srv)
			b, err := New(cfg).Compile(context.Background(), testActionList(t), testFacts())
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if len(b.Steps) != 2 {
				t.Errorf("bundle has %d steps, want 2", len(b.Steps))
			}
			calls := srv.Calls()
			if len(calls) != 2 {
				t.Fatalf("server saw %d calls, want 2", len(calls))
			}
			var roles []string
			for _, m := range calls[1].Messages {
				roles = append(roles, m.Role)
			}
			if diff := cmp.Diff([]string{"system", "user", "assistant", "user"}, roles); diff != "" {
				t.Errorf("repair conversation roles (-want +got):\n%s", diff)
			}
			if calls[1].Messages[2].Content != tc.first {
				t.Errorf("the repair call does not carry the first answer as the assistant turn")
			}
			repair := lastUser(calls[1])
			if !strings.Contains(repair, "Your bundle was rejected") || !strings.Contains(repair, tc.wantRepair) {
				t.Errorf("repair message %q does not name %q", repair, tc.wantRepair)
			}
			want := map[string]os.FileMode{"prompt-1.json": 0o644, "answer-1.txt": 0o644, "prompt-2.json": 0o644, "answer-2.txt": 0o644}
			if diff := cmp.Diff(want, agentFiles(t, cfg.AgentDir)); diff != "" {
				t.Errorf("agent files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileEndpointFailures(t *testing.T) {
	valid := aitest.Content(encode(t, validAnswer(t)))
	cases := []struct {
		name      string
		answers   []aitest.Answer
		timeout   time.Duration
		wantCalls int
		wantErr   string // "" means success
		wantAgent []string
	}{
		{
			name:      "429 then success",
			answers:   []aitest.Answer{aitest.Error(http.StatusTooManyRequests, "rate_limit_exceeded", "slow down"), valid},
			wantCalls: 2,
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "500 retried then error",
			answers:   []aitest.Answer{aitest.Error(http.StatusInternalServerError, "", "boom")},
			wantCalls: 4, // 1 + MaxRetries
			wantErr:   "failed (500) after 4 attempts: boom",
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "hang past the timeout",
			answers:   []aitest.Answer{{Delay: time.Minute, Content: valid.Content}},
			timeout:   300 * time.Millisecond,
			wantCalls: 1,
			wantErr:   "did not answer within 300ms",
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "response_format rejected: plain JSON",
			answers:   []aitest.Answer{aitest.ResponseFormatUnsupported(valid)},
			wantCalls: 2,
			wantAgent: []string{"answer-1.txt", "answer-2.txt", "prompt-1.json", "prompt-2.json"},
		},
		{
			name: "llama.cpp cannot convert the schema: plain JSON",
			answers: []aitest.Answer{
				{Status: http.StatusBadRequest, Body: `{"error":{"code":400,"message":"JSON schema conversion failed: unsupported keyword","type":"invalid_request_error"}}`},
				valid,
			},
			wantCalls: 2,
			wantAgent: []string{"answer-1.txt", "answer-2.txt", "prompt-1.json", "prompt-2.json"},
		},
		{
			name:      "a 400 about something else",
			answers:   []aitest.Answer{aitest.Error(http.StatusBadRequest, "context_length_exceeded", "This model's maximum context length is 4096 tokens")},
			wantCalls: 1,
			wantErr:   "rejected the request (400): This model's maximum context length is 4096 tokens",
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "unknown model",
			answers:   []aitest.Answer{aitest.ModelNotFound(testModel)},
			wantCalls: 1,
			wantErr:   `model "test-model" is not served by http://`,
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "unknown model, Ollama style",
			answers:   []aitest.Answer{{Status: http.StatusNotFound, Body: `{"error":"model \"test-model\" not found, try pulling it first"}`}},
			wantCalls: 1,
			wantErr:   `model "test-model" is not served by`,
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "no chat completions API",
			answers:   []aitest.Answer{{Status: http.StatusNotFound, Body: `404 page not found`}},
			wantCalls: 1,
			wantErr:   "has no chat completions API",
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "bad API key",
			answers:   []aitest.Answer{aitest.Error(http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided")},
			wantCalls: 1,
			wantErr:   "refused the API key (401: Incorrect API key provided)",
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
		{
			name:      "model refuses",
			answers:   []aitest.Answer{{Body: `{"id":"x","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"","refusal":"I will not."}}]}`}},
			wantCalls: 1,
			wantErr:   "refused to compile the plan: I will not.",
			wantAgent: []string{"answer-1.txt", "prompt-1.json"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := aitest.NewServer(t, tc.answers...)
			cfg := testConfig(t, srv)
			if tc.timeout > 0 {
				cfg.Timeout = tc.timeout
			}
			start := time.Now()
			b, err := New(cfg).Compile(context.Background(), testActionList(t), testFacts())
			elapsed := time.Since(start)
			if got := len(srv.Calls()); got != tc.wantCalls {
				t.Errorf("server saw %d calls, want %d", got, tc.wantCalls)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				if len(b.Steps) != 2 {
					t.Errorf("bundle has %d steps, want 2", len(b.Steps))
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Compile error = %v, want one containing %q", err, tc.wantErr)
				}
				if b != nil {
					t.Errorf("Compile returned a bundle with its error")
				}
				if strings.Contains(err.Error(), testAPIKey) {
					t.Errorf("the error shows the API key")
				}
			}
			if tc.timeout > 0 && elapsed > tc.timeout+2*time.Second {
				t.Errorf("Compile took %s with a %s timeout", elapsed, tc.timeout)
			}
			var names []string
			for n := range agentFiles(t, cfg.AgentDir) {
				names = append(names, n)
			}
			if diff := cmp.Diff(tc.wantAgent, names, cmpSorted); diff != "" {
				t.Errorf("agent files (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestPlainModeAfterResponseFormatRejected(t *testing.T) {
	valid := encode(t, validAnswer(t))
	missing := answerWith(t, func(m map[string]any) { m["steps"] = stepsOf(m)[:1] })
	// The endpoint rejects response_format; the first plain answer is
	// invalid, the repair stays in plain mode.
	srv := aitest.NewServer(t,
		aitest.ResponseFormatUnsupported(aitest.Content(valid)),
		aitest.ResponseFormatUnsupported(aitest.Content("```json\n"+missing+"\n```")),
		aitest.ResponseFormatUnsupported(aitest.Content(valid)))
	cfg := testConfig(t, srv)
	if _, err := New(cfg).Compile(context.Background(), testActionList(t), testFacts()); err != nil {
		t.Fatalf("Compile: %v", err)
	}
	calls := srv.Calls()
	if len(calls) != 3 {
		t.Fatalf("server saw %d calls, want 3", len(calls))
	}
	for i, c := range calls {
		hasRF := len(c.ResponseFormat) > 0 && string(c.ResponseFormat) != "null"
		if hasRF != (i == 0) {
			t.Errorf("call %d: response_format present = %v", i+1, hasRF)
		}
	}
	sys := calls[1].Messages[0].Content
	if !strings.Contains(sys, `"artifacts"`) || !strings.Contains(sys, "Answer with the bundle as one JSON object") {
		t.Errorf("the system prompt of a plain call does not carry the schema")
	}
	answer1, err := os.ReadFile(filepath.Join(cfg.AgentDir, "answer-1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(answer1), "response_format") {
		t.Errorf("answer-1.txt = %q, want the endpoint's rejection", answer1)
	}
}

func TestCompileUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	cfg := Config{BaseURL: url, Model: testModel, MaxRetries: 1, MaxRetryDelay: 10 * time.Millisecond}
	_, err = New(cfg).Compile(context.Background(), testActionList(t), testFacts())
	var ee *EndpointError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "cannot reach the model endpoint at "+url+" after 2 attempts") {
		t.Fatalf("Compile error = %v, want cannot reach %s after 2 attempts", err, url)
	}
}

func TestCompileCancelled(t *testing.T) {
	srv := aitest.NewServer(t, aitest.Answer{Delay: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := New(testConfig(t, srv)).Compile(ctx, testActionList(t), testFacts())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Compile error = %v, want context.Canceled", err)
	}
}

func TestCompileConfigErrors(t *testing.T) {
	srv := aitest.NewServer(t)
	cases := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"no model", func(c *Config) { c.Model = "" }, "CLOCKWORK_AI_MODEL is not set"},
		{"unknown mode", func(c *Config) { c.Mode = "half" }, `unknown AI compile mode "half"`},
		{"mixed without fallback", func(c *Config) { c.Mode = ModeMixed }, "needs the built-in compiler"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, srv)
			tc.mutate(&cfg)
			_, err := New(cfg).Compile(context.Background(), testActionList(t), testFacts())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Compile error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("server saw %d calls for configuration errors", n)
	}
}

func TestSettings(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"defaults", Config{Model: "gpt-4o-mini"}, "openai/gpt-4o-mini/v1/whole/api.openai.com"},
		{"ollama mixed", Config{Model: "llama3.1:8b", BaseURL: "http://localhost:11434/v1/", Mode: ModeMixed}, "openai/llama3.1:8b/v1/mixed/localhost:11434"},
		{"narrow allowlist", Config{Model: "m", BaseURL: "http://h/v1", Allowlist: []string{"bash"}}, "openai/m/v1/whole/h/runtimes=bash"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.cfg)
			if got := c.Settings(); got != tc.want {
				t.Errorf("Settings() = %q, want %q", got, tc.want)
			}
			if c.Name() != "openai" {
				t.Errorf("Name() = %q", c.Name())
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		want    Config
		wantErr error
	}{
		{
			name: "clockwork variables win",
			env: []string{"CLOCKWORK_AI_BASE_URL=http://localhost:11434/v1", "OPENAI_BASE_URL=https://other/v1",
				"CLOCKWORK_AI_MODEL=llama3.1", "CLOCKWORK_AI_API_KEY=k1", "OPENAI_API_KEY=k2", "CLOCKWORK_AI_MODE=mixed"},
			want: Config{BaseURL: "http://localhost:11434/v1", Model: "llama3.1", APIKey: "k1", Mode: ModeMixed,
				Timeout: DefaultTimeout, MaxRepairs: DefaultMaxRepairs, MaxRetries: DefaultMaxRetries},
		},
		{
			name: "OpenAI fallbacks",
			env:  []string{"OPENAI_BASE_URL=https://openrouter.ai/api/v1", "OPENAI_API_KEY=k2", "CLOCKWORK_AI_MODEL=openai/gpt-4o-mini"},
			want: Config{BaseURL: "https://openrouter.ai/api/v1", Model: "openai/gpt-4o-mini", APIKey: "k2",
				Timeout: DefaultTimeout, MaxRepairs: DefaultMaxRepairs, MaxRetries: DefaultMaxRetries},
		},
		{
			name: "default endpoint, no key",
			env:  []string{"CLOCKWORK_AI_MODEL=gpt-4o-mini", "CLOCKWORK_AI_API_KEY="},
			want: Config{BaseURL: DefaultBaseURL, Model: "gpt-4o-mini",
				Timeout: DefaultTimeout, MaxRepairs: DefaultMaxRepairs, MaxRetries: DefaultMaxRetries},
		},
		{
			name: "timeout in seconds or as a duration",
			env:  []string{"CLOCKWORK_AI_MODEL=m", "CLOCKWORK_AI_TIMEOUT=300"},
			want: Config{BaseURL: DefaultBaseURL, Model: "m",
				Timeout: 300 * time.Second, MaxRepairs: DefaultMaxRepairs, MaxRetries: DefaultMaxRetries},
		},
		{
			name:    "model has no fallback",
			env:     []string{"OPENAI_API_KEY=k", "OPENAI_MODEL=gpt-4o"},
			wantErr: ErrNoModel,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromEnv(tc.env)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(Config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ConfigFromEnv([]string{"CLOCKWORK_AI_MODEL=m", "CLOCKWORK_AI_MODE=half"}); err == nil {
		t.Error("an unknown CLOCKWORK_AI_MODE was accepted")
	}
	if _, err := ConfigFromEnv([]string{"CLOCKWORK_AI_MODEL=m", "CLOCKWORK_AI_TIMEOUT=soon"}); err == nil {
		t.Error("an invalid CLOCKWORK_AI_TIMEOUT was accepted")
	}
	if c, _ := ConfigFromEnv([]string{"CLOCKWORK_AI_MODEL=m", "CLOCKWORK_AI_TIMEOUT=5m"}); c.Timeout != 5*time.Minute {
		t.Errorf("CLOCKWORK_AI_TIMEOUT=5m gave %s", c.Timeout)
	}
}

func TestSecretValueInThePlanIsNeverSent(t *testing.T) {
	srv := aitest.NewServer(t, aitest.Content(encode(t, validAnswer(t))))
	cfg := testConfig(t, srv)
	al := testActionList(t)
	// A plan that (wrongly) carries a secret value in its args.
	al.Steps[0].Args["inputs"].(map[string]any)["text"] = testSecret
	cfg.Secrets = map[string]string{"CW_SECRET_TASK_HELLO_TOKEN": testSecret, "SHORT": "1"}
	_, err := New(cfg).Compile(context.Background(), al, testFacts())
	if err == nil || !strings.Contains(err.Error(), "would contain the value of CW_SECRET_TASK_HELLO_TOKEN") {
		t.Fatalf("Compile error = %v, want a refusal naming the variable", err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Error("the error shows the secret value")
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("server saw %d calls, want none", n)
	}
	if _, err := os.Stat(filepath.Join(cfg.AgentDir, "prompt-1.json")); !os.IsNotExist(err) {
		t.Errorf("a prompt was logged: %v", err)
	}
}
