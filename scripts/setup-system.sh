#!/usr/bin/env bash
# Installs the system packages the tests and examples use on Debian 12, when
# missing: git and python3 (examples, built-in scripts), Chromium (daemon
# status page test). Podman is installed by scripts/setup-podman.sh. Safe to
# run twice; needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ "${CW_SKIP_CHROMIUM:-}" = "" ] && ! [ -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-system: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
