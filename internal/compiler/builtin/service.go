package builtin

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// ensureProcess keeps a local process running: detached in its own session
// and process group, with a pid file and a log under $CW_STATE_DIR/services.
// It restarts the process when it is dead or its configuration changed.
func ensureProcess(u *unit, a *args) script {
	a.serviceName("SERVICE_NAME")
	// A list of words, normally; a string runs with sh -c.
	a.command("command", "SERVICE", true)
	a.envMap("environment", "SERVICE_ENV")
	a.str("workdir", "SERVICE_WORKDIR", false, "")
	a.num("stop_timeout", "SERVICE_STOP_TIMEOUT", "")
	u.env["SERVICE_CONFIG_HASH"] = configHash(u.step)
	return script{
		lang: langBash,
		inputs: []input{
			{"SERVICE_NAME", "the service; names its files in $CW_STATE_DIR/services"},
			{"SERVICE_ARGC, SERVICE_ARG_<i>", "its command, as a list of words"},
			{"SERVICE_ENV_*", "its environment: SERVICE_ENV_COUNT pairs SERVICE_ENV_<i>_KEY, SERVICE_ENV_<i>"},
			{"SERVICE_WORKDIR", "where it runs; relative to $CW_ROOT (default: $CW_ROOT)"},
			{"SERVICE_CONFIG_HASH", "hash of its configuration: a change restarts it"},
			{"SERVICE_STOP_TIMEOUT", "seconds between TERM and KILL when stopping it (5)"},
		},
		body: bash(ensureProcessCode, helperInput, helperAbs, helperOutput, helperCommand, helperEnv, helperProcess),
	}
}

