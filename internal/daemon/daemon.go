package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/gofrs/flock"

	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
)

// DefaultListen is the address `clockwork daemon` serves HTTP on by default.
const DefaultListen = "127.0.0.1:7420"

// Config says where and how the daemon runs. Zero fields take the defaults
// noted.
type Config struct {
	// Dir is the configuration directory (the one with the .cw files). The
	// daemon writes under Dir/.clockwork/.
	Dir string
	// Interval between full passes (default 60s), plus up to Jitter x
	// Interval of random jitter (default 0.1; negative: none).
	Interval time.Duration
	Jitter   float64
	// Debounce for .cw/.cwvars changes (default 200ms).
	Debounce time.Duration
	// Listen is the HTTP address; "" serves nothing (the CLI passes
	// DefaultListen unless told otherwise).
	Listen string
	// Policy, when non-nil, is used as is. When nil the daemon reads the
	// daemon block of Dir/clockwork.hcl at every pass, keeping the previous
	// policy (and reporting) while the file has errors.
	Policy *policy.Policy
	// Mask, when set, is applied to every event text and runbook, to hide
	// secret values that reached an error message.
	Mask func(string) string
	// NoWatch disables fsnotify (tests, or filesystems without inotify).
	NoWatch bool
}

// Daemon is the reconcile loop of one configuration directory. Create it
// with New and start it with Run; Signal, Trigger, Status and Handler may be
// called from any goroutine.
type Daemon struct {
	cfg     Config
	pipe    Pipeline
	clock   Clock
	log     *slog.Logger
	trigger chan struct{} // one slot: pending triggers coalesce
	metrics *metrics
	csrf    string // token the status page embeds in its forms

	mu sync.Mutex // guards the fields below
	// reasons why the next pass runs, deduplicated.
	reasons []string
	// snapshot published after every pass, for Status.
	snap snapshot
	// events is open while Run runs.
	events *recorder
	// addr is the address the HTTP server listens on, once it does.
	addr string

	// Owned by the Run goroutine (the pass); never touched elsewhere.
	passID   int64
	lastGood *PlanResult
	policy   policy.Policy
	res      map[string]*resState
	lastDiag string
	// lastPolicyDiag is the last clockwork.hcl error reported.
	lastPolicyDiag string
}

// New returns a daemon for cfg.Dir that drives p. clock and logger may be
// nil (RealClock, slog.Default()).
func New(cfg Config, p Pipeline, clock Clock, logger *slog.Logger) *Daemon {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.1
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 200 * time.Millisecond
	}
	if clock == nil {
		clock = RealClock{}
	}
	if logger == nil {
		logger = slog.Default()
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	d := &Daemon{
		cfg: cfg, pipe: p, clock: clock, log: logger,
		trigger: make(chan struct{}, 1),
		metrics: newMetrics(),
		csrf:    hex.EncodeToString(tok),
		res:     map[string]*resState{},
		policy:  policy.Default(),
	}
	if cfg.Policy != nil {
		d.policy = *cfg.Policy
	}
	return d
}

// Trigger asks for a pass as soon as the current one (if any) finishes.
// Triggers coalesce: many calls before the pass starts run one pass.
func (d *Daemon) Trigger(reason string) {
	d.mu.Lock()
	found := false
	for _, r := range d.reasons {
		if r == reason {
			found = true
			break
		}
	}
	if !found && len(d.reasons) < 32 {
		d.reasons = append(d.reasons, reason)
	}
	d.mu.Unlock()
	select {
	case d.trigger <- struct{}{}:
	default:
	}
}

// Signal is the liveness hook: the pipeline calls it when a supervised
// process of resource exits or the container engine reports the resource's
// container died. A pass runs at once.
func (d *Daemon) Signal(resource string) { d.Trigger("liveness " + resource) }

func (d *Daemon) takeReasons() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.reasons
	d.reasons = nil
	return r
}

