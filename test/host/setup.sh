#!/usr/bin/env bash
# Installs the offline VS Code test host (see test/host/run.mjs): Debian's Chromium, the headers that
# code-server's native modules build against, ripgrep, and this folder's npm packages.
# Idempotent: apt runs only for missing packages, npm ci only when the lockfile changed.
set -euo pipefail

host_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi

# chromium: the browser that renders the workbench. libkrb5-dev + pkg-config: kerberos (gssapi.h)
# for a native module inside code-server. python3/make/g++: node-gyp. ripgrep: see the cache below.
apt_packages=(chromium libkrb5-dev pkg-config ripgrep python3 make g++)
missing=()
for package in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test host setup: installing ${missing[*]} with apt-get"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

lock_hash="$(cat "$host_dir/package-lock.json" "$host_dir/setup.sh" | sha256sum | cut -d' ' -f1)"
stamp="$host_dir/node_modules/.lipschitz-setup-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  exit 0
fi

# @vscode/ripgrep's postinstall downloads rg from GitHub unless it finds this tarball in its cache
# under $TMPDIR. Version and target are the ones code-server 4.100.3 pins; change them together.
ripgrep_package_version=1.15.11
ripgrep_asset=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
ripgrep_cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$ripgrep_package_version"
if [ ! -s "$ripgrep_cache/$ripgrep_asset" ]; then
  staging="$(mktemp -d)"
  cp /usr/bin/rg "$staging/rg"
  mkdir -p "$ripgrep_cache"
  tar -czf "$ripgrep_cache/$ripgrep_asset.partial" -C "$staging" rg
  mv "$ripgrep_cache/$ripgrep_asset.partial" "$ripgrep_cache/$ripgrep_asset"
  rm -rf "$staging"
fi

echo "test host setup: npm ci in test/host (code-server, playwright-core)"
# unsafe_perm: code-server refuses to install as root otherwise. yes: node-pty's postinstall runs
# `npx node-gyp`, which would wait for a confirmation that never comes without a terminal.
(
  cd "$host_dir"
  npm_config_unsafe_perm=true npm_config_yes=true npm ci --no-audit --no-fund --loglevel=error
)
echo "$lock_hash" > "$stamp"
