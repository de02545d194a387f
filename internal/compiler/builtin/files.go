package builtin

import (
	"strings"
	"unicode/utf8"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// ensureFile writes a file's content next to the target, then renames it
// into place, only when the bytes differ; then sets the mode.
func ensureFile(u *unit, a *args) script {
	a.str("path", "FILE_PATH", true, "")
	a.mode("mode", "FILE_MODE", "0644")
	hasContent, hasSource := a.has("content"), a.has("source")
	switch {
	case hasContent && hasSource:
		u.errorf("args \"content\" and \"source\" are exclusive")
	case hasSource:
		a.str("source", "FILE_SOURCE", true, "")
	case hasContent:
		v, from, _ := a.lookup("content")
		if from != "" {
			u.env["FILE_CONTENT_FROM"] = from
			break
		}
		s, ok := v.(string)
		switch {
		case !ok:
			u.errorf("arg \"content\" must be a string, got %s", describe(v))
		case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
			u.errorf("arg \"content\" is not UTF-8 text without NUL bytes; use \"source\" for binary files")
		default:
			// The content is its own artifact, so that large content stays
			// out of the environment and the user can read and edit it.
			p := u.base + ".content"
			u.env["FILE_CONTENT_FILE"] = p
			u.extra = append(u.extra, contract.Artifact{
				Path: p, Mode: "0644", Purpose: u.step.ID, Lang: "text", Content: s,
			})
		}
	default:
		u.errorf("missing arg \"content\" or \"source\"")
	}
	return script{
		lang: langBash,
		inputs: []input{
			{"FILE_PATH", "the file to write; relative to $CW_ROOT"},
			{"FILE_MODE", "its mode, octal (0644)"},
			{"FILE_CONTENT_FILE", "content: a file of the bundle, relative to $CW_BUILD, or"},
			{"FILE_SOURCE", "content: a file to copy, relative to $CW_ROOT, or"},
			{"FILE_CONTENT", "content: the value itself (given as FILE_CONTENT_FROM)"},
		},
		body: bash(ensureFileCode, helperInput, helperAbs, helperMode),
	}
}

const ensureFileCode = `
cw_require path FILE_PATH
cw_require mode FILE_MODE
cw_abs path
cw_input content_file FILE_CONTENT_FILE
cw_input source FILE_SOURCE

# cw_slurp VAR FILE reads the whole of FILE into VAR with bash builtins only
# (no process is started). For text without NUL bytes, which is what the
# bundle's content files are.
cw_slurp() {
  IFS= read -r -d '' "$1" <"$2" || true
}

# The content comes from a file to copy (src, any bytes) or is text (content).
src=""
content=""
if [[ -n $content_file ]]; then
  if [[ $content_file != /* ]]; then
    content_file="${CW_BUILD:-$PWD}/$content_file"
  fi
  if [[ ! -f $content_file ]]; then
    echo "error: content file $content_file does not exist" >&2
    exit 1
  fi
  cw_slurp content "$content_file"
elif [[ -n $source ]]; then
  src=$source
  cw_abs src
  if [[ ! -f $src ]]; then
    echo "error: source file $src does not exist" >&2
    exit 1
  fi
else
  cw_input content FILE_CONTENT
fi
if [[ -d $path && ! -L $path ]]; then
  echo "error: $path is a directory" >&2
  exit 1
fi

same_content() {
  if [[ -n $src ]]; then
    cmp -s -- "$src" "$path"
  else
    local current
    cw_slurp current "$path"
    [[ $current == "$content" ]]
  fi
}

if [[ -f $path ]] && same_content; then
  echo "unchanged: $path"
  cw_chmod "$mode" "$path"
  exit 0
fi

# A new file is created in place (noclobber: only if it still does not
# exist), so creating costs no extra process. An existing file is replaced
# atomically: the new content goes to a temporary file next to it, then is
# renamed over it, so readers see the old file or the new one, never half.
# umask gives the new file its mode without a chmod.
dir=${path%/*}
dir=${dir:-/}
[[ -d $dir ]] || mkdir -p -- "$dir"
printf -v um '%o' $(( 0777 & ~8#$mode ))
umask "$um"
set -o noclobber
target=$path
if [[ -e $path || -L $path ]]; then
  target="$dir/.${path##*/}.cw-$$-$RANDOM"
  trap 'rm -f -- "$target"' EXIT
fi
if [[ -n $src ]]; then
  cat -- "$src" >"$target"
else
  printf '%s' "$content" >"$target"
fi
set +o noclobber
if (( 8#$mode & 07111 )); then
  chmod -- "$mode" "$target"
fi
if [[ $target != "$path" ]]; then
  mv -f -- "$target" "$path"
  trap - EXIT
fi
echo "wrote $path (mode $mode)"
`

// removeFile deletes a file; a file that is already gone is fine.
func removeFile(u *unit, a *args) script {
	a.str("path", "FILE_PATH", true, "")
	return script{
		lang:   langBash,
		inputs: []input{{"FILE_PATH", "the file to remove; relative to $CW_ROOT"}},
		body:   bash(removeFileCode, helperInput, helperAbs),
	}
}

const removeFileCode = `
cw_require path FILE_PATH
cw_abs path

if [[ -d $path && ! -L $path ]]; then
  echo "error: $path is a directory, not a file: left in place" >&2
  exit 1
elif [[ -e $path || -L $path ]]; then
  rm -f -- "$path"
  echo "removed $path"
else
  echo "already absent: $path"
fi
`

// ensureDirectory creates a directory (and its parents) and sets its mode.
func ensureDirectory(u *unit, a *args) script {
	a.str("path", "DIR_PATH", true, "")
	a.mode("mode", "DIR_MODE", "0755")
	return script{
		lang: langBash,
		inputs: []input{
			{"DIR_PATH", "the directory; relative to $CW_ROOT"},
			{"DIR_MODE", "its mode, octal (0755)"},
		},
		body: bash(ensureDirectoryCode, helperInput, helperAbs, helperMode),
	}
}

const ensureDirectoryCode = `
cw_require path DIR_PATH
cw_require mode DIR_MODE
cw_abs path

if [[ -e $path && ! -d $path ]]; then
  echo "error: $path exists and is not a directory" >&2
  exit 1
fi
if [[ -d $path ]]; then
  echo "exists: $path"
else
  mkdir -p -- "$path"
  echo "created $path"
fi
cw_chmod "$mode" "$path"
`

// removeDirectory removes a directory only when it is empty; a directory
// with content is left in place and reported.
func removeDirectory(u *unit, a *args) script {
	a.str("path", "DIR_PATH", true, "")
	return script{
		lang:   langBash,
		inputs: []input{{"DIR_PATH", "the directory to remove when empty; relative to $CW_ROOT"}},
		body:   bash(removeDirectoryCode, helperInput, helperAbs),
	}
}

const removeDirectoryCode = `
cw_require path DIR_PATH
cw_abs path

if [[ ! -e $path && ! -L $path ]]; then
  echo "already absent: $path"
elif [[ ! -d $path || -L $path ]]; then
  echo "error: $path is not a directory: left in place" >&2
  exit 1
elif [[ -n "$(ls -A -- "$path")" ]]; then
  echo "notice: $path is not empty: left in place (remove its content to delete it)"
else
  rmdir -- "$path"
  echo "removed $path"
fi
`

// verifyFile checks that a path exists.
func verifyFile(u *unit, a *args) script {
	a.str("path", "CHECK_PATH", true, "")
	return script{
		lang:   langBash,
		inputs: []input{{"CHECK_PATH", "the path that must exist; relative to $CW_ROOT"}},
		body:   bash(verifyFileCode, helperInput, helperAbs),
	}
}

const verifyFileCode = `
cw_require path CHECK_PATH
cw_abs path

if [[ -e $path ]]; then
  echo "ok: $path exists"
else
  echo "check failed: $path does not exist" >&2
  exit 1
fi
`
