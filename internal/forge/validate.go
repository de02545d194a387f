package forge

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// MaxPathLen bounds the length of an artifact path in bytes.
const MaxPathLen = 255

// Bounds of run.timeout (seconds) and run.retries, as in the bundle schema.
const (
	MaxStepTimeout = 86400
	MaxStepRetries = 10
)

// Reserved file names at the top of the build directory, and the reserved
// directory for the daemon's agent files. Compared case-insensitively.
var reservedNames = []string{manifestFile, bundleFile, actionListFile, factsFile}

const reservedDir = "agent"

// tempPrefix starts the names of the writer's temporary files.
const tempPrefix = ".cw-tmp-"

// langRuntime maps an artifact lang to the runtime that runs it.
var langRuntime = map[string]string{
	"bash":    "bash",
	"sh":      "sh",
	"python":  "python3",
	"python3": "python3",
	"node":    "node",
	"deno":    "deno",
	"go":      "go",
}

// trustedInterpreterDirs are the only directories a shebang may name an
// interpreter (or env) in: a shebang of /tmp/bash is not bash.
var trustedInterpreterDirs = map[string]bool{"/bin": true, "/usr/bin": true, "/usr/local/bin": true}

// reservedEnv are variables a bundle may not set through run.env or vars:
// the executor owns them, or they change how an interpreter loads code.
var reservedEnv = map[string]bool{
	"PATH": true, "HOME": true, "IFS": true, "ENV": true, "BASH_ENV": true,
	"SHELLOPTS": true, "BASHOPTS": true, "PS4": true, "PROMPT_COMMAND": true,
	"PYTHONPATH": true, "PYTHONHOME": true, "PYTHONSTARTUP": true, "PYTHONINSPECT": true,
	"NODE_OPTIONS": true, "NODE_PATH": true, "DENO_DIR": true,
	"GOFLAGS": true, "GOTOOLCHAIN": true, "GOROOT": true, "GOPATH": true, "GOPROXY": true,
}

// reservedEnvPrefixes are variable prefixes a bundle may not set.
var reservedEnvPrefixes = []string{"CW_", "LD_", "DYLD_", "BASH_FUNC_"}

var (
	modeRE    = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	langRE    = regexp.MustCompile(`^[a-z0-9_+-]{1,32}$`)
	// runtimeNameRE is what a runtime named in a shebang must look like.
	runtimeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	// shell options allowed after a shebang's bash/sh (e.g. "#!/bin/bash -eu").
	shellShebangFlagRE = regexp.MustCompile(`^-[eEuxv]+$`)
)

// Validate checks a bundle against the ActionList and the policy. It returns
// nil or a *ValidationError listing every violation, sorted. Any error that
// is not a *ValidationError means Validate could not run (nil inputs).
func Validate(b *contract.Bundle, al *contract.ActionList, p Policy) error {
	if b == nil {
		return errors.New("validate bundle: no bundle")
	}
	if al == nil {
		return errors.New("validate bundle: no action list")
	}
	p = p.withDefaults()
	var vs violations
	if b.Version != contract.Version {
		vs.add(RuleSchema, "", "", "version is %q, want %q", b.Version, contract.Version)
	}
	arts := checkArtifacts(&vs, b, al, p)
	checkSteps(&vs, b, al, p, arts)
	checkVars(&vs, b.Vars)
	return vs.err()
}

// artifactInfo is what step checks need to know about an artifact.
type artifactInfo struct {
	art        *contract.Artifact
	mode       uint64
	modeOK     bool   // parsed (it may still break mode rules, reported apart)
	shebangRT  string // runtime named by a valid shebang, "" if none
	executable bool
}

