package builtin

// runCommand runs a command unless one of its guards says it is done.
func runCommand(u *unit, a *args) script {
	a.command("command", "CMD", true)
	a.str("creates", "CMD_CREATES", false, "")
	a.command("unless", "CMD_UNLESS", false)
	a.command("only_if", "CMD_ONLY_IF", false)
	a.envMap("environment", "CMD_ENV")
	a.str("workdir", "CMD_WORKDIR", false, "")
	return script{
		lang: langBash,
		inputs: []input{
			{"CMD_SH", "the command, run with sh -c, or"},
			{"CMD_ARGC, CMD_ARG_<i>", "the command as a list of words"},
			{"CMD_CREATES", "skip when this path exists; relative to $CW_ROOT"},
			{"CMD_UNLESS_*", "skip when this command succeeds (_SH or _ARGC, _ARG_<i>)"},
			{"CMD_ONLY_IF_*", "skip when this command fails (_SH or _ARGC, _ARG_<i>)"},
			{"CMD_ENV_*", "its environment: CMD_ENV_COUNT pairs CMD_ENV_<i>_KEY, CMD_ENV_<i>"},
			{"CMD_WORKDIR", "where it runs; relative to $CW_ROOT (default: $CW_ROOT)"},
		},
		body: bash(runCommandCode, helperInput, helperAbs, helperCommand, helperEnv),
	}
}

const runCommandCode = `
cw_input workdir CMD_WORKDIR
workdir=${workdir:-.}
cw_abs workdir
cw_input creates CMD_CREATES
cw_command CMD
if (( ${#CW_ARGV[@]} == 0 )); then
  echo "error: input CMD_SH or CMD_ARGC is not set" >&2
  exit 1
fi
command=("${CW_ARGV[@]}")

# The guards and the command run with the command's environment, in its
# working directory.
cw_env CMD_ENV
if (( ${#CW_ENV[@]} > 0 )); then
  export "${CW_ENV[@]}"
fi
cd -- "$workdir"

if [[ -n $creates ]]; then
  cw_abs creates
  if [[ -e $creates ]]; then
    echo "skipped: $creates exists (creates)"
    exit 0
  fi
fi
cw_command CMD_UNLESS
if (( ${#CW_ARGV[@]} > 0 )) && "${CW_ARGV[@]}"; then
  echo "skipped: the unless command succeeded"
  exit 0
fi
cw_command CMD_ONLY_IF
if (( ${#CW_ARGV[@]} > 0 )) && ! "${CW_ARGV[@]}"; then
  echo "skipped: the only_if command failed"
  exit 0
fi

exec "${command[@]}"
`

// verifyCommand checks that a command succeeds within its timeout.
func verifyCommand(u *unit, a *args) script {
	a.command("command", "CHECK", true)
	a.num("timeout", "CHECK_TIMEOUT", "0")
	return script{
		lang: langBash,
		inputs: []input{
			{"CHECK_SH", "the command, run with sh -c, or"},
			{"CHECK_ARGC, CHECK_ARG_<i>", "the command as a list of words"},
			{"CHECK_TIMEOUT", "seconds it may take; 0 for no limit"},
		},
		body: bash(verifyCommandCode, helperInput, helperCommand, helperTimeout),
	}
}

const verifyCommandCode = `
cw_input timeout CHECK_TIMEOUT
timeout=${timeout:-0}
cw_command CHECK
if (( ${#CW_ARGV[@]} == 0 )); then
  echo "error: input CHECK_SH or CHECK_ARGC is not set" >&2
  exit 1
fi

# The check runs in the configuration directory.
cd -- "${CW_ROOT:?CW_ROOT is not set}"
status=0
cw_timeout "$timeout" "${CW_ARGV[@]}" || status=$?
if (( status == 124 )) && [[ $timeout != 0 ]]; then
  echo "check failed: the command timed out after ${timeout}s" >&2
  exit 1
elif (( status != 0 )); then
  echo "check failed: the command exited with status $status" >&2
  exit 1
fi
echo "ok: the command succeeded"
`
