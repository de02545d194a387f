package builtin

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// Container steps: build_image, remove_image, ensure_service and
// remove_service of kind "container", ensure_network, remove_network,
// ensure_volume and remove_volume. Each script gathers its inputs from the
// environment into the flags of `clockwork step docker <op>`, which speaks
// the Engine API (Docker or Podman) through the official client; see
// internal/container. The engine is $DOCKER_HOST, else the standard sockets.
//
// The engine is not checked at compile time: an engine that is down is a
// run-time failure of the step that needs it (naming the resource, with the
// engine's message), so its dependents are skipped and state records it.

// containerStep generates the script of a container step. It returns the
// script or the reason it cannot; Compile reports the reason with the step
// and resource.
func (c *Compiler) containerStep(u *unit, a *args) (script, error) {
	switch u.step.Name {
	case contract.StepBuildImage:
		return buildImage(u, a), nil
	case contract.StepRemoveImage:
		return removeImage(u, a), nil
	case contract.StepEnsureService:
		return ensureContainer(u, a), nil
	case contract.StepRemoveService:
		return removeContainer(u, a), nil
	case contract.StepEnsureNetwork:
		return ensureNetwork(u, a), nil
	case contract.StepRemoveNetwork:
		return removeNamed(u, a, "network", "NETWORK_NAME", "remove-network"), nil
	case contract.StepEnsureVolume:
		return ensureVolume(u, a), nil
	case contract.StepRemoveVolume:
		return removeNamed(u, a, "volume", "VOLUME_NAME", "remove-volume"), nil
	}
	return script{}, fmt.Errorf("%w: no generator for %s", ErrContainer, u.step.Name)
}

// defaultImageTag is the tag of an image resource that declares none:
// image.app -> localhost/clockwork-app:latest. build_image and remove_image
// derive it alike, so a destroy removes what an apply built.
func defaultImageTag(resource string) string {
	name := strings.TrimPrefix(resource, "image.")
	return "localhost/clockwork-" + slug(name) + ":latest"
}

// imageTags puts the tags arg (or the default tag) into IMAGE_TAG_COUNT and
// IMAGE_TAG_<i>.
func imageTags(u *unit, a *args) {
	if a.has("tags") {
		a.list("tags", "IMAGE_TAG")
		if u.env["IMAGE_TAG_COUNT"] != "0" {
			return
		}
	}
	u.env["IMAGE_TAG_COUNT"] = "1"
	u.env["IMAGE_TAG_0"] = defaultImageTag(u.step.Resource)
}

// list puts a list arg into env_COUNT and env_<i> (each a literal or, for a
// {"fromEnv": NAME} element, env_<i>_FROM).
func (a *args) list(attr, env string) {
	v, from, ok := a.lookup(attr)
	if !ok {
		return
	}
	if from != "" {
		a.u.errorf("arg %q must be known at plan time (a list); only its elements may come from variables", attr)
		return
	}
	items, isList := anyList(v)
	if !isList {
		a.u.errorf("arg %q must be a list of strings, got %s", attr, describe(v))
		return
	}
	a.u.env[env+"_COUNT"] = strconv.Itoa(len(items))
	for i, e := range items {
		a.element(fmt.Sprintf("%s[%d]", attr, i), fmt.Sprintf("%s_%d", env, i), e)
	}
}

// kvList puts a map arg whose keys need not be variable names (labels,
// logging options) into env_COUNT and env_<i> = "KEY=VALUE", in key order.
func (a *args) kvList(what string, v any, env string) {
	m, ok := anyMap(v)
	if !ok {
		a.u.errorf("%s must be a map of strings, got %s", what, describe(v))
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	a.u.env[env+"_COUNT"] = strconv.Itoa(len(keys))
	for i, k := range keys {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			a.u.errorf("%s: key %q must be non-empty, without '='", what, k)
			continue
		}
		val, isStr := scalar(m[k])
		if !isStr {
			a.u.errorf("%s[%q] must be a string, a number or a bool known at plan time, got %s", what, k, describe(m[k]))
			continue
		}
		a.literal(fmt.Sprintf("%s[%q]", what, k), fmt.Sprintf("%s_%d", env, i), k+"="+val)
	}
}

func anyList(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(t))
		for i, m := range t {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

func anyMap(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case map[string]string:
		out := make(map[string]any, len(t))
		for k, s := range t {
			out[k] = s
		}
		return out, true
	}
	return nil, false
}

// scalar formats a string, number or bool.
func scalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	}
	return number(v)
}

var hostIPRE = regexp.MustCompile(`^[0-9A-Fa-f.:]+$`)

