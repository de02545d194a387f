package openai

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	oai "github.com/openai/openai-go/v3"
)

// clearLogs removes the prompt and answer files of an earlier Compile, so
// AgentDir shows one conversation only.
func (s *session) clearLogs() error {
	dir := s.c.cfg.AgentDir
	if dir == "" {
		return nil
	}
	for _, pattern := range []string{"prompt-*.json", "answer-*.txt"} {
		old, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return fmt.Errorf("clear agent logs: %w", err)
		}
		for _, p := range old {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("clear agent logs: %w", err)
			}
		}
	}
	return nil
}

// logPrompt writes prompt-<n>.json: the exact request body sent (model,
// messages, response_format). The API key travels in a header, never here.
func (s *session) logPrompt(n int, params oai.ChatCompletionNewParams) error {
	if s.c.cfg.AgentDir == "" {
		return nil
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("encode prompt %d: %w", n, err)
	}
	var pretty any
	if err := json.Unmarshal(raw, &pretty); err != nil {
		return fmt.Errorf("encode prompt %d: %w", n, err)
	}
	out, err := indentJSON(pretty)
	if err != nil {
		return fmt.Errorf("encode prompt %d: %w", n, err)
	}
	return writeLog(s.c.cfg.AgentDir, fmt.Sprintf("prompt-%d.json", n), append(out, '\n'))
}

// logAnswer writes answer-<n>.txt: the raw answer text (or the error).
func (s *session) logAnswer(n int, text string) error {
	if s.c.cfg.AgentDir == "" {
		return nil
	}
	return writeLog(s.c.cfg.AgentDir, fmt.Sprintf("answer-%d.txt", n), []byte(text))
}

// writeLog writes dir/name with mode 0644 through a temp file in dir,
// fsync and rename, then fsyncs dir.
func writeLog(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write agent log: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write agent log: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write agent log %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write agent log %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write agent log %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write agent log %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write agent log %s: %w", name, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write agent log %s: %w", name, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write agent log %s: %w", name, err)
	}
	return nil
}
