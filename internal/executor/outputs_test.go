package executor

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOutputs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"empty", "", map[string]string{}, ""},
		{"simple", "A=1\nB_2=two words\n", map[string]string{"A": "1", "B_2": "two words"}, ""},
		{"value with equals", "URL=http://x/?a=b\n", map[string]string{"URL": "http://x/?a=b"}, ""},
		{"empty value", "E=\n", map[string]string{"E": ""}, ""},
		{"blank lines", "\nA=1\n\n  \n", map[string]string{"A": "1"}, ""},
		{"later wins", "A=1\nA=2", map[string]string{"A": "2"}, ""},
		{"no trailing newline", "A=1", map[string]string{"A": "1"}, ""},
		{"heredoc", "M<<EOF\nline 1\nline 2\nEOF\nN=x\n", map[string]string{"M": "line 1\nline 2", "N": "x"}, ""},
		{"heredoc empty", "M<<END\nEND\n", map[string]string{"M": ""}, ""},
		{"heredoc with equals in body", "M<<D\na=b\nc<<d\nD\n", map[string]string{"M": "a=b\nc<<d"}, ""},
		{"equals before heredoc marker", "A=x<<y\n", map[string]string{"A": "x<<y"}, ""},
		{"bad key", "1A=x\n", nil, "line 1: invalid key"},
		{"bad key dash", "A-B=x\n", nil, "invalid key"},
		{"no separator", "A=1\njust text\n", nil, "line 2: want KEY=VALUE"},
		{"unclosed heredoc", "M<<EOF\nline\n", nil, "line 1: M<<EOF is not closed"},
		{"empty delimiter", "M<<\nx\n", nil, "empty delimiter"},
		{"bad heredoc key", "-<<EOF\nx\nEOF\n", nil, "invalid key"},
		{"too big", strings.Repeat("A=1234567\n", MaxOutputSize/10+1), nil, "exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOutputs(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("outputs (-want +got):\n%s", d)
			}
		})
	}
}

// FuzzParseOutputs checks the parser never panics and that whatever it
// accepts survives a round trip through the multiline form.
func FuzzParseOutputs(f *testing.F) {
	for _, s := range []string{"A=1\n", "M<<EOF\na\nb\nEOF\n", "A=x<<y", "M<<\n", "1=2", "\n\nK=v=w\r\n", "X<<E\nE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseOutputs(strings.NewReader(in))
		if err != nil {
			return
		}
		var b strings.Builder
		for k, v := range got {
			delim := "CW_EOF"
			for i := 0; strings.Contains(v, delim); i++ {
				delim = fmt.Sprintf("CW_EOF_%d", i)
			}
			fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", k, delim, v, delim)
		}
		again, err := ParseOutputs(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-encoded outputs do not parse: %v\n%q", err, b.String())
		}
		if d := cmp.Diff(got, again); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}
