package schema

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

func str(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: cty.String, Description: desc}
}

func num(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: cty.Number, Description: desc}
}

func required(a *Attribute) *Attribute { a.Required = true; return a }

func def(a *Attribute, v cty.Value) *Attribute { a.Default = v; return a }

func duration(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: cty.Number, Kind: KindDuration, Description: desc +
		" A number of seconds or a duration string (\"30s\", \"5m\", \"1h30m\"), normalized to seconds."}
}

func strMap(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: cty.Map(cty.String), Description: desc}
}

func strList(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: cty.List(cty.String), Description: desc}
}

func mode(def string) *Attribute {
	return &Attribute{Name: "mode", Type: cty.String, Kind: KindMode, Default: cty.StringVal(def),
		Description: "Octal permission bits (\"0644\"; \"644\" is accepted and normalized)."}
}

func object(name, desc string, block bool, nested ...*Attribute) *Attribute {
	return &Attribute{Name: name, Type: objectType(nested), Kind: KindObject, Block: block, Nested: nested, Description: desc}
}

func objectList(name, desc string, nested ...*Attribute) *Attribute {
	return &Attribute{Name: name, Type: cty.List(objectType(nested)), Kind: KindObjectList, Nested: nested, Description: desc}
}

func objectType(nested []*Attribute) cty.Type {
	m := make(map[string]cty.Type, len(nested))
	for _, a := range nested {
		m[a.Name] = a.Type
	}
	return cty.Object(m)
}

func outputs() *Computed {
	return &Computed{Name: "outputs", Type: cty.Map(cty.String),
		Description: "Every KEY=VALUE line the resource's steps wrote to $CW_OUTPUT; `TYPE.NAME.outputs.KEY` is known after apply."}
}