// Run runs passes until ctx is done, then returns nil once the in-flight pass
// has finished. It fails at once when another daemon runs in the same
// directory or the listen address is taken.
func (d *Daemon) Run(ctx context.Context) error {
	stateDir := filepath.Join(d.cfg.Dir, ".clockwork")
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	lock := flock.New(filepath.Join(stateDir, "daemon.lock"))
	ok, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("daemon: lock: %w", err)
	}
	if !ok {
		holder, _ := os.ReadFile(filepath.Join(stateDir, "daemon.lock"))
		return fmt.Errorf("daemon: another daemon is running in %s (%s)", d.cfg.Dir, strings.TrimSpace(string(holder)))
	}
	defer lock.Unlock()
	host, _ := os.Hostname()
	_ = os.WriteFile(lock.Path(), fmt.Appendf(nil, "pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339)), 0o644)

	rec, err := openRecorder(EventsPath(d.cfg.Dir), d.cfg.Mask)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.mu.Lock()
	d.events = rec
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.events = nil
		d.mu.Unlock()
		rec.Close()
	}()

	var wg sync.WaitGroup
	defer wg.Wait()
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()

	if d.cfg.Listen != "" {
		ln, err := net.Listen("tcp", d.cfg.Listen)
		if err != nil {
			return fmt.Errorf("daemon: listen: %w", err)
		}
		srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("http server stopped", "err", err)
			}
		})
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		d.mu.Lock()
		d.addr = ln.Addr().String()
		d.mu.Unlock()
		d.log.Info("daemon listening", "addr", ln.Addr().String())
	}
	if !d.cfg.NoWatch {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("daemon: watch: %w", err)
		}
		if err := w.Add(d.cfg.Dir); err != nil {
			w.Close()
			return fmt.Errorf("daemon: watch %s: %w", d.cfg.Dir, err)
		}
		wg.Go(func() {
			defer w.Close()
			d.watch(bg, w)
		})
	}

	d.Trigger("start")
	interval := d.clock.NewTimer(d.nextInterval())
	defer interval.Stop()
	wake := d.clock.NewTimer(time.Hour)
	wake.Stop()
	defer wake.Stop()
	for {
		select {
		case <-ctx.Done():
			d.log.Info("daemon stopping", "dir", d.cfg.Dir)
			return nil
		case <-d.trigger:
		case <-interval.C():
			d.addReason("interval")
		case <-wake.C():
			d.addReason("backoff expired")
		}
		if ctx.Err() != nil {
			return nil
		}
		d.runPass(ctx)
		interval.Reset(d.nextInterval())
		if next, ok := d.nextWake(); ok {
			wake.Reset(max(next.Sub(d.clock.Now()), 0))
		} else {
			wake.Stop()
		}
	}
}

// Addr is the HTTP address the daemon serves on ("" before Run listens or
// when Config.Listen is ""); useful with a ":0" port.
func (d *Daemon) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addr
}

func (d *Daemon) addReason(r string) {
	d.mu.Lock()
	d.reasons = append(d.reasons, r)
	d.mu.Unlock()
}

func (d *Daemon) nextInterval() time.Duration {
	if d.cfg.Jitter <= 0 {
		return d.cfg.Interval
	}
	j := time.Duration(d.cfg.Jitter * float64(d.cfg.Interval))
	if j <= 0 {
		return d.cfg.Interval
	}
	return d.cfg.Interval + mrand.N(j)
}

// watch turns .cw, .cwvars and clockwork.hcl changes into debounced triggers.
func (d *Daemon) watch(ctx context.Context, w *fsnotify.Watcher) {
	debounce := d.clock.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var changed []string
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			name := filepath.Base(ev.Name)
			if !watched(name) || ev.Op == fsnotify.Chmod {
				continue
			}
			if len(changed) < 8 && !strings.Contains(strings.Join(changed, " "), name) {
				changed = append(changed, name)
			}
			debounce.Reset(d.cfg.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			d.log.Warn("file watch error", "err", err)
		case <-debounce.C():
			d.Trigger("changed " + strings.Join(changed, " "))
			changed = nil
		}
	}
}

func watched(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	return strings.HasSuffix(name, ".cw") || strings.HasSuffix(name, ".cwvars") || name == policy.FileName
}

func (d *Daemon) record(e Event) {
	if e.Time.IsZero() {
		e.Time = d.clock.Now().UTC()
	}
	d.mu.Lock()
	rec := d.events
	d.mu.Unlock()
	attrs := []any{"pass", e.Pass, "kind", e.Kind}
	if e.Resource != "" {
		attrs = append(attrs, "resource", e.Resource)
	}
	for _, kv := range [][2]string{{"seen", e.Seen}, {"rule", e.Rule}, {"result", e.Result}, {"ref", e.Ref}} {
		if kv[1] != "" {
			v := kv[1]
			if d.cfg.Mask != nil {
				v = d.cfg.Mask(v)
			}
			attrs = append(attrs, kv[0], v)
		}
	}
	level := slog.LevelInfo
	if e.Kind == EventError || e.Kind == EventDiagnostics || e.Kind == EventRunbook {
		level = slog.LevelWarn
	}
	d.log.Log(context.Background(), level, "daemon event", attrs...)
	if rec == nil {
		return
	}
	if err := rec.Record(e); err != nil {
		d.log.Error("cannot record event", "err", err)
	}
}
