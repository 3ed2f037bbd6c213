#!/usr/bin/env bash
# Installs what building theatre-optimiser needs beyond the Rust toolchain: cmake and libclang
# (HiGHS is built from source by highs-sys, whose bindings bindgen makes with libclang). Extra Debian
# packages may be named as arguments (e.g. chromium). Uses apt-get when running as root; otherwise
# says exactly what to install.
#
#   scripts/ensure-deps.sh [--dry-run] [--root DIR] [PACKAGE...]
#
# How it decides what is missing:
# - Where dpkg exists (and no --root is given), by Debian package state: a package is present only
#   when dpkg reports it "install ok installed".
# - Otherwise (no dpkg, or --root DIR for a machine image or a test), by the exact files: cmake is
#   `usr/bin/cmake` (or on PATH when the root is /); libclang is one of the files bindgen loads,
#   `libclang.so`, `libclang-NN.so` or `libclang.so.NN`, in `usr/lib/llvm-*/lib`, `usr/lib/*` or
#   `usr/lib`. Other libraries of LLVM, such as `libclang-cpp.so.14`, do not count.
# - LIBCLANG_PATH, when set, is honoured: a directory holding one of those files (or the file
#   itself) satisfies libclang and no libclang package is installed.
#
# --dry-run prints what would be installed (`would install: ...` or `nothing to install`) and exits 0.
set -euo pipefail

dry_run=0
root=/
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --root)
      [ $# -ge 2 ] || { echo "error: --root needs a directory" >&2; exit 2; }
      root="$2"
      shift
      ;;
    --root=*) root="${1#--root=}" ;;
    -h | --help)
      sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) echo "error: unknown option $1" >&2; exit 2 ;;
    *) extra+=("$1") ;;
  esac
  shift
done
root="${root%/}"

# Package state is read from dpkg only for the real machine.
use_dpkg=0
if [ -z "$root" ] && command -v dpkg-query >/dev/null 2>&1; then
  use_dpkg=1
fi

installed() { # installed PACKAGE: dpkg says the package is installed
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

is_libclang() { # is_libclang NAME: a file name bindgen loads as libclang
  [[ "$1" =~ ^libclang(-[0-9]+(\.[0-9]+)*)?\.so(\.[0-9]+)*$ ]]
}

libclang_in() { # libclang_in DIR...: one of the directories holds a libclang file
  local dir file
  for dir in "$@"; do
    [ -d "$dir" ] || continue
    for file in "$dir"/libclang*; do
      [ -e "$file" ] && is_libclang "$(basename "$file")" && return 0
    done
  done
  return 1
}

libclang_path_ok() { # LIBCLANG_PATH names a libclang file or a directory holding one
  local p="${LIBCLANG_PATH:-}"
  [ -n "$p" ] || return 1
  if [ -f "$p" ]; then
    is_libclang "$(basename "$p")"
  else
    libclang_in "$p"
  fi
}

need=()

# cmake
if [ $use_dpkg -eq 1 ]; then
  installed cmake || need+=(cmake)
elif [ -z "$root" ]; then
  command -v cmake >/dev/null 2>&1 || need+=(cmake)
else
  [ -x "$root/usr/bin/cmake" ] || need+=(cmake)
fi

# libclang
if libclang_path_ok; then
  :
else
  if [ -n "${LIBCLANG_PATH:-}" ]; then
    echo "note: LIBCLANG_PATH holds no libclang.so, libclang-NN.so or libclang.so.NN; checking the system" >&2
  fi
  if [ $use_dpkg -eq 1 ]; then
    installed libclang-dev || need+=(libclang-dev)
  else
    shopt -s nullglob
    dirs=("$root"/usr/lib/llvm-*/lib "$root"/usr/lib/*-linux-gnu "$root"/usr/lib "$root"/usr/lib64)
    shopt -u nullglob
    libclang_in "${dirs[@]}" || need+=(libclang-dev)
  fi
fi

# extra packages named by the caller
for pkg in "${extra[@]}"; do
  if [ $use_dpkg -eq 1 ]; then
    installed "$pkg" || need+=("$pkg")
  elif [ -z "$root" ] && ! command -v dpkg-query >/dev/null 2>&1; then
    command -v "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  else
    need+=("$pkg") # a fake root has no package database: report it as missing
  fi
done

if [ $dry_run -eq 1 ]; then
  if [ ${#need[@]} -eq 0 ]; then echo "nothing to install"; else echo "would install: ${need[*]}"; fi
  exit 0
fi

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
