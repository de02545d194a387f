// Package liveness tells the daemon at once when a service process dies,
// even when the process is not the daemon's child (a step's script started
// it and published its PID).
//
// On Linux it opens a pidfd for the PID (pidfd_open(2)) and lets the Go
// runtime's poller wait for it to become readable, which happens when the
// process exits: no thread blocks and no timer ticks while nothing happens.
// Where pidfds are not available it falls back to probing the PID with
// signal 0 every PollInterval.
//
// Invariants:
//   - The callback runs at most once per Watch, from its own goroutine; it
//     does not start after Unwatch or Close returned for that resource.
//   - A PID is never signalled, only observed.
package liveness
