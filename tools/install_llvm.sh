#!/usr/bin/env bash
# Installs Debian's LLVM 19 tools used as references by the differential tests, when they are
# missing and apt-get can install them. Without them those tests skip with a reason.
set -u
missing=0
for tool in llvm-mc-19 clang-19 ld.lld-19 llvm-readelf-19 llvm-objdump-19; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
[ "$missing" = 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_llvm: apt-get not found; LLVM differential tests will be skipped" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
    echo "install_llvm: not root and no sudo; LLVM differential tests will be skipped" >&2
    exit 0
  fi
fi
echo "install_llvm: installing llvm-19 clang-19 lld-19 with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo apt-get install -y -qq llvm-19 clang-19 lld-19 >/dev/null \
  || { echo "install_llvm: apt-get failed; LLVM differential tests will be skipped" >&2; exit 0; }