// ports puts the ports arg into SERVICE_PORT_COUNT and SERVICE_PORT_<i> as
// "HOST_IP:EXTERNAL:INTERNAL/PROTOCOL" (host_ip 127.0.0.1 and protocol tcp
// by default).
func ports(u *unit, a *args) {
	v, from, ok := a.lookup("ports")
	if !ok {
		return
	}
	if from != "" {
		u.errorf("arg \"ports\" must be known at plan time")
		return
	}
	items, isList := anyList(v)
	if !isList {
		u.errorf("arg \"ports\" must be a list of {external, internal, protocol, host_ip}, got %s", describe(v))
		return
	}
	u.env["SERVICE_PORT_COUNT"] = strconv.Itoa(len(items))
	for i, it := range items {
		m, isMap := anyMap(it)
		if !isMap {
			u.errorf("ports[%d] must be an object {external, internal, protocol, host_ip}, got %s", i, describe(it))
			continue
		}
		port := func(key string, lo int) (int, bool) {
			s, isNum := number(m[key])
			n, err := strconv.Atoi(s)
			if !isNum || err != nil || n < lo || n > 65535 {
				u.errorf("ports[%d].%s must be a port number, got %s", i, key, describe(m[key]))
				return 0, false
			}
			return n, true
		}
		ext, ok1 := port("external", 0)
		in, ok2 := port("internal", 1)
		proto, hostIP := "tcp", "127.0.0.1"
		if p, isStr := m["protocol"].(string); isStr && p != "" {
			proto = strings.ToLower(p)
		}
		if h, isStr := m["host_ip"].(string); isStr && h != "" {
			hostIP = h
		}
		if proto != "tcp" && proto != "udp" {
			u.errorf("ports[%d].protocol must be \"tcp\" or \"udp\", got %q", i, proto)
			continue
		}
		if !hostIPRE.MatchString(hostIP) {
			u.errorf("ports[%d].host_ip must be an IP address, got %q", i, hostIP)
			continue
		}
		if !ok1 || !ok2 {
			continue
		}
		if strings.Contains(hostIP, ":") {
			hostIP = "[" + hostIP + "]"
		}
		u.env[fmt.Sprintf("SERVICE_PORT_%d", i)] = fmt.Sprintf("%s:%d:%d/%s", hostIP, ext, in, proto)
	}
}

// buildImage builds an image from a context directory; the build is skipped
// when the image already carries the context's hash.
func buildImage(u *unit, a *args) script {
	a.str("context", "IMAGE_CONTEXT", false, ".")
	a.str("dockerfile", "IMAGE_DOCKERFILE", false, "Dockerfile")
	imageTags(u, a)
	a.envMap("build_args", "IMAGE_BUILD_ARG")
	return script{
		lang: langBash,
		inputs: []input{
			{"IMAGE_CONTEXT", "the build context directory; relative to $CW_ROOT"},
			{"IMAGE_DOCKERFILE", "the Dockerfile; relative to the context"},
			{"IMAGE_TAG_COUNT, IMAGE_TAG_<i>", "the image's tags (the first is its reference)"},
			{"IMAGE_BUILD_ARG_COUNT, _<i>_KEY, _<i>", "build arguments"},
		},
		body: bash(buildImageCode, helperInput, helperAbs, helperEnv, helperList, helperClockwork),
	}
}

const buildImageCode = `
cw_require context IMAGE_CONTEXT
cw_abs context
cw_require dockerfile IMAGE_DOCKERFILE
argv=(build-image --context "$context" --dockerfile "$dockerfile")
cw_list IMAGE_TAG
for tag in "${CW_LIST[@]}"; do
  argv+=(--tag "$tag")
done
cw_env IMAGE_BUILD_ARG
for kv in "${CW_ENV[@]}"; do
  argv+=(--build-arg "$kv")
done

# Builds unless the image tagged first already has this context's hash
# (files .dockerignore excludes do not count); publishes IMAGE_REF and
# IMAGE_ID (the image ID) to $CW_OUTPUT.
cw_clockwork step docker "${argv[@]}"
`

// removeImage removes the image's tags.
func removeImage(u *unit, a *args) script {
	imageTags(u, a)
	return script{
		lang:   langBash,
		inputs: []input{{"IMAGE_TAG_COUNT, IMAGE_TAG_<i>", "the image's tags"}},
		body:   bash(removeImageCode, helperInput, helperList, helperClockwork),
	}
}

const removeImageCode = `
argv=(remove-image)
cw_list IMAGE_TAG
for tag in "${CW_LIST[@]}"; do
  argv+=(--tag "$tag")
done

# Tags that are already gone are fine.
cw_clockwork step docker "${argv[@]}"
`

