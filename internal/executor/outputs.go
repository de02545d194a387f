package executor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// MaxOutputSize bounds what a step may write to $CW_OUTPUT.
const MaxOutputSize = 1 << 20

var outputKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseOutputs parses a $CW_OUTPUT file: "KEY=VALUE" lines and the GitHub
// Actions multiline form
//
//	KEY<<DELIM
//	line 1
//	line 2
//	DELIM
//
// Keys match ^[A-Za-z_][A-Za-z0-9_]*$; trailing carriage returns of a line
// are dropped; blank lines are ignored; a later key
// replaces an earlier one. Anything else, an unterminated block or more than
// MaxOutputSize bytes is an error naming the line.
func ParseOutputs(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxOutputSize+1))
	if err != nil {
		return nil, fmt.Errorf("read outputs: %w", err)
	}
	if len(data) > MaxOutputSize {
		return nil, fmt.Errorf("outputs exceed %d bytes", MaxOutputSize)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), MaxOutputSize+1)
	line := 0
	for sc.Scan() {
		line++
		text := cleanLine(sc.Text())
		if strings.TrimSpace(text) == "" {
			continue
		}
		eq := strings.IndexByte(text, '=')
		hd := strings.Index(text, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			key, value := text[:eq], text[eq+1:]
			if !outputKey.MatchString(key) {
				return nil, fmt.Errorf("outputs line %d: invalid key %q (want [A-Za-z_][A-Za-z0-9_]*)", line, key)
			}
			out[key] = value
			continue
		}
		if hd < 0 {
			return nil, fmt.Errorf("outputs line %d: want KEY=VALUE or KEY<<DELIMITER, got %q", line, truncate(text, 80))
		}
		key, delim := text[:hd], text[hd+2:]
		if !outputKey.MatchString(key) {
			return nil, fmt.Errorf("outputs line %d: invalid key %q (want [A-Za-z_][A-Za-z0-9_]*)", line, key)
		}
		if delim == "" {
			return nil, fmt.Errorf("outputs line %d: empty delimiter after %s<<", line, key)
		}
		start := line
		var lines []string
		closed := false
		for sc.Scan() {
			line++
			if cleanLine(sc.Text()) == delim {
				closed = true
				break
			}
			lines = append(lines, cleanLine(sc.Text()))
		}
		if !closed {
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("read outputs: %w", err)
			}
			return nil, fmt.Errorf("outputs line %d: %s<<%s is not closed by a line %q", start, key, delim, delim)
		}
		out[key] = strings.Join(lines, "\n")
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("outputs line %d: too long", line+1)
		}
		return nil, fmt.Errorf("read outputs: %w", err)
	}
	return out, nil
}

// cleanLine drops every trailing carriage return, so files written with
// CRLF (or CRCRLF) line ends parse the same as LF ones, and a value never
// ends in "\r" (which no line form could write back).
func cleanLine(s string) string { return strings.TrimRight(s, "\r") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
