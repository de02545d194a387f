package runner

import (
	"bytes"
	"strings"
	"testing"
)

func TestMaskingWriter(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		writes  []string
		want    string
	}{
		{"no secrets", nil, []string{"hello ", "world"}, "hello world"},
		{"whole", []string{"hunter2"}, []string{"pw=hunter2\n"}, "pw=***\n"},
		{"split in two", []string{"hunter2"}, []string{"pw=hun", "ter2 done"}, "pw=*** done"},
		{"split byte by byte", []string{"s3cr3t"}, strings.Split("a s3cr3t b s3cr3t", ""), "a *** b ***"},
		{"prefix at end then not", []string{"secret"}, []string{"sec", "ond secret"}, "second ***"},
		{"trailing partial flushed on close", []string{"secret"}, []string{"x sec"}, "x sec"},
		{"short ignored", []string{"ab", ""}, []string{"abc ab"}, "abc ab"},
		{"longest wins", []string{"abc", "abcdef"}, []string{"xabc", "def abc y"}, "x*** *** y"},
		{"adjacent", []string{"tok"}, []string{"toktok", "tok"}, "*********"},
		{"several", []string{"alpha", "beta9"}, []string{"alp", "habeta", "9!"}, "******!"},
		{"overlapping self", []string{"aaa"}, []string{"aaaa"}, "***a"},
		{"multiline secret", []string{"line1\nline2"}, []string{"x line1\n", "line2 y"}, "x *** y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := MaskingWriter(&buf, tt.secrets)
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMaskingWriterEverySplit writes a text containing secrets split at every
// possible pair of boundaries and checks no secret survives.
func TestMaskingWriterEverySplit(t *testing.T) {
	secrets := []string{"p4ssw0rd", "tok-123"}
	text := "user=bob p4ssw0rd and tok-123, again p4ssw0rdtok-123 end"
	want := "user=bob *** and ***, again ****** end"
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			var buf bytes.Buffer
			w := MaskingWriter(&buf, secrets)
			for _, part := range []string{text[:i], text[i:j], text[j:]} {
				if _, err := w.Write([]byte(part)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != want {
				t.Fatalf("split %d,%d: got %q, want %q", i, j, buf.String(), want)
			}
		}
	}
}

func FuzzMaskingWriter(f *testing.F) {
	f.Add("secret", "a secret b", 3)
	f.Add("xyz", "xyxyzxyz", 1)
	f.Fuzz(func(t *testing.T, secret, text string, chunk int) {
		if len(secret) < MinSecretLen || chunk <= 0 {
			return
		}
		var buf bytes.Buffer
		w := MaskingWriter(&buf, []string{secret})
		for i := 0; i < len(text); i += chunk {
			end := min(i+chunk, len(text))
			if _, err := w.Write([]byte(text[i:end])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var whole bytes.Buffer
		ww := MaskingWriter(&whole, []string{secret})
		_, _ = ww.Write([]byte(text))
		_ = ww.Close()
		if buf.String() != whole.String() {
			t.Fatalf("chunked %q != whole %q", buf.String(), whole.String())
		}
		if !strings.Contains(secret, "*") && strings.Contains(whole.String(), secret) {
			t.Fatalf("secret %q survives in %q", secret, whole.String())
		}
	})
}
