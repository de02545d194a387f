#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine or a developer's:
# installs and starts what the tests need (Podman's Docker-compatible API,
# headless Chromium, git), then runs vet and every Go test with the race
# detector. Long soak and scale runs live in bench/, not here.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/usr/local/go/bin:$PATH"
./scripts/setup-system.sh >&2

# Podman's Docker-compatible API for the container tests.
# Container tests then fail instead of skipping when no engine answers.
eval "$(./scripts/setup-podman.sh)"
export CW_REQUIRE_ENGINE=1

echo "== go vet" >&2
go vet ./...
echo "== gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
echo "== go test -race" >&2
go test -race -count=1 -timeout 45m ./... "$@"
