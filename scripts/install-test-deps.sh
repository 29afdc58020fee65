#!/usr/bin/env bash
# Installs the real components the tests run against, from Debian, when they are missing:
# redis-server (cluster mode), chromium and firefox-esr (demo page, in both browsers), nginx (the
# shipped front proxy), openssl (its throwaway TLS certificate) and systemd (systemd-analyze checks
# the shipped unit). Fails loudly instead
# of letting tests skip.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/systemd-analyze ] || missing+=(systemd)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing from Debian: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
