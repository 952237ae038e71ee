#!/usr/bin/env bash
# Install the Debian packages listed in $1 whose binaries are missing. Idempotent.
set -euo pipefail
missing=()
while IFS=: read -r bin pkg; do
  [[ -z "$bin" || "$bin" == \#* ]] && continue
  command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
done < "$1"
for pkg in libsox-fmt-all fonts-noto-cjk; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
