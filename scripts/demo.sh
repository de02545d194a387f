#!/usr/bin/env bash
# Builds clockwork and runs the main job on the web example: plan, apply (a
# directory, two files, a python3 http.server on 127.0.0.1:8088 with an HTTP
# health check), then shows that the site answers. Needs Go and python3 only;
# no network, no services. `bin/clockwork destroy --chdir examples/web` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
command -v python3 >/dev/null 2>&1 || ./scripts/setup-system.sh
go build -o bin/clockwork ./cmd/clockwork
bin/clockwork plan --chdir examples/web
bin/clockwork apply --chdir examples/web
echo "--- GET http://127.0.0.1:8088/"
python3 - <<'PY'
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:8088/", timeout=5).read().decode())
PY
