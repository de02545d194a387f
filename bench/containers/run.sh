#!/usr/bin/env bash
# Container apply benchmark against the real engine (Podman's Docker API, set
# up by scripts/setup-podman.sh): a full apply of one image build plus N
# services (busybox httpd, each published on 127.0.0.1 with a health check),
# then a no-op re-apply, then destroy. Prints wall time of each.
#
#   bench/containers/run.sh [N]      (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
n=${1:-10}
eval "$(./scripts/setup-podman.sh)"
tmp=$(mktemp -d)
go build -o "$tmp/clockwork" ./cmd/clockwork
cfg="$tmp/cfg"
mkdir -p "$cfg/app"
cleanup() { "$tmp/clockwork" destroy --chdir "$cfg" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
printf 'FROM localhost/clockwork-busybox:latest\nCOPY index.html /www/index.html\n' > "$cfg/app/Dockerfile"
echo "bench $(date +%s%N)" > "$cfg/app/index.html"
{
  printf 'resource "image" "app" {\n  context = "app"\n  tags    = ["localhost/cw-bench-app:latest"]\n}\n\n'
  for i in $(seq 0 $((n - 1))); do
    printf 'resource "service" "s%02d" {\n  name    = "cw-bench-s%02d"\n  image   = image.app.ref\n' "$i" "$i"
    printf '  command = ["httpd", "-f", "-p", "80", "-h", "/www"]\n'
    printf '  ports   = [{ external = %d, internal = 80 }]\n' $((18200 + i))
    printf '  health_check {\n    path     = "/"\n    interval = "1s"\n    retries  = 20\n  }\n}\n\n'
  done
} > "$cfg/main.cw"

t() { local s e; s=$(date +%s.%N); "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out"; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
full=$(t "$tmp/clockwork" apply --chdir "$cfg")
printf 'full apply (image build + %d services, health checked)  %.2f s\n' "$n" "$full"
noop=$(t "$tmp/clockwork" apply --chdir "$cfg")
printf 'no-op apply (%d services unchanged)                      %.2f s\n' "$n" "$noop"
grep -q "No changes" "$tmp/out" || { echo "second apply was not a no-op:"; cat "$tmp/out"; exit 1; }
dest=$(t "$tmp/clockwork" destroy --chdir "$cfg")
printf 'destroy                                                  %.2f s\n' "$dest"
