#!/usr/bin/env bash
# Installs what the test suite talks to on loopback, from Debian's packages. Idempotent: a
# second run installs nothing. PostgreSQL is started by the machine (127.0.0.1:5432); tests
# that need it skip when it is unreachable unless CI is set.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # browser tests (chromedp)

if [ ${#need[@]} -eq 0 ]; then
  echo "test peers: all installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test peers: missing ${need[*]}; run as root, or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "test peers: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A policy that forbids service starts keeps packages from starting system daemons.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq "${need[@]}" >/dev/null
echo "test peers: installed ${need[*]}"
