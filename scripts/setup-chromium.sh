#!/bin/sh
# Installs the headless Chromium that the daemon's status-page tests drive through chromedp.
# Tests skip with a message when /usr/bin/chromium is absent.
set -eu
if [ -x /usr/bin/chromium ]; then
	echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
$SUDO apt-get install -y chromium
