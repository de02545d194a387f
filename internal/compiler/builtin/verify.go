package builtin

// Defaults of the verify steps when the plan leaves them out.
const (
	defaultCheckTimeout  = "5" // seconds per attempt
	defaultCheckRetries  = "0"
	defaultCheckInterval = "2" // seconds between attempts
)

// verifyHTTP checks that a URL answers with the expected status (and body
// substring), retrying. It is python3 when the facts have it, bash with
// /dev/tcp (http only, or curl for https) otherwise.
func verifyHTTP(u *unit, a *args) script {
	a.str("url", "HTTP_URL", true, "")
	a.num("expect_status", "HTTP_EXPECT_STATUS", "200")
	a.str("expect_body", "HTTP_EXPECT_BODY", false, "")
	a.num("timeout", "HTTP_TIMEOUT", defaultCheckTimeout)
	a.num("retries", "HTTP_RETRIES", defaultCheckRetries)
	a.num("interval", "HTTP_INTERVAL", defaultCheckInterval)
	inputs := []input{
		{"HTTP_URL", "the URL to GET (redirects are not followed)"},
		{"HTTP_EXPECT_STATUS", "the status it must answer (200)"},
		{"HTTP_EXPECT_BODY", "a substring the body must contain (optional)"},
		{"HTTP_TIMEOUT", "seconds per attempt"},
		{"HTTP_RETRIES", "attempts after the first"},
		{"HTTP_INTERVAL", "seconds between attempts"},
	}
	if u.facts != nil && u.facts.Has("python3") {
		return script{lang: langPython, inputs: inputs, body: verifyHTTPPython}
	}
	return script{
		lang:   langBash,
		inputs: inputs,
		body:   bash(verifyHTTPBashCode, helperInput, helperTimeout),
	}
}

const verifyHTTPPython = `import os
import sys
import time
import urllib.error
import urllib.request


def cw_input(name, required=False):
    """The input NAME, or, when NAME_FROM is set, the variable it names."""
    src = os.environ.get(name + "_FROM")
    if src:
        if src not in os.environ:
            sys.exit(f"error: input {name} comes from ${src}, which is not set")
        value = os.environ[src]
    else:
        value = os.environ.get(name, "")
    if required and value == "":
        sys.exit(f"error: input {name} is not set (run this script through clockwork, or export it)")
    return value


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the answer instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def get(opener, url, timeout):
    """One attempt: (status or None, body bytes, error text)."""
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read(1 << 20), ""
    except urllib.error.HTTPError as e:
        return e.code, e.read(1 << 20), ""
    except urllib.error.URLError as e:
        return None, b"", str(e.reason)
    except OSError as e:
        return None, b"", str(e)


def main():
    url = cw_input("HTTP_URL", required=True)
    expect_status = int(cw_input("HTTP_EXPECT_STATUS") or "200")
    expect_body = cw_input("HTTP_EXPECT_BODY")
    timeout = float(cw_input("HTTP_TIMEOUT") or "5")
    attempts = int(cw_input("HTTP_RETRIES") or "0") + 1
    interval = float(cw_input("HTTP_INTERVAL") or "2")

    # No proxies: checks usually target this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    problem = ""
    for attempt in range(1, attempts + 1):
        status, body, error = get(opener, url, timeout)
        text = body.decode("utf-8", errors="replace")
        if error:
            problem = f"no answer: {error}"
        elif status != expect_status:
            problem = f"status {status}, want {expect_status}"
        elif expect_body and expect_body not in text:
            problem = f"status {status} but the body does not contain {expect_body!r}"
        else:
            print(f"ok: {url} answered {status} (attempt {attempt}/{attempts})")
            return 0
        if text:
            excerpt = " ".join(text.split())[:200]
            problem += f"; body: {excerpt}"
        print(f"attempt {attempt}/{attempts}: {url}: {problem}", flush=True)
        if attempt < attempts:
            time.sleep(interval)
    print(f"check failed: {url} after {attempts} attempts: {problem}", file=sys.stderr)
    return 1


sys.exit(main())
`

