#!/usr/bin/env bash
# Plan benchmark: generates configurations of N file resources (independent,
# and chained so each depends on the previous) for N = 1000 and 10000, runs
# `clockwork plan` on each (fastest of 3 runs) and prints wall time, peak
# resident memory and the 10k/1k time ratio (linear growth means ~10).
# Usage: bench/plan/run.sh            (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/clockwork" ./cmd/clockwork
go build -o "$tmp/gen" ./bench/plan/gen

printf '%-12s %7s %9s %12s\n' shape n time_ms peak_rss_mb
for shape in independent chain; do
	declare -A ms=()
	for n in 1000 10000; do
		dir="$tmp/$shape-$n"
		"$tmp/gen" -n "$n" -shape "$shape" -dir "$dir"
		read -r t rss < <("$tmp/gen" -measure -runs 3 -- "$tmp/clockwork" plan --chdir "$dir")
		ms[$n]=$t
		printf '%-12s %7d %9d %12.1f\n' "$shape" "$n" "$t" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
	done
	printf '%-12s 10k/1k time ratio: %s\n' "$shape" "$(awk -v a="${ms[10000]}" -v b="${ms[1000]}" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')"
	unset ms
done
