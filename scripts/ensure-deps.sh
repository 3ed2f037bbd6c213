#!/usr/bin/env bash
# Installs what building theatre-optimiser needs beyond the Rust toolchain: cmake and libclang
# (HiGHS is built from source by highs-sys). Uses apt-get when running as root; otherwise says
# exactly what to install. Extra Debian packages may be named as arguments (e.g. chromium).
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
if ! compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null && ! compgen -G "/usr/lib/*/libclang*.so*" >/dev/null; then
  need+=(libclang-dev)
fi
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v cargo >/dev/null 2>&1 || { echo "error: cargo (Rust stable) is required: https://rustup.rs" >&2; exit 1; }

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "error: missing system packages: ${need[*]}" >&2
  echo "install them, e.g.: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