func checkArtifacts(vs *violations, b *contract.Bundle, al *contract.ActionList, p Policy) map[string]*artifactInfo {
	planned := plannedIDs(al)
	if len(b.Artifacts) > p.MaxArtifacts {
		vs.add(RuleSize, "", "", "%d artifacts, at most %d allowed", len(b.Artifacts), p.MaxArtifacts)
	}
	arts := map[string]*artifactInfo{}
	folded := map[string]string{} // case-folded path -> first path
	var total int64
	for i := range b.Artifacts {
		a := &b.Artifacts[i]
		for _, msg := range pathProblems(a.Path) {
			vs.add(RulePath, a.Path, "", "%s", msg)
		}
		if !strings.Contains(a.Path, "/") && (p.allows(a.Path) || langRuntime[strings.ToLower(a.Path)] != "") {
			vs.add(RulePath, a.Path, "", "a top-level artifact named like a runtime could shadow it")
		}
		key := strings.ToLower(a.Path)
		if first, dup := folded[key]; dup {
			if first == a.Path {
				vs.add(RuleCollision, a.Path, "", "path appears more than once")
			} else {
				vs.add(RuleCollision, a.Path, "", "path collides with %q under case folding", first)
			}
		} else {
			folded[key] = a.Path
		}
		if a.Purpose == "" {
			vs.add(RulePurpose, a.Path, "", "artifact has no purpose")
		} else if !planned[a.Purpose] {
			vs.add(RulePurpose, a.Path, "", "purpose %q is not a step of the action list", a.Purpose)
		}
		if !langRE.MatchString(a.Lang) {
			vs.add(RuleSchema, a.Path, "", "lang %q is not 1-32 characters of [a-z0-9_+-]", a.Lang)
		}
		info := &artifactInfo{art: a}
		if _, seen := arts[a.Path]; !seen {
			arts[a.Path] = info
		}
		info.mode, info.modeOK = checkMode(vs, a)
		checkContent(vs, a, p)
		total += int64(len(a.Content))
		if info.modeOK && info.mode&0o111 != 0 {
			info.executable = true
			info.shebangRT = checkExecutable(vs, a, p)
		}
	}
	if total > p.MaxTotalSize {
		vs.add(RuleSize, "", "", "artifacts total %d bytes, at most %d allowed", total, p.MaxTotalSize)
	}
	// A file where another artifact needs a directory ("scripts" and
	// "scripts/x.sh"), compared case-insensitively.
	for key, p1 := range folded {
		for dir := path.Dir(key); dir != "." && dir != "/" && dir != ""; dir = path.Dir(dir) {
			if p2, ok := folded[dir]; ok {
				vs.add(RuleCollision, p2, "", "artifact is a file but %q needs it to be a directory", p1)
			}
		}
	}
	return arts
}

// pathProblems returns why p is not a safe artifact path, or nothing.
func pathProblems(p string) []string {
	var out []string
	if p == "" {
		return []string{"path is empty"}
	}
	if len(p) > MaxPathLen {
		out = append(out, fmt.Sprintf("path is %d bytes long, at most %d allowed", len(p), MaxPathLen))
	}
	var control, backslash, other bool
	for _, r := range p {
		switch {
		case r < 0x20 || r == 0x7f:
			control = true
		case r == '\\':
			backslash = true
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == '/':
		default:
			other = true
		}
	}
	if control {
		out = append(out, "path contains a NUL or control character")
	}
	if backslash {
		out = append(out, "path contains a backslash")
	}
	if other {
		out = append(out, "path has characters outside [A-Za-z0-9._/-] (non-ASCII look-alikes are refused)")
	}
	if strings.HasPrefix(p, "/") {
		out = append(out, "path is absolute")
	}
	traversal := false
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			traversal = true
		}
		if strings.HasPrefix(el, "-") {
			out = append(out, fmt.Sprintf("path element %q starts with '-'", el))
		}
		if strings.HasPrefix(el, tempPrefix) {
			out = append(out, fmt.Sprintf("path element %q uses the writer's reserved prefix %q", el, tempPrefix))
		}
	}
	if traversal {
		out = append(out, "path has a '..' element")
	}
	if path.Clean(p) != p || p == "." {
		out = append(out, fmt.Sprintf("path is not clean (clean form %q)", path.Clean(p)))
	}
	lower := strings.ToLower(p)
	for _, r := range reservedNames {
		if lower == r {
			out = append(out, fmt.Sprintf("path %q is reserved for forge", r))
		}
	}
	if lower == reservedDir || strings.HasPrefix(lower, reservedDir+"/") {
		out = append(out, fmt.Sprintf("directory %q is reserved for the daemon", reservedDir+"/"))
	}
	return out
}

