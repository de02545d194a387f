package builtin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// gitRepo makes a repository at dir with two commits on main, the first
// tagged v1, and returns the two commit ids.
func gitRepo(t *testing.T, dir string) (v1, v2 string) {
	t.Helper()
	git := func(args ...string) string { return gitIn(t, dir, args...) }
	os.MkdirAll(dir, 0o755)
	git("-c", "init.defaultBranch=main", "init", "-q")
	os.WriteFile(filepath.Join(dir, "README"), []byte("one\n"), 0o644)
	git("add", "README")
	git("commit", "-q", "-m", "one")
	git("tag", "v1")
	v1 = git("rev-parse", "HEAD")
	os.WriteFile(filepath.Join(dir, "README"), []byte("two\n"), 0o644)
	git("commit", "-q", "-am", "two")
	v2 = git("rev-parse", "HEAD")
	return v1, v2
}

// gitIn runs git in dir and returns its trimmed output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit adds a commit to the repository at dir and returns its id.
func commit(t *testing.T, dir, msg string) string {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "README"), []byte(msg+"\n"), 0o644)
	gitIn(t, dir, "commit", "-q", "-am", msg)
	return gitIn(t, dir, "rev-parse", "HEAD")
}

func head(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("rev-parse in %s: %v", dir, err)
	}
	return strings.TrimSpace(string(out))
}

func TestFetchRepo(t *testing.T) {
	s := newSandbox(t)
	f := localFacts(t)
	v1, v2 := gitRepo(t, filepath.Join(s.root, "upstream"))
	checkout := filepath.Join(s.root, "work/app")
	fetch := func(ref string, depth int64, url string) (*contract.Bundle, string) {
		st := step("git_repo.app", contract.StepFetchRepo, map[string]any{"url": url, "ref": ref, "path": "work/app", "depth": depth})
		return s.compile(t, f, st), st.ID
	}

	// A relative local path is relative to CW_ROOT.
	b, id := fetch("v1", 0, "upstream")
	r := s.run(t, b, id).ok(t).says(t, "checked out v1 at "+v1)
	if r.outputs["REPO_COMMIT"] != v1 || head(t, checkout) != v1 {
		t.Fatalf("REPO_COMMIT = %q, HEAD = %q; want %s", r.outputs["REPO_COMMIT"], head(t, checkout), v1)
	}
	if got := mustRead(t, filepath.Join(checkout, "README")); got != "one\n" {
		t.Errorf("README = %q at v1", got)
	}
	r = s.run(t, b, id).ok(t).says(t, "already at "+v1)
	if r.outputs["REPO_COMMIT"] != v1 {
		t.Errorf("second run REPO_COMMIT = %q", r.outputs["REPO_COMMIT"])
	}

	// Another ref: the branch.
	b, id = fetch("main", 0, "upstream")
	r = s.run(t, b, id).ok(t).says(t, "checked out main at "+v2)
	if r.outputs["REPO_COMMIT"] != v2 || head(t, checkout) != v2 {
		t.Errorf("REPO_COMMIT = %q, HEAD = %q; want %s", r.outputs["REPO_COMMIT"], head(t, checkout), v2)
	}

	// A commit id, then the same id again (no fetch needed).
	b, id = fetch(v1, 0, "upstream")
	s.run(t, b, id).ok(t).says(t, "at "+v1)
	s.run(t, b, id).ok(t).says(t, "already at "+v1)

	// A file:// URL, shallow, default branch; into a fresh path.
	st := step("git_repo.shallow", contract.StepFetchRepo, map[string]any{
		"url": "file://" + filepath.Join(s.root, "upstream"), "path": "shallow", "depth": int64(1)})
	b = s.compile(t, f, st)
	r = s.run(t, b, st.ID).ok(t)
	if r.outputs["REPO_COMMIT"] != v2 {
		t.Errorf("shallow REPO_COMMIT = %q; want %s", r.outputs["REPO_COMMIT"], v2)
	}
	if out, _ := exec.Command("git", "-C", filepath.Join(s.root, "shallow"), "rev-list", "--count", "HEAD").Output(); strings.TrimSpace(string(out)) != "1" {
		t.Errorf("shallow checkout has %s commits; want 1", out)
	}

	// HEAD (the schema's default) is the remote's default branch, and
	// follows it when it moves.
	st = step("git_repo.head", contract.StepFetchRepo, map[string]any{"url": "upstream", "ref": "HEAD", "path": "head"})
	b = s.compile(t, f, st)
	if r := s.run(t, b, st.ID).ok(t); r.outputs["REPO_COMMIT"] != v2 {
		t.Errorf("HEAD REPO_COMMIT = %q; want %s", r.outputs["REPO_COMMIT"], v2)
	}
	v3 := commit(t, filepath.Join(s.root, "upstream"), "three")
	if r := s.run(t, b, st.ID).ok(t); r.outputs["REPO_COMMIT"] != v3 {
		t.Errorf("HEAD after a new upstream commit: REPO_COMMIT = %q; want %s", r.outputs["REPO_COMMIT"], v3)
	}
	b, id = fetch("main", 0, "upstream")
	if r := s.run(t, b, id).ok(t); r.outputs["REPO_COMMIT"] != v3 {
		t.Errorf("main after a new upstream commit: REPO_COMMIT = %q; want %s", r.outputs["REPO_COMMIT"], v3)
	}

	// A ref that does not exist fails clearly.
	b, id = fetch("nope", 0, "upstream")
	s.run(t, b, id).fails(t, "ref nope is neither a branch, a tag nor a commit")

	// A non-empty directory that is not a checkout is never touched.
	os.MkdirAll(filepath.Join(s.root, "occupied"), 0o755)
	os.WriteFile(filepath.Join(s.root, "occupied/file"), nil, 0o644)
	st = step("git_repo.o", contract.StepFetchRepo, map[string]any{"url": "upstream", "ref": "v1", "path": "occupied"})
	b = s.compile(t, f, st)
	s.run(t, b, st.ID).fails(t, "is not a git checkout")
}

func TestRemoveRepo(t *testing.T) {
	s := newSandbox(t)
	f := localFacts(t)
	gitRepo(t, filepath.Join(s.root, "repo"))
	os.MkdirAll(filepath.Join(s.root, "plain"), 0o755)

	st := step("git_repo.r", contract.StepRemoveRepo, map[string]any{"path": "plain"})
	b := s.compile(t, f, st)
	s.run(t, b, st.ID).ok(t).says(t, "not a git checkout")
	if _, err := os.Stat(filepath.Join(s.root, "plain")); err != nil {
		t.Errorf("plain directory removed: %v", err)
	}

	st = step("git_repo.r", contract.StepRemoveRepo, map[string]any{"path": "repo"})
	b = s.compile(t, f, st)
	s.run(t, b, st.ID).ok(t).says(t, "removed")
	if _, err := os.Stat(filepath.Join(s.root, "repo")); !os.IsNotExist(err) {
		t.Errorf("repo still there: %v", err)
	}
	s.run(t, b, st.ID).ok(t).says(t, "already absent")
}
