package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// DefaultGrace is how long Local waits after SIGTERM before SIGKILL, and how
// long it waits for output pipes after the command exited.
const DefaultGrace = 2 * time.Second

// Local runs commands as processes on this machine, each in its own process
// group.
type Local struct {
	// Grace is the time between SIGTERM and SIGKILL of the process group on
	// timeout or cancel, and the time Run waits for stdout/stderr to close
	// after the command exited (a background grandchild may hold them).
	// Zero means DefaultGrace.
	Grace time.Duration
}

var _ Runner = (*Local)(nil)

// Run implements Runner.
func (l *Local) Run(ctx context.Context, req Request) (Result, error) {
	if len(req.Cmd) == 0 {
		return Result{}, errors.New("run: empty command")
	}
	grace := l.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	path, err := lookPath(req.Cmd[0], req.Dir, req.Env)
	if err != nil {
		return Result{}, fmt.Errorf("run %s: %w", req.Cmd[0], err)
	}

	runCtx := ctx
	cancel := context.CancelFunc(func() {})
	if req.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	defer cancel()

	cmd := exec.CommandContext(runCtx, path, req.Cmd[1:]...)
	cmd.Args[0] = req.Cmd[0]
	cmd.Dir = req.Dir
	cmd.Env = append([]string{}, req.Env...) // never nil: nil would inherit
	cmd.Stdin = req.Stdin
	cmd.Stdout = req.Stdout
	cmd.Stderr = req.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var killTimer *time.Timer
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		err := syscall.Kill(-pgid, syscall.SIGTERM)
		killTimer = time.AfterFunc(grace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	// After the command exits (or Cancel ran), wait at most grace for the
	// pipes; after ctx is done and grace passed, Go kills the leader too.
	cmd.WaitDelay = grace

	start := time.Now()
	if err := startCmd(cmd, req.Confine); err != nil {
		return Result{}, fmt.Errorf("run %s: %w", req.Cmd[0], err)
	}
	waitErr := cmd.Wait()
	res := Result{Duration: time.Since(start)}
	if killTimer != nil {
		// The leader is gone; make sure nothing of its group survives.
		killTimer.Stop()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int(ws.Signal())
		}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("run %s: %w", req.Cmd[0], ctx.Err())
	}
	if runCtx.Err() != nil {
		res.TimedOut = true
		return res, nil
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil, errors.Is(waitErr, exec.ErrWaitDelay), errors.As(waitErr, &exitErr):
		return res, nil
	}
	return res, fmt.Errorf("run %s: %w", req.Cmd[0], waitErr)
}

// lookPath resolves name like a shell would with the PATH from env, never the
// parent's. Names with a slash are taken relative to dir; empty and relative
// PATH entries are ignored.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v // the last one wins, as in the kernel's execve users
		}
	}
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable file not found in PATH %q", pathVar)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

// startCmd starts cmd. With a confine hook, it starts it from a goroutine
// locked to a fresh OS thread: the hook restricts that thread, the forked
// child inherits the restriction, and the thread is discarded when the
// goroutine returns without unlocking (Go terminates such threads), so the
// restriction never leaks into the rest of the process.
func startCmd(cmd *exec.Cmd, confine func() error) error {
	if confine == nil {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		if err := confine(); err != nil {
			errc <- fmt.Errorf("confine: %w", err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}