const verifyHTTPBashCode = `
cw_require url HTTP_URL
cw_input expect_status HTTP_EXPECT_STATUS
cw_input expect_body HTTP_EXPECT_BODY
cw_input timeout HTTP_TIMEOUT
cw_input retries HTTP_RETRIES
cw_input interval HTTP_INTERVAL
expect_status=${expect_status:-200}
timeout=${timeout:-5}
attempts=$(( ${retries:-0} + 1 ))
interval=${interval:-2}

response=$(mktemp)
trap 'rm -f -- "$response"' EXIT

# get fetches the URL into $response as "STATUS\n" then the body; it returns
# non-zero when nothing answered. http:// uses bash's /dev/tcp (no python3
# here); https:// needs curl.
get() {
  if [[ $url == https://* ]]; then
    if ! command -v curl >/dev/null 2>&1; then
      echo "error: $url: https needs python3 or curl, and neither is installed" >&2
      exit 1
    fi
    local body status
    body=$(mktemp)
    status=$(curl -sS -o "$body" -w '%{http_code}' --max-time "$timeout" -- "$url") || { rm -f -- "$body"; return 1; }
    { printf '%s\n' "$status"; cat -- "$body"; } >"$response"
    rm -f -- "$body"
    return 0
  fi
  if [[ $url != http://* ]]; then
    echo "error: $url is not an http:// or https:// URL" >&2
    exit 1
  fi
  local rest=${url#http://}
  local hostport=${rest%%/*} path=/${rest#*/}
  if [[ $rest != */* ]]; then
    path=/
  fi
  local host=${hostport%:*} port=${hostport##*:}
  if [[ $hostport != *:* || $hostport == *\] ]]; then
    host=$hostport port=80
  fi
  host=${host#[}
  host=${host%]}
  # HTTP/1.0 with Connection: close: the answer is not chunked and ends at EOF.
  cw_timeout "$timeout" bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: clockwork\r\nConnection: close\r\n\r\n" "$3" "$4" >&3
    {
      IFS=" " read -r _ status _ || exit 1
      printf "%s\n" "$status"
      # Skip the headers: they end with an empty line ("\r" before the newline).
      while IFS= read -r line && (( ${#line} > 1 )); do :; done
      cat
    } <&3' _ "$host" "$port" "$path" "$hostport" >"$response" 2>/dev/null
}

problem=""
for ((attempt = 1; attempt <= attempts; attempt++)); do
  if get; then
    status=$(head -n 1 -- "$response")
    body=$(tail -n +2 -- "$response" | head -c 1048576 | tr -d '\0')
    if [[ $status != "$expect_status" ]]; then
      problem="status $status, want $expect_status"
    elif [[ -n $expect_body && $body != *"$expect_body"* ]]; then
      problem="status $status but the body does not contain '$expect_body'"
    else
      echo "ok: $url answered $status (attempt $attempt/$attempts)"
      exit 0
    fi
    if [[ -n $body ]]; then
      problem+="; body: $(printf '%s' "$body" | tr -s ' \t\r\n' ' ' | head -c 200)"
    fi
  else
    problem="no answer"
  fi
  echo "attempt $attempt/$attempts: $url: $problem"
  if (( attempt < attempts )); then
    sleep "$interval"
  fi
done
echo "check failed: $url after $attempts attempts: $problem" >&2
exit 1
`

// verifyTCP checks that a TCP address accepts connections, retrying.
func verifyTCP(u *unit, a *args) script {
	a.str("address", "TCP_ADDRESS", true, "")
	a.num("timeout", "TCP_TIMEOUT", defaultCheckTimeout)
	a.num("retries", "TCP_RETRIES", defaultCheckRetries)
	a.num("interval", "TCP_INTERVAL", defaultCheckInterval)
	return script{
		lang: langBash,
		inputs: []input{
			{"TCP_ADDRESS", "host:port ([v6]:port) that must accept a connection"},
			{"TCP_TIMEOUT", "seconds per attempt"},
			{"TCP_RETRIES", "attempts after the first"},
			{"TCP_INTERVAL", "seconds between attempts"},
		},
		body: bash(verifyTCPCode, helperInput, helperTimeout),
	}
}

const verifyTCPCode = `
cw_require address TCP_ADDRESS
cw_input timeout TCP_TIMEOUT
cw_input retries TCP_RETRIES
cw_input interval TCP_INTERVAL
timeout=${timeout:-5}
attempts=$(( ${retries:-0} + 1 ))
interval=${interval:-2}
host=${address%:*}
port=${address##*:}
host=${host#[}
host=${host%]}
if [[ $address != *:* || -z $host || -z $port ]]; then
  echo "error: address $address is not host:port" >&2
  exit 1
fi

for ((attempt = 1; attempt <= attempts; attempt++)); do
  # bash's /dev/tcp opens the connection; the subshell closes it on exit.
  if cw_timeout "$timeout" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null; then
    echo "ok: $address accepts connections (attempt $attempt/$attempts)"
    exit 0
  fi
  echo "attempt $attempt/$attempts: $address does not accept connections"
  if (( attempt < attempts )); then
    sleep "$interval"
  fi
done
echo "check failed: $address after $attempts attempts: no connection" >&2
exit 1
`
