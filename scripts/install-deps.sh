#!/usr/bin/env bash
# Installs the Debian packages Skiff's tests and benchmarks need, on a fresh Debian 12 machine (CI)
# or a developer's. Idempotent: installs only what is missing, and runs `apt-get update` only then.
# Run as root. Services that packages ship (etcd) are never left running: tests start their own
# instances on free loopback ports and must never depend on, or collide with, a system one.
set -euo pipefail

# One package per line, as `package[:command it must provide]`. Adding a dependency is adding a line.
PACKAGES=(
  etcd-server:etcd
  etcd-client:etcdctl
  runc:runc
  containernetworking-plugins
  docker-registry:docker-registry
  busybox-static:busybox
  iptables:iptables
  nftables:nft
)

# Packages whose system service must stay stopped and disabled after install.
SERVICES=(
  etcd
  docker-registry
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (apt-get install)"
  exit 1
fi

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for entry in "${PACKAGES[@]}"; do
  p="${entry%%:*}"
  installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Forbid maintainer scripts from starting services during the install (exit 101 = "action
  # forbidden" for invoke-rc.d). Keep an existing policy (Docker images ship one) untouched.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
  fi
  cleanup() { if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi; }
  trap cleanup EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  cleanup
  trap - EXIT
else
  log "all packages present"
fi

# Whatever the install did (or a previous one), make sure the packaged services are stopped and
# will not start at boot.
for s in "${SERVICES[@]}"; do
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if systemctl list-unit-files "$s.service" >/dev/null 2>&1; then
      systemctl disable --now "$s.service" >/dev/null 2>&1 || true
      systemctl mask "$s.service" >/dev/null 2>&1 || true
    fi
  elif [ -x "/etc/init.d/$s" ]; then
    "/etc/init.d/$s" stop >/dev/null 2>&1 || true
    update-rc.d "$s" disable >/dev/null 2>&1 || true
  fi
done

for entry in "${PACKAGES[@]}"; do
  case "$entry" in *:*) ;; *) continue ;; esac
  b="${entry#*:}"
  command -v "$b" >/dev/null 2>&1 || { log "package ${entry%%:*} installed but $b is not on PATH"; exit 1; }
done
log "ok: ${PACKAGES[*]%%:*}"