// checkMode parses the artifact mode and checks it has no bits outside 0755
// and is owner-readable. It reports whether the mode parsed at all.
func checkMode(vs *violations, a *contract.Artifact) (uint64, bool) {
	if !modeRE.MatchString(a.Mode) {
		vs.add(RuleMode, a.Path, "", "mode %q is not an octal mode like \"0644\"", a.Mode)
		return 0, false
	}
	m, err := strconv.ParseUint(a.Mode, 8, 32)
	if err != nil {
		vs.add(RuleMode, a.Path, "", "mode %q: %v", a.Mode, err)
		return 0, false
	}
	bad := func(bit uint64, what string) {
		if m&bit != 0 {
			vs.add(RuleMode, a.Path, "", "mode %s is %s", a.Mode, what)
		}
	}
	bad(0o4000, "setuid")
	bad(0o2000, "setgid")
	bad(0o1000, "sticky")
	bad(0o020, "group-writable")
	bad(0o002, "world-writable")
	if m&0o400 == 0 {
		vs.add(RuleMode, a.Path, "", "mode %s is not readable by its owner", a.Mode)
	}
	if m&0o111 != 0 && m&0o100 == 0 {
		vs.add(RuleMode, a.Path, "", "mode %s is executable by others but not by its owner", a.Mode)
	}
	return m, true
}

// checkContent: valid UTF-8 text, no NUL, no U+FFFD (the mark of a lossy
// decoding of invalid UTF-8 or a lone surrogate), size bound.
func checkContent(vs *violations, a *contract.Artifact, p Policy) {
	if int64(len(a.Content)) > p.MaxArtifactSize {
		vs.add(RuleSize, a.Path, "", "content is %d bytes, at most %d allowed", len(a.Content), p.MaxArtifactSize)
	}
	if !utf8.ValidString(a.Content) {
		vs.add(RuleContent, a.Path, "", "content is not valid UTF-8")
	}
	if strings.IndexByte(a.Content, 0) >= 0 {
		vs.add(RuleContent, a.Path, "", "content contains a NUL byte")
	}
	if strings.ContainsRune(a.Content, utf8.RuneError) {
		vs.add(RuleContent, a.Path, "", "content contains U+FFFD (invalid UTF-8 or a lone surrogate was replaced)")
	}
}

// checkExecutable checks an executable artifact: a runtime lang and a
// shebang naming that runtime, which must be allowlisted. It returns the
// runtime when the shebang is acceptable.
func checkExecutable(vs *violations, a *contract.Artifact, p Policy) string {
	want, known := langRuntime[a.Lang]
	if !known {
		vs.add(RuleShebang, a.Path, "", "executable artifact has lang %q, which no runtime runs", a.Lang)
		return ""
	}
	if want == "go" {
		vs.add(RuleMode, a.Path, "", "go artifacts are run with \"go run\" and must not be executable")
		return ""
	}
	rt, err := parseShebang(a.Content)
	if err != nil {
		vs.add(RuleShebang, a.Path, "", "%v", err)
		return ""
	}
	if !p.allows(rt) {
		vs.add(RuleShebang, a.Path, "", "shebang runtime %q is not allowlisted", rt)
		return ""
	}
	if rt != want {
		vs.add(RuleShebang, a.Path, "", "shebang runs %q but lang %q needs %q", rt, a.Lang, want)
		return ""
	}
	return rt
}

