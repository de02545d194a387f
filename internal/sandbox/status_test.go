package sandbox

import (
	"os"
	"strings"
	"testing"
)

func TestStatusMatchesSummary(t *testing.T) {
	abi, ok, reason := Status()
	s := Summary()
	switch {
	case ok && (abi < 1 || reason != "" || !strings.HasPrefix(s, "steps confined with Landlock ABI ")):
		t.Errorf("Status() = %d, %v, %q; Summary() = %q", abi, ok, reason, s)
	case !ok && (abi != 0 || reason == "" || !strings.Contains(s, "steps run unconfined")):
		t.Errorf("Status() = %d, %v, %q; Summary() = %q", abi, ok, reason, s)
	}
	// The kernel's own word, when it exposes it.
	if b, err := os.ReadFile("/sys/kernel/security/lsm"); err == nil && strings.Contains(string(b), "landlock") && !ok {
		t.Errorf("the kernel lists landlock among its LSMs but Status says %q", reason)
	}
	t.Log(s)
}
