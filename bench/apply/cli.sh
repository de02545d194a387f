#!/usr/bin/env bash
# End-to-end apply benchmark through the real CLI and the built-in compiler:
# N independent `file` resources and a chain of N (each depends on the one
# before), each applied from scratch and then re-applied (no-op), with wall
# time and peak RSS of the clockwork process, beside the floor measured in the
# same run: N sequential `bash -c true` spawns from Go.
# Targets (issue 3): independent <= 1.5x floor, chain <= 2x floor, no-op
# re-apply < 0.5 s, peak memory < 100 MB.
#
#   bench/apply/cli.sh [N]          (default 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
n=${1:-1000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/clockwork" ./cmd/clockwork
go build -o "$tmp/applybench" ./bench/apply

gen() { # gen DIR chain|independent
  mkdir -p "$1"
  python3 - "$1" "$2" "$n" <<'PY'
import sys
d, shape, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(d + "/main.cw", "w") as f:
    f.write('resource "directory" "out" {\n  path = "out"\n}\n\n')
    for i in range(n):
        dep = "directory.out" if shape == "independent" or i == 0 else "file.f%05d" % (i - 1)
        f.write('resource "file" "f%05d" {\n  path       = "out/f%05d.txt"\n  content    = "file %d\\n"\n  depends_on = [%s]\n}\n\n' % (i, i, i, dep))
PY
}

measure() { # measure LABEL DIR -> prints wall seconds and max RSS MB
  local out
  out=$( { /usr/bin/time -f '%e %M' "$tmp/clockwork" apply --chdir "$2" >/dev/null; } 2>&1 | tail -1)
  local wall rss
  wall=${out% *}; rss=${out#* }
  printf '%-34s %8.3fs %8.1fMB' "$1" "$wall" "$(echo "$rss/1024" | bc -l)"
  echo "$wall" > "$tmp/last"
}

floor=$("$tmp/applybench" -floor -n "$n")
printf '%-34s %8.3fs            (%d x bash -c true from Go)\n' "floor" "$floor" "$n"
# Each apply from scratch creates about 4 files per resource (script,
# content, log, the file itself); the floor creates none. On a filesystem
# where that is slow (it varies a lot between directories of one disk), run
# with TMPDIR elsewhere to see clockwork's own cost.
printf '%-34s %8sus           (in %s; TMPDIR picks the directory)\n' "create one file" "$("$tmp/applybench" -create-cost "$tmp" -n "$n")" "${TMPDIR:-/tmp}"
for shape in independent chain; do
  gen "$tmp/$shape" "$shape"
  measure "apply $n $shape files" "$tmp/$shape"
  wall=$(cat "$tmp/last")
  target=1.5; [ "$shape" = chain ] && target=2
  printf '   %.2fx floor (target <= %sx)\n' "$(echo "$wall/$floor" | bc -l)" "$target"
  measure "no-op re-apply ($shape)" "$tmp/$shape"
  echo "   (target < 0.5 s)"
  count=$(ls "$tmp/$shape/out" | wc -l)
  [ "$count" -eq "$n" ] || { echo "expected $n files, found $count" >&2; exit 1; }
done
floor2=$("$tmp/applybench" -floor -n "$n")
printf '%-34s %8.3fs            (measured again after the runs)\n' "floor" "$floor2"