// configHash is the step's config hash; without one (a hand-made plan), a
// hash of the step's args, so that a changed configuration still restarts.
func configHash(st *contract.Step) string {
	if st.ConfigHash != "" {
		return st.ConfigHash
	}
	if h, ok := st.Args["config_hash"].(string); ok && h != "" {
		return h
	}
	b, err := contract.Marshal(st.Args)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// helperProcess holds the process-group helpers of both service scripts.
const helperProcess = `
# The service's files.
cw_service_files() {
  local dir="${CW_STATE_DIR:?CW_STATE_DIR is not set}/services"
  mkdir -p -- "$dir"
  pidfile="$dir/$1.pid"
  startfile="$dir/$1.start"
  hashfile="$dir/$1.hash"
  logfile="$dir/$1.log"
}

# cw_start_time PID prints the start time of PID (from /proc; empty elsewhere).
cw_start_time() {
  local stat
  if stat=$(cat "/proc/$1/stat" 2>/dev/null); then
    stat=${stat##*) }
    set -- $stat
    printf '%s' "${20}"
  fi
}

# cw_alive PID: is PID running (not a zombie) and still the process the pid
# file recorded, not a newer one that reused its number?
cw_alive() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if stat=$(cat "/proc/$pid/stat" 2>/dev/null); then
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]] || return 1
  fi
  local recorded=""
  if [[ -f $startfile ]]; then
    recorded=$(<"$startfile")
  fi
  [[ -z $recorded || $(cw_start_time "$pid") == "$recorded" ]]
}

# cw_group_alive PGID: does any process of the group still run? Zombies do
# not count (they are dead, waiting for init to reap them).
cw_group_alive() {
  local pgid=$1 f stat
  [[ $pgid =~ ^[0-9]+$ ]] || return 1
  kill -0 -- "-$pgid" 2>/dev/null || return 1
  if [[ ! -r /proc/self/stat ]]; then
    return 0
  fi
  for f in /proc/[0-9]*/stat; do
    read -r stat <"$f" 2>/dev/null || continue
    stat=${stat##*) }
    set -- $stat
    if [[ $3 == "$pgid" && $1 != Z ]]; then
      return 0
    fi
  done
  return 1
}

# cw_stop PID stops the whole process group: TERM, then KILL after
# $SERVICE_STOP_TIMEOUT seconds (5 by default).
cw_stop() {
  local pid=$1 i grace
  cw_input grace SERVICE_STOP_TIMEOUT
  grace=${grace:-5}
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    if ! cw_group_alive "$pid"; then
      return 0
    fi
    sleep 0.1
  done
  echo "process group $pid still running after ${grace}s: sending KILL"
  kill -KILL -- "-$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    if ! cw_group_alive "$pid"; then
      return 0
    fi
    sleep 0.1
  done
}
`

const ensureProcessCode = `
cw_require name SERVICE_NAME
cw_require hash SERVICE_CONFIG_HASH
cw_input workdir SERVICE_WORKDIR
workdir=${workdir:-.}
cw_abs workdir
cw_command SERVICE
if (( ${#CW_ARGV[@]} == 0 )); then
  echo "error: input SERVICE_ARGC is not set" >&2
  exit 1
fi
cw_env SERVICE_ENV
cw_service_files "$name"

pid=""
if [[ -f $pidfile ]]; then
  pid=$(<"$pidfile")
fi
if [[ -n $pid ]] && cw_alive "$pid"; then
  recorded_hash=""
  if [[ -f $hashfile ]]; then
    recorded_hash=$(<"$hashfile")
  fi
  if [[ $recorded_hash == "$hash" ]]; then
    echo "already running: $name (pid $pid)"
    cw_output PID "$pid"
    exit 0
  fi
  echo "configuration changed: restarting $name (pid $pid)"
  cw_stop "$pid"
elif [[ -n $pid ]]; then
  if cw_group_alive "$pid"; then
    # The leader died but some of its children still run: stop them too.
    cw_stop "$pid"
  fi
  echo "not running (pid $pid is gone): starting $name"
fi

# The service gets a clean environment: PATH, HOME and a few locale and
# temp settings from ours, then its own environment map.
base_env=("PATH=${PATH:-/usr/bin:/bin}" "HOME=${HOME:-/}")
for v in LANG LC_ALL TZ TMPDIR USER; do
  if [[ -n ${!v-} ]]; then
    base_env+=("$v=${!v}")
  fi
done

# Detached: its own session and process group (setsid; without it, job
# control gives it its own group), stdin from /dev/null, output to the log.
offset=0
if [[ -f $logfile ]]; then
  offset=$(wc -c <"$logfile")
fi
# (The command line is not logged: an argument may be a secret.)
echo "--- clockwork: starting $name" >>"$logfile"
if command -v setsid >/dev/null 2>&1; then
  (cd -- "$workdir" && exec setsid env -i "${base_env[@]}" "${CW_ENV[@]}" "${CW_ARGV[@]}") </dev/null >>"$logfile" 2>&1 &
  pid=$!
else
  set -m
  (cd -- "$workdir" && exec env -i "${base_env[@]}" "${CW_ENV[@]}" "${CW_ARGV[@]}") </dev/null >>"$logfile" 2>&1 &
  pid=$!
  set +m
fi
printf '%s\n' "$pid" >"$pidfile.tmp"
mv -f -- "$pidfile.tmp" "$pidfile"
cw_start_time "$pid" >"$startfile"
printf '%s\n' "$hash" >"$hashfile"

# A service that dies at once (bad command, port taken) fails the step.
sleep 0.3
if ! cw_alive "$pid"; then
  echo "error: $name exited right after it started; the end of $logfile:" >&2
  tail -c +$((offset + 1)) -- "$logfile" | tail -n 20 >&2
  exit 1
fi
echo "started $name (pid $pid), log: $logfile"
cw_output PID "$pid"
`

// removeProcess stops a process service's whole process group and removes
// its pid and hash files; a service that is not running is fine. The log
// stays.
func removeProcess(u *unit, a *args) script {
	a.serviceName("SERVICE_NAME")
	a.num("stop_timeout", "SERVICE_STOP_TIMEOUT", "")
	return script{
		lang: langBash,
		inputs: []input{
			{"SERVICE_NAME", "the service; names its files in $CW_STATE_DIR/services"},
			{"SERVICE_STOP_TIMEOUT", "seconds between TERM and KILL (5)"},
		},
		body: bash(removeProcessCode, helperInput, helperProcess),
	}
}

const removeProcessCode = `
cw_require name SERVICE_NAME
cw_service_files "$name"

pid=""
if [[ -f $pidfile ]]; then
  pid=$(<"$pidfile")
fi
if [[ -n $pid ]] && { cw_alive "$pid" || cw_group_alive "$pid"; }; then
  cw_stop "$pid"
  echo "stopped $name (process group $pid)"
else
  echo "not running: $name"
fi
rm -f -- "$pidfile" "$startfile" "$hashfile"
`