// parseShebang returns the runtime an executable's first line names:
// "#!/bin/bash", "#!/usr/bin/bash -eu", "#!/usr/bin/env python3". The
// interpreter must live in a trusted system directory; env takes exactly one
// runtime name and no options (so "env -S ..." and "env VAR=x ..." fail).
func parseShebang(content string) (string, error) {
	if !strings.HasPrefix(content, "#!") {
		return "", errors.New("executable artifact does not start with a shebang (#!)")
	}
	line, _, _ := strings.Cut(content[2:], "\n")
	if strings.ContainsAny(line, "\r\x00") {
		return "", errors.New("shebang line contains a carriage return or NUL")
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "", errors.New("shebang names no interpreter")
	}
	interp := fields[0]
	if !path.IsAbs(interp) || path.Clean(interp) != interp {
		return "", fmt.Errorf("shebang interpreter %q is not a clean absolute path", interp)
	}
	dir, base := path.Dir(interp), path.Base(interp)
	if !trustedInterpreterDirs[dir] {
		return "", fmt.Errorf("shebang interpreter %q is not in /bin, /usr/bin or /usr/local/bin", interp)
	}
	if base == "env" {
		if len(fields) != 2 {
			return "", fmt.Errorf("shebang %q: env must name exactly one runtime and no options", strings.TrimSpace(line))
		}
		name := fields[1]
		if !runtimeNameRE.MatchString(name) {
			return "", fmt.Errorf("shebang %q: env must name a runtime, not %q", strings.TrimSpace(line), name)
		}
		return name, nil
	}
	if len(fields) > 2 || (len(fields) == 2 && !((base == "bash" || base == "sh") && shellShebangFlagRE.MatchString(fields[1]))) {
		return "", fmt.Errorf("shebang %q: only bash and sh may take options, and only -e, -E, -u, -x, -v", strings.TrimSpace(line))
	}
	if !runtimeNameRE.MatchString(base) {
		return "", fmt.Errorf("shebang interpreter %q is not a runtime name", interp)
	}
	return base, nil
}

func plannedIDs(al *contract.ActionList) map[string]bool {
	ids := make(map[string]bool, len(al.Steps))
	for _, s := range al.Steps {
		ids[s.ID] = true
	}
	return ids
}

func checkSteps(vs *violations, b *contract.Bundle, al *contract.ActionList, p Policy, arts map[string]*artifactInfo) {
	planned := plannedIDs(al)
	count := map[string]int{}
	for i := range b.Steps {
		s := &b.Steps[i]
		count[s.Purpose]++
		if s.Purpose == "" {
			vs.add(RulePurpose, "", "", "bundle step %d has no purpose", i)
		} else if !planned[s.Purpose] {
			vs.add(RulePurpose, "", s.Purpose, "purpose is not a step of the action list")
		}
		checkRun(vs, s.Purpose, &s.Run, p, arts)
	}
	for purpose, n := range count {
		if n > 1 && purpose != "" {
			vs.add(RulePurpose, "", purpose, "%d bundle steps share this purpose, want exactly one", n)
		}
	}
	for _, st := range al.Steps {
		if count[st.ID] == 0 {
			vs.add(RulePurpose, "", st.ID, "planned step has no bundle step")
		}
	}
}

func checkRun(vs *violations, purpose string, r *contract.Run, p Policy, arts map[string]*artifactInfo) {
	if r.Timeout < 0 || r.Timeout > MaxStepTimeout {
		vs.add(RuleSchema, "", purpose, "timeout %d is outside 0..%d", r.Timeout, MaxStepTimeout)
	}
	if r.Retries < 0 || r.Retries > MaxStepRetries {
		vs.add(RuleSchema, "", purpose, "retries %d is outside 0..%d", r.Retries, MaxStepRetries)
	}
	for k, v := range r.Env {
		if msg := envKeyProblem(k); msg != "" {
			vs.add(RuleEnv, "", purpose, "run.env %s", msg)
		}
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			vs.add(RuleEnv, "", purpose, "run.env %q: value is not NUL-free UTF-8", k)
		}
	}
	if len(r.Cmd) == 0 {
		vs.add(RuleSchema, "", purpose, "run.cmd is empty")
		return
	}
	if len(r.Cmd) > 256 {
		vs.add(RuleSchema, "", purpose, "run.cmd has %d elements, at most 256 allowed", len(r.Cmd))
	}
	for _, a := range r.Cmd {
		if !utf8.ValidString(a) || strings.IndexByte(a, 0) >= 0 {
			vs.add(RuleContent, "", purpose, "run.cmd element is not NUL-free UTF-8")
			break
		}
	}
	cmd0 := r.Cmd[0]
	if !strings.Contains(cmd0, "/") && p.allows(cmd0) {
		checkRuntimeArgs(vs, purpose, cmd0, r.Cmd[1:], arts)
		return
	}
	if !strings.Contains(cmd0, "/") && artifactRef(cmd0, arts) != nil {
		// A bare name is looked up on PATH by the runner, so it can only
		// name an allowlisted runtime; an artifact is referenced with a
		// slash ("./x.sh", "scripts/x.sh"), or a same-named program on PATH
		// would run instead of it.
		vs.add(RuleRuntime, "", purpose, "run.cmd[0] %q names an artifact without a path, so a program of that name on PATH would run instead; write ./%s",
			cmd0, cmd0)
		return
	}
	if info := artifactRef(cmd0, arts); info != nil {
		switch {
		case !info.executable:
			vs.add(RuleRuntime, "", purpose, "run.cmd[0] %q is an artifact but not executable", cmd0)
		case info.shebangRT == "":
			vs.add(RuleRuntime, "", purpose, "run.cmd[0] %q has no shebang naming an allowlisted runtime", cmd0)
		}
		return
	}
	vs.add(RuleRuntime, "", purpose, "run.cmd[0] %q is neither an allowlisted runtime (%s) nor an executable artifact of the bundle",
		cmd0, strings.Join(p.Allowlist, ", "))
}

