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
case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
# <linux/types.h> pulls <asm/types.h>, which lives under the multiarch include dir.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")

mkdir -p "$out"
for source in "$here"/*.bpf.c; do
  # -mcpu=v3: atomic compare-and-swap and 32-bit jumps (kernel >= 5.12).
  "$clang" -O2 -g -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_${arch} \
    -idirafter "/usr/include/${multiarch}" \
    -c "$source" -o "$out/$(basename "$source" .c).o"
done
