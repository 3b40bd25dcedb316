#!/usr/bin/env bash
# Builds the arm64 VM tier's guest: a Debian bookworm arm64 root made by debootstrap from Debian's own packages (built
# once, cached by its package list), with the kernel the VM boots, its headers and a compiler (rsi_bench is built
# inside the guest against them), QEMU (the guest's own vm cell, on its nested KVM) and busybox; and the small
# initramfs that mounts that root over virtio-9p (rebuilt each time: it takes a second and follows guest-init).
# Prints the cache folder. Needs root, debootstrap and qemu-user-static with binfmt (debootstrap's second stage runs
# arm64 code).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=kmod,busybox-static,linux-image-arm64,linux-headers-arm64,make,gcc,libc6-dev,libssl3,qemu-system-arm
# The kernel's postinst hook would build an initramfs of nearly every module, each through several arm64 processes
# under qemu-user (over 15 minutes here) for an image the VM never boots; the hook skips it when INITRD=No.
export INITRD=No
key=$(echo "bookworm arm64 minbase $packages" | sha256sum | cut -c1-16)
cache=${PERFLAB_CACHE:-$HOME/.cache/perflab}/arm64-vm/$key
mirror=${PERFLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# One builder at a time: run-tests.sh starts a build in the background while the other tests run, and the test that
# needs the root waits here for it instead of building a second one into the same folder.
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9
if [[ ! -f $cache/ready ]]; then
  rm -rf "$cache.tmp"; mkdir -p "$cache.tmp"
  start=$(date +%s)
  # minbase: what apt needs plus the packages named; no recommends, so no initramfs-tools (guest-init boots it).
  debootstrap --arch=arm64 --variant=minbase --include="$packages" bookworm "$cache.tmp/root" "$mirror" >"$cache.tmp/debootstrap.log" 2>&1 \
    || { echo "debootstrap failed; its log: $cache.tmp/debootstrap.log" >&2; tail -5 "$cache.tmp/debootstrap.log" >&2; exit 1; }
  rm -f "$cache.tmp/root/var/cache/apt/archives/"*.deb
  echo "$(( $(date +%s) - start ))" >"$cache.tmp/build-seconds"
  touch "$cache.tmp/ready"
  rm -rf "$cache"; mv "$cache.tmp" "$cache"
fi
kernel=$(ls "$cache/root/boot/"vmlinuz-* | sort | tail -1)
version=${kernel##*/vmlinuz-}
init=$(mktemp -d)
trap 'rm -rf "$init"' EXIT
mkdir -p "$init"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$cache/root/bin/busybox" "$init/bin/busybox"
# The modules 9p needs, in load order; those built into Debian's arm64 kernel are simply not found.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p; do
  f=$(find "$cache/root/lib/modules/$version" -name "$m.ko*" | head -1)
  if [[ -n $f ]]; then cp "$f" "$init/lib/modules/"; echo "$m" >>"$init/lib/modules/order"; fi
done
touch "$init/lib/modules/order"
cp "$here/guest-init" "$init/init"; chmod +x "$init/init"
(cd "$init" && find . | cpio -o -H newc --quiet | gzip -1) >"$cache/initrd.gz.$$"
mv "$cache/initrd.gz.$$" "$cache/initrd.gz"
cp "$kernel" "$cache/vmlinuz"
echo "$cache"
