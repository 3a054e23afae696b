#!/usr/bin/env bash
# Boots a Debian kernel package in qemu and runs one command inside it, with
# this machine's whole filesystem visible (read-only, under a throwaway tmpfs
# overlay): the checkout, its build, the JDK and ~/.m2 are the host's own files.
# Prints the command's output, and exits with its exit status.
#
#   scripts/kernel-vm.sh [OPTIONS] KERNEL [--] COMMAND [ARG...]
#
# KERNEL is a Debian suite's kernel, the newest of its packages:
#   5.10   bullseye   linux-image-5.10.0-N-amd64      (Debian 11)
#   6.1    bookworm   linux-image-6.1.0-N-amd64       (Debian 12)
#   6.12   trixie     linux-image-6.12.N+deb13-amd64  (Debian 13)
# or SUITE/PACKAGE for an exact package, e.g. bookworm/linux-image-6.1.0-57-amd64.
#
# Options:
#   --timeout SECONDS  kill the VM after this long (default 1800); exit 124 then
#   --memory MIB       guest memory (default 4096)
#   --cpus N           guest CPUs (default 2)
#   --out DIR          a host directory the command can write to, mounted in the
#                      guest at the same path (default: a fresh temporary one,
#                      removed afterwards); $KERNEL_VM_OUT names it inside
#   --refresh          look for a newer kernel package even if one is cached
#
# The command runs as root in the current directory with MEMFD_EXPORTER_*,
# JAVA_HOME and PATH of the caller; inside, tracefs, bpffs and cgroup2 are
# mounted and lo is up. Exit status: the command's; 124 on timeout; 125 when
# the VM could not boot or run it. KVM is used when /dev/kvm and vmx/svm are there, else
# TCG emulation (slower: see the kernel matrix in docs/tested-kernels.md for measured times).
#
# Cache (delete it to start afresh): /var/cache/memfd-exporter-kernels/
#   apt/SUITE/           private apt lists (the host's apt configuration is untouched)
#   PACKAGE/             the .deb, vmlinuz and the initramfs built from it
# Nothing stays running: qemu is killed on timeout, on Ctrl-C, and on any exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
ensure_root "$@"

readonly cache=${MEMFD_EXPORTER_KERNEL_CACHE:-/var/cache/memfd-exporter-kernels}
# The initramfs carries this script's init code: a cached one is used only by the same script.
readonly initrd_name=initrd-$(sha256sum "$0" | cut -c1-12).cpio.gz
readonly mirror=http://deb.debian.org/debian
readonly security_mirror=http://deb.debian.org/debian-security
timeout=1800
memory=4096
cpus=2
out=""
refresh=0

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
log() { printf 'kernel-vm: %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=${2:?}; shift 2 ;;
    --memory) memory=${2:?}; shift 2 ;;
    --cpus) cpus=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --refresh) refresh=1; shift ;;
    -h | --help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
kernel=$1
shift
[ "${1:-}" = -- ] && shift
[ $# -ge 1 ] || usage

install_if_missing qemu-system-x86 busybox-static cpio kmod xz-utils zstd

# build_initramfs DEB_TREE DIR: DIR/vmlinuz, DIR/release and DIR/$initrd_name, a
# busybox initramfs that loads what 9p and overlayfs need from the package's
# own modules (built in on some kernels) and hands over to the host's system.
build_initramfs() {
  local deb=$1 dir=$2 modroot release initrd module
  modroot=$deb
  [ -d "$deb/usr/lib/modules" ] && modroot=$deb/usr # usr-merged packages (trixie)
  release=$(ls "$modroot/lib/modules")
  cp "$deb/boot/vmlinuz-$release" "$dir/vmlinuz"
  echo "$release" >"$dir/release"
  depmod -b "$modroot" "$release"
  initrd=$dir/initrd
  mkdir -p "$initrd"/{bin,dev,proc,sys,modules,lower,rw,newroot}
  cp /bin/busybox "$initrd/bin/busybox"
  : >"$initrd/modules/order"
  # In dependency order; "builtin ..." lines are modules the kernel has built in.
  modprobe -a -d "$modroot" -S "$release" --show-depends virtio_pci 9pnet_virtio 9p overlay \
    | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' | while read -r module; do
      local name
      name=$(basename "$module")
      case "$name" in
        *.ko.xz) xz -dc "$module" >"$initrd/modules/${name%.xz}"; name=${name%.xz} ;;
        *.ko.zst) zstd -qdc "$module" >"$initrd/modules/${name%.zst}"; name=${name%.zst} ;;
        *) cp "$module" "$initrd/modules/$name" ;;
      esac
      echo "$name" >>"$initrd/modules/order"
    done
  cat >"$initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $(cat /modules/order); do
  insmod "/modules/$module" || echo "kernel-vm: insmod $module failed"
