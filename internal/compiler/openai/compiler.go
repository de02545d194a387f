package openai

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// Name is the compiler's name in bundles and the manifest.
const Name = "openai"

// Compiler asks an OpenAI-compatible model for bundles. It holds no mutable
// state: concurrent Compile calls are safe (each writes its own numbered
// logs only if they use different AgentDirs).
type Compiler struct {
	cfg Config
}

var _ forge.Compiler = (*Compiler)(nil)

// New returns a compiler for cfg. Configuration errors (no model, unknown
// mode, mixed mode without fallback) are reported by Compile.
func New(cfg Config) *Compiler {
	return &Compiler{cfg: cfg.withDefaults()}
}

// Name implements forge.Compiler.
func (c *Compiler) Name() string { return Name }

// Settings implements forge.Compiler:
// "openai/<model>/<prompt version>/<mode>/<endpoint host>", plus
// "/runtimes=a,b" when the allowlist is not the default one, plus
// "+<fallback name>/<fallback settings>" in mixed mode.
func (c *Compiler) Settings() string {
	host := c.cfg.BaseURL
	if u, err := url.Parse(c.cfg.BaseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	s := Name + "/" + c.cfg.Model + "/" + promptVersion + "/" + c.cfg.Mode + "/" + host
	if !slices.Equal(c.cfg.Allowlist, forge.DefaultAllowlist) {
		s += "/runtimes=" + strings.Join(c.cfg.Allowlist, ",")
	}
	if c.cfg.Mode == ModeMixed && c.cfg.Fallback != nil {
		s += "+" + c.cfg.Fallback.Name() + "/" + c.cfg.Fallback.Settings()
	}
	return s
}

// InvalidAnswerError is returned when every answer of the model, repairs
// included, was rejected. Nothing was compiled.
type InvalidAnswerError struct {
	Model string
	// Calls made (1 + repairs).
	Calls int
	// Problems with the last answer, one line each.
	Problems []string
	// AgentDir holds the prompts and answers ("" if not logged).
	AgentDir string
}

func (e *InvalidAnswerError) Error() string {
	where := ""
	if e.AgentDir != "" {
		where = "; prompts and answers are in " + e.AgentDir
	}
	return fmt.Sprintf("model %s proposed no valid bundle in %d calls (%d repairs)%s; still wrong:\n  - %s",
		e.Model, e.Calls, e.Calls-1, where, strings.Join(capProblems(e.Problems), "\n  - "))
}

// Compile implements forge.Compiler: it returns a bundle that passed the
// bundle schema and the validator, or an error and no bundle.
func (c *Compiler) Compile(ctx context.Context, al *contract.ActionList, f *facts.Facts) (*contract.Bundle, error) {
	if c.cfg.Model == "" {
		return nil, ErrNoModel
	}
	if err := checkMode(c.cfg.Mode); err != nil {
		return nil, err
	}
	if al == nil {
		return nil, errors.New("no actionlist to compile")
	}
	validate := c.cfg.Validate
	if validate == nil {
		validate = defaultValidate
	}
	schema, err := modelSchema()
	if err != nil {
		return nil, err
	}
	checker, err := newBundleChecker()
	if err != nil {
		return nil, err
	}
	s := &session{c: c, schema: schema, checker: checker, rec: &attempts{}}
	s.client = c.newClient(s.rec)
	if err := s.clearLogs(); err != nil {
		return nil, err
	}
	if c.cfg.Mode == ModeMixed {
		return s.compileMixed(ctx, al, f, validate)
	}
	name := Name + ":" + c.cfg.Model
	check := func(b *contract.Bundle) (*contract.Bundle, []string) {
		b.Compiler = name
		b.Fingerprint = al.Fingerprint
		problems := underDir(b, artifactDir(ModeWhole))
		if err := validate(b, al); err != nil {
			problems = append(problems, problemsOf(err)...)
		}
		return b, problems
	}
	return s.ask(ctx, al, f, check)
}

// session is one Compile: its client, call counter and transport record.
type session struct {
	c       *Compiler
	schema  map[string]any
	checker *bundleChecker
	client  oai.Client
	rec     *attempts
	calls   int  // model calls made so far (for log numbering)
	plain   bool // the endpoint rejected response_format: ask for plain JSON
}

// ask runs the conversation for the steps of al: one call, then up to
// MaxRepairs repairs. check judges a parsed bundle and returns the bundle
// to hand back (possibly merged) and its problems.
func (s *session) ask(ctx context.Context, al *contract.ActionList, f *facts.Facts, check func(*contract.Bundle) (*contract.Bundle, []string)) (*contract.Bundle, error) {
	cfg := s.c.cfg
	sys, err := buildSystemPrompt(cfg.Mode, cfg.Allowlist, f, s.schema)
	if err != nil {
		return nil, err
	}
	user, err := buildUserPrompt(al, f)
	if err != nil {
		return nil, err
	}
	if err := checkNoSecrets(cfg.Secrets, sys, user); err != nil {
		return nil, err
	}
	messages := []oai.ChatCompletionMessageParamUnion{oai.SystemMessage(sys), oai.UserMessage(user)}
	var problems []string
	for round := 0; round <= cfg.MaxRepairs; round++ {
		if round > 0 {
			messages = append(messages, oai.UserMessage(repairPrompt(problems)))
			cfg.Logger.InfoContext(ctx, "asking the model to repair its bundle", "model", cfg.Model, "round", round, "problems", len(problems))
		}
		answer, finish, err := s.call(ctx, messages)
		if err != nil {
			return nil, err
		}
		messages = append(messages, oai.AssistantMessage(answer))
		var b *contract.Bundle
		b, problems = s.judge(answer, finish, check)
		if len(problems) == 0 {
			return b, nil
		}
	}
	return nil, &InvalidAnswerError{Model: cfg.Model, Calls: cfg.MaxRepairs + 1, Problems: problems, AgentDir: cfg.AgentDir}
}

// judge parses an answer and checks it; nil problems means b is good.
func (s *session) judge(answer, finish string, check func(*contract.Bundle) (*contract.Bundle, []string)) (*contract.Bundle, []string) {
	cut := ""
	if finish == "length" {
		cut = " (the answer was cut off at the output token limit: keep scripts short)"
	}
	obj, err := extractJSON(answer)
	if err != nil {
		return nil, []string{err.Error() + cut}
	}
	data, err := toBundleJSON(obj, "", "")
	if err != nil {
		return nil, []string{"shape: " + err.Error()}
	}
	if problems := s.checker.problems(data); len(problems) > 0 {
		return nil, problems
	}
	b, err := parseBundle(data)
	if err != nil {
		return nil, problemsOf(err)
	}
	return check(b)
}

// call makes one model call (openai-go retries inside it) and returns the
// answer text and finish reason. A 400 that rejects response_format
// switches the session to plain JSON and asks again.
func (s *session) call(ctx context.Context, messages []oai.ChatCompletionMessageParamUnion) (string, string, error) {
	cfg := s.c.cfg
	for {
		params := oai.ChatCompletionNewParams{
			Model:    shared.ChatModel(cfg.Model),
			Messages: messages,
		}
		if !s.plain {
			params.ResponseFormat = oai.ChatCompletionNewParamsResponseFormatUnion{
				OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
					JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
						Name:        schemaName,
						Description: oai.String("A Clockwork ArtifactBundle in wire shape"),
						Strict:      oai.Bool(true),
						Schema:      s.schema,
					},
				},
			}
		}
		s.calls++
		n := s.calls
		if err := s.logPrompt(n, params); err != nil {
			return "", "", err
		}
		cfg.Logger.InfoContext(ctx, "asking the model", "model", cfg.Model, "endpoint", cfg.BaseURL, "call", n, "structured", !s.plain)
		s.rec.reset()
		res, err := s.client.Chat.Completions.New(ctx, params)
		if err != nil {
			cerr := s.c.classify(ctx, err, s.rec)
			if logErr := s.logAnswer(n, "error: "+cerr.Error()+"\n"); logErr != nil {
				return "", "", logErr
			}
			if errors.Is(cerr, errResponseFormat) && !s.plain {
				cfg.Logger.InfoContext(ctx, "the endpoint rejects response_format; asking for plain JSON", "endpoint", cfg.BaseURL)
				s.plain = true
				continue
			}
			if errors.Is(cerr, errResponseFormat) {
				return "", "", &EndpointError{URL: cfg.BaseURL, Status: 400, Msg: "the model endpoint at " + cfg.BaseURL + " rejected the request", Err: cerr}
			}
			return "", "", cerr
		}
		if len(res.Choices) == 0 {
			_ = s.logAnswer(n, "error: no choices in the answer\n")
			return "", "", &EndpointError{URL: cfg.BaseURL, Status: 200, Msg: "the model endpoint at " + cfg.BaseURL + " answered without a message"}
		}
		msg := res.Choices[0].Message
		if err := s.logAnswer(n, msg.Content); err != nil {
			return "", "", err
		}
		if msg.Refusal != "" {
			return "", "", fmt.Errorf("model %s refused to compile the plan: %s", cfg.Model, msg.Refusal)
		}
		return msg.Content, res.Choices[0].FinishReason, nil
	}
}

