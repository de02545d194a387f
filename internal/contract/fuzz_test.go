package contract

import (
	"strings"
	"testing"
)

// FuzzParseActionList: no input panics or hangs the loader, and whatever it
// accepts re-encodes to a document the schema accepts.
func FuzzParseActionList(f *testing.F) {
	f.Add([]byte(`{"version":"1","fingerprint":"sha256:` + strings.Repeat("a", 64) + `","state_serial":0,"steps":[]}`))
	f.Add([]byte(`{"version":"1","fingerprint":"sha256:` + strings.Repeat("a", 64) + `","state_serial":2,"steps":[{"id":"file.a/ensure_file","name":"ensure_file","resource":"file.a","change":"create","args":{"path":"a","n":1.5e300,"l":[1,{"x":null}]}}]}`))
	f.Add([]byte(`{"version":"1"`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		al, err := ParseActionList(data)
		if err != nil {
			return
		}
		b, err := Marshal(al)
		if err != nil {
			t.Fatalf("accepted but cannot re-encode: %v", err)
		}
		if err := ValidateJSON(SchemaActionList, b); err != nil {
			t.Fatalf("accepted but re-encoding is invalid: %v", err)
		}
	})
}

// FuzzParseState: same for the state loader.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"version":"1","lineage":"x","serial":1,"resources":[]}`))
	f.Add([]byte(`{"version":"1","lineage":"x","serial":1,"resources":[{"address":"file.a","type":"file","config_hash":"h","status":"applied","outputs":{"K":"v"},"steps":{"file.a/ensure_file":{"status":"ok","finished":"2026-01-02T03:04:05Z"}}}]}`))
	f.Add([]byte(`{"version":"1","lineage":"x","serial":1,"resources":[{"address":"a","type":"b","config_hash":"","status":"partial","delete_steps":[{"id":"a/x"}]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseState(data)
		if err != nil {
			return
		}
		if _, err := Marshal(st); err != nil {
			t.Fatalf("accepted but cannot re-encode: %v", err)
		}
	})
}