// ensureContainer keeps a container running as declared.
func ensureContainer(u *unit, a *args) script {
	a.serviceName("SERVICE_NAME")
	a.str("image", "SERVICE_IMAGE", true, "")
	a.command("command", "SERVICE", false)
	ports(u, a)
	a.envMap("environment", "SERVICE_ENV")
	a.list("volumes", "SERVICE_VOLUME")
	a.list("networks", "SERVICE_NETWORK")
	a.str("restart", "SERVICE_RESTART", false, "")
	a.str("memory", "SERVICE_MEMORY", false, "")
	a.num("cpus", "SERVICE_CPUS", "")
	a.str("workdir", "SERVICE_WORKDIR", false, "")
	if v, _, ok := a.lookup("logging"); ok {
		m, isMap := anyMap(v)
		if !isMap {
			u.errorf("arg \"logging\" must be an object {driver, opts}, got %s", describe(v))
		} else {
			if d, present := m["driver"]; present && d != nil {
				s, isStr := d.(string)
				if !isStr {
					u.errorf("arg \"logging.driver\" must be a string, got %s", describe(d))
				} else if s != "" {
					u.env["SERVICE_LOG_DRIVER"] = s
				}
			}
			if o, present := m["opts"]; present && o != nil {
				a.kvList("arg \"logging.opts\"", o, "SERVICE_LOG_OPT")
			}
		}
	}
	return script{
		lang: langBash,
		inputs: []input{
			{"SERVICE_NAME", "the container's name"},
			{"SERVICE_IMAGE", "the image to run (SERVICE_IMAGE_FROM: an image built by this plan)"},
			{"SERVICE_ARGC, SERVICE_ARG_<i>", "its command as words, or"},
			{"SERVICE_SH", "its command as a string for sh -c (default: the image's)"},
			{"SERVICE_PORT_COUNT, SERVICE_PORT_<i>", "published ports, HOST_IP:EXTERNAL:INTERNAL/PROTO"},
			{"SERVICE_ENV_COUNT, _<i>_KEY, _<i>", "its environment"},
			{"SERVICE_VOLUME_COUNT, SERVICE_VOLUME_<i>", "mounts, NAME:/path or ./dir:/path[:ro] (relative to $CW_ROOT)"},
			{"SERVICE_NETWORK_COUNT, SERVICE_NETWORK_<i>", "networks to attach"},
			{"SERVICE_RESTART", "restart policy (default unless-stopped)"},
			{"SERVICE_LOG_DRIVER, SERVICE_LOG_OPT_COUNT, _<i>", "logging driver and its KEY=VALUE options"},
			{"SERVICE_MEMORY, SERVICE_CPUS", "resource limits"},
			{"SERVICE_WORKDIR", "working directory inside the container"},
		},
		body: bash(ensureContainerCode, helperInput, helperCommand, helperList, helperClockwork),
	}
}

const ensureContainerCode = `
cw_require name SERVICE_NAME
cw_require image SERVICE_IMAGE
argv=(ensure-service --name "$name" --image "$image")

cw_list SERVICE_PORT
for port in "${CW_LIST[@]}"; do
  argv+=(--port "$port")
done

# Environment: plain values as --env KEY=VALUE; a secret as --env-from
# KEY=VARIABLE, so that its value never appears on a command line.
for ((i = 0; i < ${SERVICE_ENV_COUNT:-0}; i++)); do
  cw_require key "SERVICE_ENV_${i}_KEY"
  from="SERVICE_ENV_${i}_FROM"
  if [[ -n ${!from-} ]]; then
    argv+=(--env-from "$key=${!from}")
  else
    cw_input value "SERVICE_ENV_${i}"
    argv+=(--env "$key=$value")
  fi
done

cw_list SERVICE_VOLUME
for volume in "${CW_LIST[@]}"; do
  argv+=(--volume "$volume")
done
cw_list SERVICE_NETWORK
for network in "${CW_LIST[@]}"; do
  argv+=(--network "$network")
done

cw_input restart SERVICE_RESTART
cw_input log_driver SERVICE_LOG_DRIVER
cw_input memory SERVICE_MEMORY
cw_input cpus SERVICE_CPUS
cw_input workdir SERVICE_WORKDIR
[[ -z $restart ]] || argv+=(--restart "$restart")
[[ -z $log_driver ]] || argv+=(--log-driver "$log_driver")
cw_list SERVICE_LOG_OPT
for opt in "${CW_LIST[@]}"; do
  argv+=(--log-opt "$opt")
done
[[ -z $memory ]] || argv+=(--memory "$memory")
[[ -z $cpus ]] || argv+=(--cpus "$cpus")
[[ -z $workdir ]] || argv+=(--workdir "$workdir")

# The command, when the service overrides the image's.
cw_command SERVICE
if (( ${#CW_ARGV[@]} > 0 )); then
  argv+=(-- "${CW_ARGV[@]}")
fi

# Leaves a running container with the same configuration untouched, starts a
# stopped one, replaces a changed one; fails with the container's exit code
# and last log lines when it does not stay up. Publishes CONTAINER_ID.
cw_clockwork step docker "${argv[@]}"
`

