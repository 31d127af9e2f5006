#!/usr/bin/env bash
# Installs what `node esbuild.mjs` needs to build the WebAssembly kernels (dist/native/kernels.wasm):
# Debian's clang and lld with wasi-libc, libc++/libc++abi and the compiler-rt builtins for wasm32.
# `npm test` runs this first, so a fresh machine (CI) builds and tests the module; `npm run demo` does
# not need it (the native kernels serve there). Idempotent: apt runs only for missing packages.
set -euo pipefail

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi

apt_packages=(clang lld wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32)
missing=()
for package in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "WebAssembly toolchain: installing ${missing[*]} with apt-get"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
