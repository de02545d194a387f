// Package state keeps .clockwork/state.json safe: a lock so one operation
// writes at a time, crash-safe atomic writes, lineage and serial checks, one
// backup, and a group-commit Session for the executor.
//
// Invariants:
//   - state.json is only ever replaced whole: a temp file in the same
//     directory is written, fsynced, closed and renamed over it, and the
//     directory is fsynced. A kill at any moment leaves the old or the new
//     file, never a torn one.
//   - Writes happen only under the Lock (flock on state.lock, which records
//     id, pid, host, time and operation). A second Lock fails at once with a
//     *LockedError naming the holder; a holder that is dead on this host is
//     reported as stale with the `clockwork force-unlock ID` command.
//   - A write never replaces state of another lineage or with a newer serial
//     (ErrStateConflict). Every write bumps the serial by one, sorts
//     resources by address and is checked against the state JSON Schema.
//   - state.json.backup is the state as it was before the first write of the
//     current lock (one backup, the state before this operation).
//   - If a write fails (disk full, read-only), the previous state.json is
//     left intact and the new state goes to errored-state.json where that can
//     be written; the error says where.
//   - A Session persists in the background, at most every SessionInterval (or
//     every two write durations when the state is large), and always after
//     its last Update at Close; many finished steps cost few fsyncs and a kill
//     loses only the updates not yet covered by a write (the steps in
//     flight). Background writes check the state with a Go mirror of the
//     schema (checkState); Save, Flush and Close use the full JSON Schema.
//
// State never holds a secret value; that is the executor's duty, and this
// package stores what it is given.
package state