// removeContainer stops and removes a container service.
func removeContainer(u *unit, a *args) script {
	a.serviceName("SERVICE_NAME")
	return script{
		lang:   langBash,
		inputs: []input{{"SERVICE_NAME", "the container's name"}},
		body:   bash(removeContainerCode, helperInput, helperClockwork),
	}
}

const removeContainerCode = `
cw_require name SERVICE_NAME

# Stops (briefly: then kills) and removes it; a missing container is fine.
cw_clockwork step docker remove-service --name "$name"
`

// ensureNetwork creates a network unless it exists.
func ensureNetwork(u *unit, a *args) script {
	a.str("name", "NETWORK_NAME", true, "")
	a.str("driver", "NETWORK_DRIVER", false, "bridge")
	if v, _, ok := a.lookup("labels"); ok {
		a.kvList("arg \"labels\"", v, "NETWORK_LABEL")
	}
	return script{
		lang: langBash,
		inputs: []input{
			{"NETWORK_NAME", "the network"},
			{"NETWORK_DRIVER", "its driver (bridge)"},
			{"NETWORK_LABEL_COUNT, NETWORK_LABEL_<i>", "its labels, KEY=VALUE"},
		},
		body: bash(ensureNetworkCode, helperInput, helperList, helperClockwork),
	}
}

const ensureNetworkCode = `
cw_require name NETWORK_NAME
cw_require driver NETWORK_DRIVER
argv=(ensure-network --name "$name" --driver "$driver")
cw_list NETWORK_LABEL
for label in "${CW_LIST[@]}"; do
  argv+=(--label "$label")
done

# An existing network is kept; publishes NETWORK_ID.
cw_clockwork step docker "${argv[@]}"
`

// ensureVolume creates a volume unless it exists.
func ensureVolume(u *unit, a *args) script {
	a.str("name", "VOLUME_NAME", true, "")
	a.str("driver", "VOLUME_DRIVER", false, "local")
	if v, _, ok := a.lookup("labels"); ok {
		a.kvList("arg \"labels\"", v, "VOLUME_LABEL")
	}
	return script{
		lang: langBash,
		inputs: []input{
			{"VOLUME_NAME", "the volume"},
			{"VOLUME_DRIVER", "its driver (local)"},
			{"VOLUME_LABEL_COUNT, VOLUME_LABEL_<i>", "its labels, KEY=VALUE"},
		},
		body: bash(ensureVolumeCode, helperInput, helperList, helperClockwork),
	}
}

const ensureVolumeCode = `
cw_require name VOLUME_NAME
cw_require driver VOLUME_DRIVER
argv=(ensure-volume --name "$name" --driver "$driver")
cw_list VOLUME_LABEL
for label in "${CW_LIST[@]}"; do
  argv+=(--label "$label")
done

# An existing volume (and its data) is kept.
cw_clockwork step docker "${argv[@]}"
`

// removeNamed removes a network or a volume by name.
func removeNamed(u *unit, a *args, what, env, op string) script {
	a.str("name", env, true, "")
	return script{
		lang:   langBash,
		inputs: []input{{env, "the " + what}},
		body: bash(fmt.Sprintf(`
cw_require name %s

# A missing %s is fine; one still in use fails with the engine's message.
cw_clockwork step docker %s --name "$name"
`, env, what, op), helperInput, helperClockwork),
	}
}

const helperList = `
# cw_list NAME sets the array CW_LIST to the list in input NAME: NAME_COUNT
# elements NAME_0, NAME_1, ...
cw_list() {
  CW_LIST=()
  local count="${1}_COUNT" i item
  for ((i = 0; i < ${!count:-0}; i++)); do
    cw_input item "${1}_$i"
    CW_LIST+=("$item")
  done
}
`

const helperClockwork = `
# cw_clockwork ARGS... runs the clockwork binary that runs this step
# ($CW_CLOCKWORK), else the one on PATH.
cw_clockwork() {
  local bin="${CW_CLOCKWORK:-}"
  if [[ -z $bin ]]; then
    bin=$(command -v clockwork) || {
      echo "error: CW_CLOCKWORK is not set and no clockwork is on PATH" >&2
      exit 1
    }
  fi
  "$bin" "$@"
}
`
