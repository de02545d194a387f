package facts

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// JSON returns the canonical JSON of the facts (contract.Marshal: sorted
// keys, two-space indent, trailing newline), as recorded in
// .clockwork/build/facts.json.
func (f *Facts) JSON() ([]byte, error) {
	b, err := contract.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode facts: %w", err)
	}
	return b, nil
}

// Human writes the facts as `clockwork facts` prints them: one line per
// runtime in allowlist order, then git and the container engine.
func Human(w io.Writer, f *Facts) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "os\t%s\n", f.OS)
	fmt.Fprintf(tw, "arch\t%s\n", f.Arch)
	for _, name := range AllowedRuntimes() {
		fmt.Fprintf(tw, "%s\t%s\n", name, runtimeLine(f.Runtimes[name]))
	}
	fmt.Fprintf(tw, "git\t%s\n", runtimeLine(f.Git))
	fmt.Fprintf(tw, "engine\t%s\n", engineLine(f.Engine))
	tw.Flush()
}

func runtimeLine(r Runtime) string {
	switch {
	case r.Present && r.Version != "":
		return r.Version + "\t" + r.Path
	case r.Present:
		return "present\t" + r.Path
	case r.Error != "":
		return "unusable\t" + r.Error
	default:
		return "missing"
	}
}

func engineLine(e Engine) string {
	if !e.Available {
		return "none\t" + e.Error
	}
	s := "available"
	if e.Name != "" {
		s += " " + e.Name
	}
	if e.Version != "" {
		s += " " + e.Version
	}
	if e.APIVersion != "" {
		s += " (API " + e.APIVersion + ")"
	}
	return s + "\t" + e.Host
}
