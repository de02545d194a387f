// Package sandbox confines a step's process with Landlock so that it can
// write only beneath .clockwork/ and the paths its resource declares.
//
// Go cannot run code between fork and exec, so confinement is a re-exec:
// the executor runs `clockwork step sandbox --write A --write B -- CMD...`
// (argv from Config.Prefix) instead of CMD; Main restricts its own OS
// thread (no_new_privs, landlock_restrict_self) and execs CMD from that
// thread. Every process CMD starts, including a service a process
// ensure_service leaves running, inherits the restriction; there is no way
// out of a Landlock domain.
//
// Only write rights are handled: create, write, truncate, rename, link and
// remove of files, directories, fifos, sockets, devices and symlinks.
// Reading, listing and executing stay allowed everywhere; ioctl, connecting
// to unix sockets (the container engine) and the network are not
// restricted. chmod, chown and utime are not restrictable by Landlock.
// Because no_new_privs is set, setuid programs (sudo) do not gain
// privileges in a confined step.
//
// Writable set of a step (Config.Writable), paths relative to CW_ROOT when
// relative:
//
//	every step          .clockwork/{tmp,services,logs}, /dev/{null,zero,full,random,urandom,tty,pts}, Config.Extra
//	                    (TMPDIR is CW_STATE_DIR/tmp)
//	ensure_file         the parent directory of path
//	remove_file         the parent directory of path
//	ensure_directory    path
//	remove_directory    the parent directory of path
//	fetch_repo          path
//	remove_repo         the parent directory of path
//	run_command         workdir (default CW_ROOT), the parent directory of creates
//	verify_command      workdir (default CW_ROOT)
//	ensure_service      process: workdir (default CW_ROOT); container: nothing more
//	build_image, remove_image, remove_service, *_network, *_volume,
//	verify_http, verify_tcp, verify_file
//	                    nothing more
//	custom, unknown     CW_ROOT
//
// A directory to allow that does not exist yet is replaced by its nearest
// existing ancestor, so that `mkdir -p` can create it. That widening is
// refused (the step fails before running, with ErrTooWide) when the
// ancestor is above CW_ROOT for a relative declared path, and any rule that
// would allow "/" is refused. A path known only at run time ("pathVar")
// adds nothing.
//
// Best effort: Status reports the kernel's Landlock ABI; without Landlock
// Main runs the command unconfined (or refuses with --require). Rights
// newer than the kernel's ABI are not handled: ABI 3 adds truncate; before
// ABI 2 a confined step can never rename or link a file into another
// directory (Landlock denies it outright); from ABI 2 it can between
// writable directories.
package sandbox