// checkNoSecrets fails if a text holds a secret value; the error names the
// variable, never the value.
func checkNoSecrets(secrets map[string]string, texts ...string) error {
	var names []string
	for name, v := range secrets {
		if len(v) < 4 {
			continue
		}
		for _, t := range texts {
			if strings.Contains(t, v) {
				names = append(names, name)
				break
			}
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		return fmt.Errorf("refusing to send the plan to the model: the prompt would contain the value of %s", strings.Join(names, ", "))
	}
	return nil
}

// underDir reports artifacts the model put outside dir.
func underDir(b *contract.Bundle, dir string) []string {
	var out []string
	for _, a := range b.Artifacts {
		if !strings.HasPrefix(a.Path, dir) {
			out = append(out, fmt.Sprintf("artifact %s: must be under %s", a.Path, dir))
		}
	}
	return out
}

// problemsOf turns a parse or validation error into one line per problem.
func problemsOf(err error) []string {
	if ve, ok := forge.AsValidationError(err); ok {
		out := make([]string, len(ve.Violations))
		for i, v := range ve.Violations {
			out[i] = v.String()
		}
		return out
	}
	var se *contract.SchemaError
	if errors.As(err, &se) {
		out := make([]string, len(se.Problems))
		for i, p := range se.Problems {
			out[i] = "schema: " + p
		}
		return out
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, strings.TrimPrefix(line, "- "))
		}
	}
	return out
}
