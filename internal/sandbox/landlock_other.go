//go:build !linux

package sandbox

import "errors"

func probe() (int, string) { return 0, "Landlock is Linux only" }

func restrictThread(int, []string) error {
	return errors.New("Landlock is Linux only")
}

func confineThread(int, []string) error { return nil }
