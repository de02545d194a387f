package builtin

// fetchRepo clones or updates a git checkout and checks out a ref, then
// publishes the commit as REPO_COMMIT.
func fetchRepo(u *unit, a *args) script {
	a.str("url", "REPO_URL", true, "")
	a.str("ref", "REPO_REF", false, "")
	a.str("path", "REPO_PATH", true, "")
	a.num("depth", "REPO_DEPTH", "0")
	return script{
		lang: langBash,
		inputs: []input{
			{"REPO_URL", "the repository: a URL, or a local path relative to $CW_ROOT"},
			{"REPO_REF", "branch, tag or commit to check out (empty or HEAD: the remote's default branch)"},
			{"REPO_PATH", "the checkout; relative to $CW_ROOT"},
			{"REPO_DEPTH", "history depth to fetch; 0 fetches everything"},
		},
		body: bash(fetchRepoCode, helperInput, helperAbs, helperOutput),
	}
}

const fetchRepoCode = `
cw_require url REPO_URL
cw_input ref REPO_REF
cw_require path REPO_PATH
cw_input depth REPO_DEPTH
cw_abs path
depth=${depth:-0}
# A local repository given by a relative path is relative to $CW_ROOT too.
if [[ $url != *:* && $url != /* ]]; then
  cw_abs url
fi
# Never wait for credentials on a terminal: fail instead.
export GIT_TERMINAL_PROMPT=0

if [[ ! -e $path/.git ]]; then
  if [[ -e $path && ( ! -d $path || -n "$(ls -A -- "$path")" ) ]]; then
    echo "error: $path exists and is not a git checkout: move it away or choose another path" >&2
    exit 1
  fi
  mkdir -p -- "$path"
  git -c init.defaultBranch=main init -q -- "$path"
  git -C "$path" remote add origin "$url"
  echo "new checkout: $path"
elif [[ "$(git -C "$path" remote get-url origin 2>/dev/null || true)" != "$url" ]]; then
  git -C "$path" remote remove origin 2>/dev/null || true
  git -C "$path" remote add origin "$url"
  echo "origin of $path is now $url"
fi

head=$(git -C "$path" rev-parse -q --verify 'HEAD^{commit}' 2>/dev/null || true)
if [[ $ref =~ ^[0-9a-f]{40}$ && $head == "$ref" ]]; then
  # A commit id never moves: nothing to fetch.
  target=$ref
elif [[ $depth != 0 || -z $ref || $ref == HEAD || $ref == refs/* ]]; then
  # Shallow, the remote's default branch, or a full ref name: fetch exactly
  # that and check out what was fetched.
  if [[ $depth != 0 ]]; then
    git -C "$path" fetch -q --depth "$depth" origin "${ref:-HEAD}"
  else
    git -C "$path" fetch -q origin "${ref:-HEAD}"
  fi
  target=$(git -C "$path" rev-parse 'FETCH_HEAD^{commit}')
else
  # A branch, tag or commit: fetch branches and tags, then look it up.
  git -C "$path" fetch -q --force --tags --prune origin '+refs/heads/*:refs/remotes/origin/*'
  target=""
  for candidate in "refs/remotes/origin/$ref" "refs/tags/$ref" "$ref"; do
    if target=$(git -C "$path" rev-parse -q --verify "$candidate^{commit}" 2>/dev/null); then
      break
    fi
    target=""
  done
  if [[ -z $target ]]; then
    echo "error: ref $ref is neither a branch, a tag nor a commit of $url" >&2
    exit 1
  fi
fi

if [[ $head == "$target" ]]; then
  echo "already at $target"
else
  git -C "$path" -c advice.detachedHead=false checkout -q --detach "$target"
  echo "checked out ${ref:-HEAD} at $target"
fi
cw_output REPO_COMMIT "$target"
`

// removeRepo deletes a git checkout, but only a git checkout: a path
// without .git (or, when url is given, with another origin) is left alone.
func removeRepo(u *unit, a *args) script {
	a.str("path", "REPO_PATH", true, "")
	a.str("url", "REPO_URL", false, "")
	return script{
		lang: langBash,
		inputs: []input{
			{"REPO_PATH", "the checkout to remove; relative to $CW_ROOT"},
			{"REPO_URL", "optional: remove only when its origin is this repository"},
		},
		body: bash(removeRepoCode, helperInput, helperAbs),
	}
}

const removeRepoCode = `
cw_require path REPO_PATH
cw_input url REPO_URL
cw_abs path
if [[ -n $url && $url != *:* && $url != /* ]]; then
  cw_abs url
fi

if [[ ! -e $path && ! -L $path ]]; then
  echo "already absent: $path"
elif [[ ! -e $path/.git ]]; then
  echo "notice: $path is not a git checkout (no .git): left in place"
elif [[ -n $url && "$(git -C "$path" remote get-url origin 2>/dev/null || true)" != "$url" ]]; then
  echo "notice: the origin of $path is not $url: left in place"
else
  rm -rf -- "$path"
  echo "removed $path"
fi
`