// artifactRef resolves "scripts/x.sh" or "./scripts/x.sh" to an artifact.
func artifactRef(s string, arts map[string]*artifactInfo) *artifactInfo {
	s = strings.TrimPrefix(s, "./")
	if s == "" || path.Clean(s) != s {
		return nil
	}
	return arts[s]
}

// runtimeFlags are the options accepted before the script for each runtime;
// anything else (python3 -m, node --require, go run -exec, deno --config, ...)
// could load code from outside the bundle and is refused.
var runtimeFlags = map[string]map[string]bool{
	"bash":    {"--norc": true, "--noprofile": true, "--posix": true}, // plus shellFlagsRE
	"sh":      {},                                                     // shellFlagsRE only
	"python3": {"-u": true, "-B": true, "-E": true, "-I": true, "-s": true, "-S": true, "-O": true, "-OO": true, "-q": true, "-b": true, "-bb": true},
	"node":    {"--no-warnings": true, "--enable-source-maps": true, "--no-deprecation": true},
	"deno":    {"-A": true, "-q": true, "--quiet": true, "--no-prompt": true, "--no-config": true, "--no-lock": true, "--no-npm": true, "--no-remote": true},
}

// inlineFlags introduce inline code (the code itself is in bundle.json,
// visible and validated as text).
var inlineFlags = map[string]map[string]bool{
	"python3": {"-c": true},
	"node":    {"-e": true, "--eval": true, "-p": true, "--print": true},
}

var (
	shellOptionRE = regexp.MustCompile(`^[a-z]+$`)
	// shellFlagsRE: bash/sh short option clusters such as -e, -eu, -euo
	// (an 'o' takes the next argument as an option name) and, ending in
	// 'c', inline code (-c, -ec).
	shellFlagsRE = regexp.MustCompile(`^-[euxvEo]*c?$`)
	denoAllowRE  = regexp.MustCompile(`^--(allow|deny)-(read|write|net|env|run|sys|ffi|hrtime|import|all)(=[^\x00]*)?$`)
)