done
fail() { echo "kernel-vm: $*"; reboot -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || fail "mounting the host's / failed"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "tmpfs failed"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || fail "overlayfs failed"
cp /stage2 /newroot/kernel-vm-stage2
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/sh /kernel-vm-stage2
INIT
  cat >"$initrd/stage2" <<'STAGE2'
# Runs in the host's system (the overlay): what a booted machine has, then the command.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# As udev makes it: the kernel names a script executed by fd /dev/fd/N, and its interpreter opens that.
ln -sfn /proc/self/fd /dev/fd
# No tmpfs on /tmp: a checkout there (a CI clone) must stay visible; writes go to the overlay's tmpfs.
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# After the tmpfs mounts, which would hide it.
out=$(sed -n 's/.*kernel_vm_out=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p "$out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "$out" || { echo "kernel-vm: mounting $out failed"; reboot -f; }
mkdir -p /dev/hugepages && mount -t hugetlbfs hugetlbfs /dev/hugepages
ip link set lo up
hostname kernel-vm
bash "$out/.kernel-vm-command" </dev/null
echo $? >"$out/.kernel-vm-rc"
sync
reboot -f >/dev/null 2>&1
STAGE2
  chmod +x "$initrd/init"
  (cd "$initrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/$initrd_name"
  rm -rf "$initrd"
}

case "$kernel" in
  5.10) suite=bullseye pattern='^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
  6.1) suite=bookworm pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
  6.12) suite=trixie pattern='^linux-image-6\.12\.[0-9]+\+deb13-amd64$' ;;
  */linux-image-*) suite=${kernel%%/*} pattern="^${kernel#*/}\$" ;;
  *) log "unknown kernel '$kernel': 5.10, 6.1, 6.12 or SUITE/linux-image-..."; exit 2 ;;
esac

# A private apt configuration per suite: lists and downloads stay in the cache.
apt_dir=$cache/apt/$suite
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Get::List-Cleanup=0
          -o Debug::NoLocking=1)
alias_link=$cache/$suite.${kernel//\//_}
if [ "$refresh" = 1 ] || [ ! -e "$alias_link/$initrd_name" ]; then
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    echo "deb [signed-by=$keyring] $mirror $suite main"
    if [ "$suite" != bullseye ]; then
      echo "deb [signed-by=$keyring] $mirror $suite-updates main"
    fi
    echo "deb [signed-by=$keyring] $security_mirror $suite-security main"
  } >"$apt_dir/sources.list"
  log "updating the package lists of $suite"
  apt-get "${apt_opts[@]}" update -qq >&2 || { log "apt-get update failed for $suite"; exit 125; }
  package=$(apt-cache "${apt_opts[@]}" pkgnames linux-image- | grep -E "$pattern" | sort -V | tail -n 1 || true)
  if [ -z "$package" ]; then
    log "no package matching $pattern in $suite"
    exit 125
  fi
  dir=$cache/$package
  if [ ! -e "$dir/$initrd_name" ]; then
    log "building $package (download, extract, initramfs)"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial/deb"
    (cd "$dir.partial" && apt-get "${apt_opts[@]}" download "$package" >&2)
    dpkg-deb -x "$dir.partial"/*.deb "$dir.partial/deb"
    rm "$dir.partial"/*.deb
    build_initramfs "$dir.partial/deb" "$dir.partial"
    rm -rf "$dir.partial/deb"
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  ln -sfn "$package" "$alias_link"
fi
dir=$(readlink -f "$alias_link")
log "kernel $(basename "$dir") ($(cat "$dir/release"))"

work=$(mktemp -d /tmp/kernel-vm.XXXXXX)
own_out=0
if [ -z "$out" ]; then
  out=$work/out
  own_out=1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
qemu_pid=""
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    # timeout passes the TERM on to qemu, which exits at once.
    kill -TERM "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  rm -f "$out/.kernel-vm-rc" "$out/.kernel-vm-command"
  [ "$own_out" = 1 ] && rm -rf "$out"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The command, with the caller's directory and environment, as a script in the shared directory.
{
  echo "cd $(printf %q "$PWD")"
  echo "export PATH=$(printf %q "$PATH") HOME=/root KERNEL_VM_OUT=$(printf %q "$out")"
  if [ -n "${JAVA_HOME:-}" ]; then
    echo "export JAVA_HOME=$(printf %q "$JAVA_HOME")"
  fi
  for name in $(compgen -e | grep -E '^MEMFD_EXPORTER_' || true); do
    echo "export $name=$(printf %q "${!name}")"
  done
  printf 'exec'
  printf ' %q' "$@"
  echo
} >"$out/.kernel-vm-command"

accel=(-accel tcg,thread=multi -cpu max)
# /dev/kvm can exist where KVM cannot run a guest (a VM without nested virtualisation: no vmx/svm).
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
  accel=(-accel kvm -cpu host)
fi
start=$(date +%s%N)
# The guest prints on the serial console; the kernel only warnings and worse.
timeout --kill-after=10 "$timeout" qemu-system-x86_64 "${accel[@]}" -m "$memory" -smp "$cpus" \
  -nodefaults -no-user-config -display none -no-reboot -serial stdio -monitor none \
  -kernel "$dir/vmlinuz" -initrd "$dir/$initrd_name" \
  -append "console=ttyS0 loglevel=4 panic=-1 kernel_vm_out=$out" \
  -device virtio-rng-pci \
  -fsdev local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev local,id=out,path="$out",security_model=passthrough,multidevs=remap \
  -device virtio-9p-pci,fsdev=out,mount_tag=out \
  </dev/null > >(tr -d '\r') &
qemu_pid=$!
set +e
wait "$qemu_pid"
qemu_rc=$?
set -e
qemu_pid=""
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
if [ -f "$out/.kernel-vm-rc" ]; then
  rc=$(cat "$out/.kernel-vm-rc")
  log "$(cat "$dir/release"): exit status $rc after $((elapsed / 1000)).$(( elapsed % 1000 / 100 )) s (boot and command)"
  exit "$rc"
fi
if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
  log "timed out after $timeout s: the VM was killed"
  exit 124
fi
log "the VM stopped without running the command (qemu exit status $qemu_rc)"
exit 125
