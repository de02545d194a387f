#!/usr/bin/env bash
# Plan benchmark: generates configurations of N file resources (independent,
# and chained so each depends on the previous) for N = 1000 and 10000, runs
# `clockwork plan` on each (best of 3 runs) and prints wall time, CPU time
# (user+sys, the steadier figure on a loaded machine), peak resident memory
# and the 10k/1k ratios (linear growth means about 10).
# Usage: bench/plan/run.sh   (RUNS=5 bench/plan/run.sh for more runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/clockwork" ./cmd/clockwork
go build -o "$tmp/gen" ./bench/plan/gen

printf '%-12s %6s %8s %8s %12s\n' shape n wall_ms cpu_ms peak_rss_mb
for shape in independent chain; do
	for n in 1000 10000; do
		dir="$tmp/$shape-$n"
		"$tmp/gen" -n "$n" -shape "$shape" -dir "$dir"
		read -r wall cpu rss < <("$tmp/gen" -measure -runs "${RUNS:-3}" -- "$tmp/clockwork" plan --chdir "$dir")
		printf '%-12s %6d %8d %8d %12.1f\n' "$shape" "$n" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
		echo "$wall $cpu" >"$tmp/$shape-$n.t"
	done
	read -r w1 c1 <"$tmp/$shape-1000.t"
	read -r w10 c10 <"$tmp/$shape-10000.t"
	awk -v s="$shape" -v w1="$w1" -v w10="$w10" -v c1="$c1" -v c10="$c10" \
		'BEGIN { printf "%-12s 10k/1k ratio: wall %.1f, cpu %.1f\n", s, w10 / (w1 > 0 ? w1 : 1), c10 / (c1 > 0 ? c1 : 1) }'
done
uptime | sed 's/^/load: /'
