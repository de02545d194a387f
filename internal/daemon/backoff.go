package daemon

import "time"

// backoff is a per-resource exponential failure rate limiter in the manner of
// client-go's ItemExponentialFailureRateLimiter: the n-th consecutive failure
// waits base * 2^(n-1), capped; Forget resets it.
type backoff struct {
	base, cap time.Duration
	failures  int
}

// Failure records a failed (or not yet confirmed) attempt and returns how
// long to wait before the next one.
func (b *backoff) Failure() time.Duration {
	b.failures++
	return b.delay()
}

func (b *backoff) delay() time.Duration {
	if b.failures == 0 {
		return 0
	}
	d := b.base
	for i := 1; i < b.failures; i++ {
		d *= 2
		if d >= b.cap || d <= 0 {
			return b.cap
		}
	}
	return min(d, b.cap)
}

// Forget resets the backoff after a resource stayed healthy long enough.
func (b *backoff) Forget() { b.failures = 0 }

// budget limits automatic fixes of one resource: at most max in any sliding
// hour and none within cooldown of the previous one.
type budget struct {
	max      int
	cooldown time.Duration
	fixes    []time.Time // automatic fixes within the last hour, oldest first
}

// Allow says whether an automatic fix may run at now; when not, why
// ("budget" or "cooldown") and until when.
func (b *budget) Allow(now time.Time) (ok bool, why string, until time.Time) {
	b.prune(now)
	if b.max <= 0 {
		return false, "budget", time.Time{}
	}
	if len(b.fixes) > 0 {
		last := b.fixes[len(b.fixes)-1]
		if now.Sub(last) < b.cooldown {
			if len(b.fixes) >= b.max {
				return false, "budget", b.fixes[len(b.fixes)-b.max].Add(time.Hour)
			}
			return false, "cooldown", last.Add(b.cooldown)
		}
	}
	if len(b.fixes) >= b.max {
		return false, "budget", b.fixes[len(b.fixes)-b.max].Add(time.Hour)
	}
	return true, "", time.Time{}
}

// Spend records an automatic fix at now.
func (b *budget) Spend(now time.Time) { b.fixes = append(b.fixes, now) }

// Used is the number of automatic fixes in the hour before now.
func (b *budget) Used(now time.Time) int {
	b.prune(now)
	return len(b.fixes)
}

func (b *budget) prune(now time.Time) {
	i := 0
	for i < len(b.fixes) && now.Sub(b.fixes[i]) >= time.Hour {
		i++
	}
	b.fixes = b.fixes[i:]
}