func resources() []*Resource {
	return []*Resource{
		{
			Type:        "file",
			Description: "A file with the given content, copied from `source`, or rendered from `template` with `vars` (templatefile semantics, at plan time). Exactly one of `content`, `source`, `template`.",
			Steps:       []string{contract.StepEnsureFile, contract.StepRemoveFile},
			Attributes: []*Attribute{
				required(str("path", "Path of the file; relative paths are relative to the configuration directory.")),
				str("content", "The file's content."),
				str("source", "Path of a file to copy (relative to the configuration directory)."),
				str("template", "Path of a template file (relative to the module directory) rendered with `vars` into `content` at plan time."),
				{Name: "vars", Type: cty.DynamicPseudoType, Kind: KindAny, Description: "Variables for `template` (an object or map)."},
				mode("0644"),
			},
			Computed: []*Computed{outputs()},
			finish:   finishFile,
		},
		{
			Type:        "directory",
			Description: "A directory with the given mode.",
			Steps:       []string{contract.StepEnsureDirectory, contract.StepRemoveDirectory},
			Attributes: []*Attribute{
				required(str("path", "Path of the directory; relative paths are relative to the configuration directory.")),
				mode("0755"),
			},
			Computed: []*Computed{outputs()},
		},
		{
			Type:        "git_repo",
			Description: "A git repository cloned from `url` and checked out at `ref` into `path`.",
			Steps:       []string{contract.StepFetchRepo, contract.StepRemoveRepo},
			Attributes: []*Attribute{
				required(str("url", "URL of the repository.")),
				def(str("ref", "Branch, tag or commit to check out."), cty.StringVal("HEAD")),
				required(str("path", "Where to check it out; relative paths are relative to the configuration directory.")),
				def(num("depth", "Clone depth; 0 clones the full history."), cty.NumberIntVal(0)),
			},
			Computed: []*Computed{
				{Name: "commit", Type: cty.String, Key: "REPO_COMMIT", Description: "The commit checked out."},
				outputs(),
			},
			finish: finishNonNegative("depth"),
		},
		{
			Type:        "image",
			Description: "A container image built from `context` and `dockerfile`.",
			Steps:       []string{contract.StepBuildImage, contract.StepRemoveImage},
			Attributes: []*Attribute{
				def(str("context", "Build context directory (relative to the configuration directory)."), cty.StringVal(".")),
				def(str("dockerfile", "Dockerfile path, relative to the context."), cty.StringVal("Dockerfile")),
				strList("tags", "Tags to apply to the image."),
				strMap("build_args", "Build arguments."),
			},
			Computed: []*Computed{
				{Name: "ref", Type: cty.String, Key: "IMAGE_REF", Description: "A reference to the built image (its first tag, or its ID)."},
				{Name: "id", Type: cty.String, Key: "IMAGE_ID", Description: "The image ID."},
				outputs(),
			},
			provider: func(cty.Value) string { return "docker" },
		},
		{
			Type:        "service",
			Description: "A long-running service: a container when `image` is set, otherwise a local process running `command`. With `health_check`, the plan verifies it over HTTP after it starts.",
			Steps:       []string{contract.StepEnsureService, contract.StepVerifyHTTP, contract.StepRemoveService},
			Attributes: []*Attribute{
				required(str("name", "Name of the service (container name or process name).")),
				str("image", "Container image; without it the service is a local process."),
				{Name: "command", Type: cty.List(cty.String), Kind: KindArgv, Description: "Command to run, as a list of strings; a string s is accepted and becomes [\"sh\", \"-c\", s]. Required for a process service."},
				objectList("ports", "Published ports (containers).",
					required(num("external", "Port on the host.")),
					required(num("internal", "Port inside the container.")),
					def(&Attribute{Name: "protocol", Type: cty.String, Enum: []string{"tcp", "udp"}, Description: "Protocol."}, cty.StringVal("tcp")),
					def(str("host_ip", "Host address to bind."), cty.StringVal("127.0.0.1")),
				),
				strMap("environment", "Environment variables; numbers and booleans are converted to strings."),
				strList("volumes", "Volume mounts (\"name:/path\" or \"./dir:/path[:ro]\")."),
				strList("networks", "Networks to attach the container to."),
				str("restart", "Restart policy; defaults to \"unless-stopped\" for containers."),
				str("workdir", "Working directory; for a process, relative to the configuration directory."),
				str("memory", "Memory limit (\"512m\")."),
				num("cpus", "CPU limit."),
				object("logging", "Logging driver of a container.", true,
					str("driver", "Logging driver."),
					strMap("opts", "Driver options."),
				),
				object("health_check", "HTTP health check run after the service starts (a verify_http step).", true,
					def(str("path", "URL path to request."), cty.StringVal("/")),
					num("port", "Port to request on 127.0.0.1; defaults to the first port's external port and is required when the service has no ports."),
					duration("interval", "Time between attempts."),
					duration("timeout", "Timeout of one attempt."),
					def(num("retries", "Attempts before the check fails."), cty.NumberIntVal(3)),
					def(num("expect_status", "Expected HTTP status."), cty.NumberIntVal(200)),
				),
			},
			Computed: []*Computed{
				{Name: "container_id", Type: cty.String, Key: "CONTAINER_ID", Description: "ID of the container (container services)."},
				{Name: "pid", Type: cty.String, Key: "PID", Description: "Process ID (process services)."},
				outputs(),
			},
			finish: finishService,
			provider: func(attrs cty.Value) string {
				if attrs.Type().HasAttribute("image") && !isNull(attrs.GetAttr("image")) {
					return "docker"
				}
				return "local"
			},
		},
		{
			Type:        "network",
			Description: "A container network.",
			Steps:       []string{contract.StepEnsureNetwork, contract.StepRemoveNetwork},
			Attributes: []*Attribute{
				required(str("name", "Network name.")),
				def(str("driver", "Network driver."), cty.StringVal("bridge")),
				strMap("labels", "Labels."),
			},
			Computed: []*Computed{
				{Name: "id", Type: cty.String, Key: "NETWORK_ID", Description: "The network ID."},
				outputs(),
			},
			provider: func(cty.Value) string { return "docker" },
		},
		{
			Type:        "volume",
			Description: "A container volume.",
			Steps:       []string{contract.StepEnsureVolume, contract.StepRemoveVolume},
			Attributes: []*Attribute{
				required(str("name", "Volume name.")),
				def(str("driver", "Volume driver."), cty.StringVal("local")),
				strMap("labels", "Labels."),
			},
			Computed: []*Computed{outputs()},
			provider: func(cty.Value) string { return "docker" },
		},
		{
			Type:        "command",
			Description: "A command with an idempotency guard: it runs unless `creates` exists, unless `unless` succeeds, and only if `only_if` succeeds. Every KEY=VALUE it writes to $CW_OUTPUT is available as `command.NAME.outputs.KEY`.",
			Steps:       []string{contract.StepRunCommand},
			Attributes: []*Attribute{
				required(&Attribute{Name: "command", Type: cty.DynamicPseudoType, Kind: KindCommand, Description: "A string (run with sh -c) or a list of strings."}),
				str("creates", "Skip the command when this path exists."),
				str("unless", "Skip the command when this shell command succeeds."),
				str("only_if", "Run the command only when this shell command succeeds."),
				strMap("environment", "Environment variables; numbers and booleans are converted to strings."),
				str("workdir", "Working directory, relative to the configuration directory."),
				str("on_destroy", "Shell command run when the resource is removed from the configuration."),
			},
			Computed: []*Computed{outputs()},
		},
		{
			Type:        "check",
			Description: "A verification: `http` needs `url`, `tcp` needs `address`, `file_exists` needs `path`, `command` needs `command`.",
			Steps:       []string{contract.StepVerifyHTTP, contract.StepVerifyTCP, contract.StepVerifyFile, contract.StepVerifyCommand},
			Attributes: []*Attribute{
				required(&Attribute{Name: "type", Type: cty.String, Enum: []string{"http", "tcp", "file_exists", "command"}, Description: "Kind of check."}),
				str("url", "URL to request (http)."),
				def(num("expect_status", "Expected HTTP status (http)."), cty.NumberIntVal(200)),
				str("expect_body", "Substring the response body must contain (http)."),
				str("address", "host:port to connect to (tcp)."),
				str("path", "Path that must exist (file_exists)."),
				{Name: "command", Type: cty.DynamicPseudoType, Kind: KindCommand, Description: "Command that must succeed (command): a string or a list of strings."},
				duration("timeout", "Timeout of one attempt."),
				num("retries", "Attempts before the check fails."),
				duration("interval", "Time between attempts."),
			},
			Computed: []*Computed{outputs()},
			finish:   finishCheck,
		},
		{
			Type:        "task",
			Description: "A free-form intent in words with typed inputs; only an LLM compiler can compile it (a `custom` step).",
			Steps:       []string{contract.StepCustom},
			Attributes: []*Attribute{
				required(str("intent", "What should be true, in words (\"rotate the nginx logs daily\").")),
				{Name: "inputs", Type: cty.DynamicPseudoType, Kind: KindAny, Description: "Inputs for the compiler (a map or object of any values)."},
			},
			Computed: []*Computed{outputs()},
			finish: func(m map[string]cty.Value) []Problem {
				if v, ok := known(m["inputs"]); ok && !v.Type().IsObjectType() && !v.Type().IsMapType() {
					return []Problem{{Attr: "inputs", Path: "inputs", Summary: "Incorrect attribute value type",
						Detail: "Inappropriate value for attribute \"inputs\": a map or object is required."}}
				}
				return nil
			},
		},
	}
}
