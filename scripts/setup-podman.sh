#!/usr/bin/env bash
# setup-podman.sh: install Podman and serve its Docker-compatible Engine API
# on a unix socket, for Clockwork's container tests and examples.
#
# Usage (as root, on Debian 12):
#   eval "$(scripts/setup-podman.sh)"
#
# It is idempotent: packages, containers.conf, the test base image and the
# API service are each set up only when missing. Stdout carries only the
# `export ...` lines (DOCKER_HOST, CONTAINERS_CONF); everything else goes to
# stderr.
#
# Environment:
#   CW_PODMAN_DIR  where containers.conf, the socket, the pid file and the
#                  service log live (default /tmp/clockwork-podman)
#   CW_TEST_IMAGE  name of the test base image (default
#                  localhost/clockwork-busybox:latest)
set -euo pipefail

dir="${CW_PODMAN_DIR:-/tmp/clockwork-podman}"
image="${CW_TEST_IMAGE:-localhost/clockwork-busybox:latest}"
sock="$dir/podman.sock"
conf="$dir/containers.conf"
pidfile="$dir/podman-service.pid"
logfile="$dir/podman-service.log"

log() { printf 'setup-podman: %s\n' "$*" >&2; }

# 1. Packages.
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v fuse-overlayfs >/dev/null 2>&1 || need+=(fuse-overlayfs)
command -v slirp4netns >/dev/null 2>&1 || need+=(slirp4netns)
command -v newuidmap >/dev/null 2>&1 || need+=(uidmap)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ "${#need[@]}" -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		log "missing packages (${need[*]}) and not root: install them first"
		exit 1
	fi
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
busybox_bin=/bin/busybox
[ -x "$busybox_bin" ] || busybox_bin="$(command -v busybox)"

# 2. containers.conf: this machine needs an explicit nofile limit (the hard
# limit is below Podman's default) and runc (crun refuses the hybrid cgroup
# layout).
mkdir -p "$dir"
want_conf='[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"'
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want_conf" ]; then
	log "writing $conf"
	printf '%s\n' "$want_conf" >"$conf.tmp"
	mv "$conf.tmp" "$conf"
fi
export CONTAINERS_CONF="$conf"

# 3. Test base image: a static busybox rootfs imported as an image.
if ! podman image exists "$image"; then
	log "building $image"
	rootfs="$(mktemp -d)"
	trap 'rm -rf "$rootfs"' EXIT
	mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,tmp,www,etc,root,var,proc,sys,dev,run}
	cp "$busybox_bin" "$rootfs/bin/busybox"
	for applet in $("$busybox_bin" --list); do
		[ "$applet" = busybox ] && continue
		[ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
	done
	printf '<html><body>clockwork busybox</body></html>\n' >"$rootfs/www/index.html"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
	chmod 1777 "$rootfs/tmp"
	tar -C "$rootfs" -c . | podman import \
		--change 'CMD ["/bin/sh"]' \
		--change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
		- "$image" >&2
	rm -rf "$rootfs"
	trap - EXIT
fi

# 4. The API service.
ping() {
	curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
}
if ! ping; then
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
		grep -q podman "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; then
		log "service pid $(cat "$pidfile") does not answer yet; waiting"
	else
		rm -f "$sock"
		log "starting podman system service on $sock"
		CONTAINERS_CONF="$conf" nohup podman system service --time=0 "unix://$sock" \
			</dev/null >>"$logfile" 2>&1 &
		echo $! >"$pidfile"
	fi
	for _ in $(seq 1 100); do
		ping && break
		sleep 0.1
	done
	if ! ping; then
		log "podman system service does not answer on $sock; see $logfile"
		tail -n 20 "$logfile" >&2 || true
		exit 1
	fi
fi
log "engine answers on unix://$sock"

printf 'export DOCKER_HOST=%q\n' "unix://$sock"
printf 'export CONTAINERS_CONF=%q\n' "$conf"
