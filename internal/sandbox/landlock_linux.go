//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The write rights Clockwork restricts. Reading, listing and executing
// are never handled, so they stay allowed everywhere; so do ioctl on
// devices (ABI 5), pathname unix sockets (ABI 9) and the network.
const (
	// writeRightsV1 are the ABI 1 rights that create, change or remove.
	writeRightsV1 = unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	// fileRights are the handled rights that apply to a regular file (a
	// rule on a file may carry only these).
	fileRights = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE
)

// handledRights returns the write rights restricted at an ABI version:
// ABI 2 adds moving files between directories (refer), ABI 3 truncation.
func handledRights(abi int) uint64 {
	r := uint64(writeRightsV1)
	if abi >= 2 {
		r |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		r |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	return r
}

// probe asks the kernel for its Landlock ABI version.
func probe() (int, string) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	switch {
	case errno == unix.ENOSYS:
		return 0, "kernel built without Landlock"
	case errno == unix.EOPNOTSUPP:
		return 0, "Landlock disabled at boot (add landlock to the lsm= kernel parameter)"
	case errno != 0:
		return 0, fmt.Sprintf("landlock_create_ruleset: %v", errno)
	case int(v) < 1:
		return 0, fmt.Sprintf("unexpected Landlock ABI version %d", int(v))
	}
	return int(v), ""
}

// restrictThread confines the calling OS thread: from now on it (and the
// program it execs) may create, write, rename or remove files only beneath
// the writable paths. The goroutine stays locked to the thread, which must
// exec next. Missing paths are skipped.
func restrictThread(abi int, writable []string) error {
	handled := handledRights(abi)
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled}
	// Only handled_access_fs: every ABI knows the first field.
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr.Handled_access_fs), 0)
	if errno != 0 {
		return fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	defer unix.Close(int(fd))
	for _, p := range writable {
		if err := addPath(int(fd), p, handled); err != nil {
			return err
		}
	}
	runtime.LockOSThread() // never unlocked: the thread execs or dies
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}

// addPath allows the handled rights beneath p (only the file rights when p
// is not a directory).
func addPath(rulesetFD int, p string, handled uint64) error {
	pfd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	allowed := handled
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		allowed &= fileRights
	}
	if allowed == 0 {
		return nil
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: allowed, Parent_fd: int32(pfd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFD), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("landlock_add_rule %s: %w", p, errno)
	}
	return nil
}

// confineThread restricts the calling (locked) OS thread.
func confineThread(abi int, writable []string) error { return restrictThread(abi, writable) }
