#!/usr/bin/env bash
# The arm64 VM tier: boots Debian's arm64 kernel under qemu-system-aarch64 (-M virt,virtualization=on -cpu max: TCG
# with EL2, so the guest has its own KVM) on the cached Debian root (build-root.sh), and runs in it the arm64 lab's
# short suite, wsbench's arm64 VMM and the rsi_bench module (guest-run.sh). Usage: run.sh WORK; WORK must hold
# perflab/ (a linux-arm64 publish), wsbench (static arm64), rsi_bench/ (the module's source) and suite.yaml
# (vm.yaml optional). The guest's console goes to WORK/console.log; its results stay in WORK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(cd "$1" && pwd)
root=$("$here/build-root.sh")
cp "$here/guest-run.sh" "$work/guest-run.sh"
timeout_s=${PERFLAB_ARM64_VM_TIMEOUT_S:-2400}
start=$(date +%s)
timeout "$timeout_s" qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max -smp 2 -m 4096 \
  -nographic -no-reboot -kernel "$root/vmlinuz" -initrd "$root/initrd.gz" -append "console=ttyAMA0 panic=-1 quiet" \
  -virtfs "local,path=$root/root,mount_tag=root,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$work,mount_tag=work,security_model=none,multidevs=remap" \
  </dev/null >"$work/console.log" 2>&1 || echo "qemu-system-aarch64 exited $? (timeout ${timeout_s} s)" >>"$work/console.log"
echo "$(( $(date +%s) - start ))" >"$work/vm-seconds"
cat "$root/build-seconds" >"$work/root-build-seconds" 2>/dev/null || true
grep -q "PERFLAB-STEP done" "$work/console.log"
