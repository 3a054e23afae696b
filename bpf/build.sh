#!/usr/bin/env bash
# Compiles every bpf/*.bpf.c into a CO-RE BPF object NAME.bpf.o. Called by the
# Maven build (generate-resources); usage: build.sh CLANG OUTPUT_DIR
set -euo pipefail
clang=${1:-clang}
out=${2:?usage: build.sh CLANG OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v "$clang" >/dev/null 2>&1; then
  echo "bpf/build.sh: '$clang' not found: install it (Debian/Ubuntu: apt-get install clang libbpf-dev)" >&2
  exit 1
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "bpf/build.sh: /usr/include/bpf/bpf_helpers.h not found: install libbpf-dev" >&2
  exit 1
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "bpf/build.sh: bpf/vmlinux.h describes x86_64; on $(uname -m), regenerate it (see below) and add the arch here" >&2
  exit 1
fi
arch=x86
# vmlinux.h holds every kernel type, from BTF (x86_64); CO-RE relocates each field
# access against the running kernel's BTF, so one object runs on any kernel >= 5.8.
# Regenerate: bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h

mkdir -p "$out"
for source in "$here"/*.bpf.c; do
  # -mcpu=v3: atomic compare-and-swap and 32-bit jumps (kernel >= 5.12).
  "$clang" -O2 -g -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_${arch} -I"$here" \
    -c "$source" -o "$out/$(basename "$source" .c).o"
done
