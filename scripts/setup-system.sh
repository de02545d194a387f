#!/usr/bin/env bash
# Installs the system packages the tests and examples use on Debian 12, when
# missing: git and python3 (examples, built-in scripts), curl, and Chromium
# (daemon status page test, through scripts/setup-chromium.sh). Podman is
# installed by scripts/setup-podman.sh. Safe to run twice; needs root (or
# sudo) only when something is missing.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-system: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# Chromium for the daemon's status-page test, installed the way that test was
# run (with its recommended packages: fonts).
if [ "${CW_SKIP_CHROMIUM:-}" = "" ]; then
  DEBIAN_FRONTEND=noninteractive "$(dirname "$0")/setup-chromium.sh" >&2
fi
