package intake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// genConfig writes a configuration of n resources: independent ones, or a
// chain where each refers to the one before.
func genConfig(tb testing.TB, n int, chained bool) string {
	tb.Helper()
	dir := tb.TempDir()
	var b strings.Builder
	b.WriteString("variable \"prefix\" {\n  type    = string\n  default = \"out\"\n}\n")
	for i := 0; i < n; i++ {
		switch {
		case i%4 == 3:
			fmt.Fprintf(&b, "resource \"service\" \"r%d\" {\n  name  = \"svc-%d\"\n  image = \"nginx:1.27\"\n  ports = [{ external = %d, internal = 80 }]\n  environment = { INDEX = %d }\n", i, i, 10000+i, i)
		default:
			fmt.Fprintf(&b, "resource \"file\" \"r%d\" {\n  path    = \"${var.prefix}/f%d.txt\"\n  content = \"resource %d\\n\"\n", i, i, i)
		}
		if chained && i > 0 {
			prev := "file"
			if (i-1)%4 == 3 {
				prev = "service"
			}
			fmt.Fprintf(&b, "  depends_on = [%s.r%d]\n", prev, i-1)
		}
		b.WriteString("}\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cw"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func benchLoad(b *testing.B, n int, chained bool) {
	dir := genConfig(b, n, chained)
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for b.Loop() {
		res, diags := Load(context.Background(), Options{Dir: dir})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		if len(res.Config.Resources) != n {
			b.Fatalf("%d resources", len(res.Config.Resources))
		}
	}
	b.StopTimer()
	// CPU time (user+system, all threads, GC included) per load: on a shared
	// machine wall time measures the neighbours as much as the code.
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

func BenchmarkLoad1k(b *testing.B) {
	b.Run("independent", func(b *testing.B) { benchLoad(b, 1000, false) })
	b.Run("chained", func(b *testing.B) { benchLoad(b, 1000, true) })
}

func BenchmarkLoad10k(b *testing.B) {
	b.Run("independent", func(b *testing.B) { benchLoad(b, 10000, false) })
	b.Run("chained", func(b *testing.B) { benchLoad(b, 10000, true) })
}