// checkRuntimeArgs checks the arguments of an allowlisted runtime: options
// from a short list, then inline code or a script that is an artifact of
// the bundle. After the script, arguments are the script's own.
func checkRuntimeArgs(vs *violations, purpose, rt string, args []string, arts map[string]*artifactInfo) {
	if rt == "go" {
		if len(args) < 2 || args[0] != "run" {
			vs.add(RuleRuntime, "", purpose, "go may only be run as \"go run <artifact>.go\"")
			return
		}
		info := artifactRef(args[1], arts)
		if info == nil || !strings.HasSuffix(info.art.Path, ".go") {
			vs.add(RuleRuntime, "", purpose, "go run %q: not a .go artifact of the bundle", args[1])
			return
		}
		checkScriptLang(vs, purpose, rt, info)
		return
	}
	i := 0
	if rt == "deno" && len(args) > 0 {
		switch args[0] {
		case "run":
			i = 1
		case "eval":
			if len(args) < 2 {
				vs.add(RuleRuntime, "", purpose, "deno eval needs inline code")
			}
			return
		}
	}
	flags := runtimeFlags[rt]
	for ; i < len(args); i++ {
		a := args[i]
		shell := (rt == "bash" || rt == "sh") && a != "-" && shellFlagsRE.MatchString(a)
		if shell && strings.Contains(a, "o") {
			i++
			if i >= len(args) || !shellOptionRE.MatchString(args[i]) {
				vs.add(RuleRuntime, "", purpose, "%s %s needs an option name", rt, a)
				return
			}
		}
		if inlineFlags[rt][a] || (shell && strings.HasSuffix(a, "c")) {
			if i+1 >= len(args) {
				vs.add(RuleRuntime, "", purpose, "%s %s needs inline code", rt, a)
			}
			return
		}
		if shell {
			continue
		}
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") {
			break
		}
		switch {
		case flags[a]:
		case rt == "deno" && denoAllowRE.MatchString(a):
		default:
			vs.add(RuleRuntime, "", purpose, "option %q of %s is not allowed (it could load code from outside the bundle)", a, rt)
			return
		}
	}
	if i >= len(args) {
		vs.add(RuleRuntime, "", purpose, "%s is given neither a script artifact nor inline code", rt)
		return
	}
	info := artifactRef(args[i], arts)
	if info == nil {
		vs.add(RuleRuntime, "", purpose, "%s script %q is not an artifact of the bundle", rt, args[i])
		return
	}
	checkScriptLang(vs, purpose, rt, info)
}

func checkScriptLang(vs *violations, purpose, rt string, info *artifactInfo) {
	if want, known := langRuntime[info.art.Lang]; known && want != rt {
		vs.add(RuleRuntime, "", purpose, "%s runs artifact %q whose lang %q needs %s", rt, info.art.Path, info.art.Lang, want)
	}
}

// envKeyProblem says why k may not be set by a bundle, or "".
func envKeyProblem(k string) string {
	if !envNameRE.MatchString(k) {
		return fmt.Sprintf("%q is not a valid environment variable name", k)
	}
	up := strings.ToUpper(k)
	if reservedEnv[up] {
		return fmt.Sprintf("%q is reserved (set by the executor or changes how interpreters load code)", k)
	}
	for _, pre := range reservedEnvPrefixes {
		if strings.HasPrefix(up, pre) {
			return fmt.Sprintf("%q is reserved (prefix %s)", k, pre)
		}
	}
	return ""
}

func checkVars(vs *violations, vars map[string]any) {
	for k, v := range vars {
		if msg := envKeyProblem(k); msg != "" {
			vs.add(RuleEnv, "", "", "vars %s", msg)
		}
		switch t := v.(type) {
		case string:
			if !utf8.ValidString(t) || strings.IndexByte(t, 0) >= 0 {
				vs.add(RuleEnv, "", "", "vars %q: value is not NUL-free UTF-8", k)
			}
		case bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		default:
			vs.add(RuleSchema, "", "", "vars %q: value of type %T, want string, number or boolean", k, v)
		}
	}
}

// ValidateBundleJSON decodes a bundle from untrusted JSON and validates it:
// encoding (UTF-8, no lone surrogate escapes), then the JSON Schema
// (contract.ParseBundle), then Validate. Errors are *ValidationError.
func ValidateBundleJSON(data []byte, al *contract.ActionList, p Policy) (*contract.Bundle, error) {
	p = p.withDefaults()
	b, err := decodeBundle(data, p)
	if err != nil {
		return nil, err
	}
	if err := Validate(b, al, p); err != nil {
		return nil, err
	}
	return b, nil
}

// loneSurrogate reports whether JSON text has a \uD800-\uDFFF escape that
// is not part of a high+low surrogate pair (encoding/json would silently
// turn it into U+FFFD).
func loneSurrogate(data []byte) bool {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(data) {
				return false
			}
			if data[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hex4(data, i+2)
			if !ok {
				i++
				continue
			}
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				// needs a following \uDC00-\uDFFF
				if i+11 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
					if r2, ok := hex4(data, i+8); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
						i += 11
						continue
					}
				}
				return true
			case r >= 0xDC00 && r <= 0xDFFF:
				return true
			}
			i += 5
		}
	}
	return false
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(data[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}
