#!/usr/bin/env bash
# Runs every test: installs what the tests need, restores, builds, runs xunit, and ends with one line
# "N passed, N failed, N skipped". Tests needing a capability this host lacks are skipped with their reason.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# native/ builds with cmake and gcc; its arm64 build is checked with Debian's cross compiler.
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v gcc >/dev/null || need+=(gcc)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
# The vm backend's tests boot Debian's kernel with busybox under QEMU.
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v busybox >/dev/null || need+=(busybox-static)
ls /boot/vmlinuz-* >/dev/null 2>&1 || need+=(linux-image-amd64)
# Reports: charts need a font; the browser test opens the report in Debian's Chromium, headless.
[[ -d /usr/share/fonts/truetype/dejavu ]] || need+=(fonts-dejavu-core)
command -v chromium >/dev/null || need+=(chromium)
# The fleet's integration test starts a one-node Slurm (slurmctld, slurmd, munge) as root and submits a suite in shards.
command -v slurmctld >/dev/null || need+=(slurm-wlm munge)
# The Kubernetes manifests' schema check runs kubernetes-models' validators under node (tests/k8s-schema).
command -v npm >/dev/null || need+=(nodejs npm)
# The arm64 tiers (x86-64 hosts): the lab's linux-arm64 build runs under qemu-user through binfmt, with Debian's arm64
# runtime libraries from multiarch, and in an arm64 VM under qemu-system-aarch64.
arm64=()
if [[ $(uname -m) == x86_64 ]]; then
  command -v qemu-aarch64-static >/dev/null || arm64+=(qemu-user-static binfmt-support)
  [[ -e /lib/ld-linux-aarch64.so.1 ]] || arm64+=(libc6:arm64 libstdc++6:arm64 libssl3:arm64 zlib1g:arm64)
  # The arm64 VM tier: a whole arm64 machine under QEMU, its root built with debootstrap (tests/arm64-vm/).
  command -v qemu-system-aarch64 >/dev/null || arm64+=(qemu-system-arm)
  command -v debootstrap >/dev/null || arm64+=(debootstrap)
  command -v cpio >/dev/null || arm64+=(cpio)
fi
if ((${#need[@]} + ${#arm64[@]})) && [[ $(id -u) -eq 0 ]]; then
  ((${#arm64[@]})) && dpkg --add-architecture arm64
  apt-get update -qq >/dev/null || echo "warning: apt-get update failed"
  # Two installs: a failure of the arm64 pieces must not cost the other tests their packages.
  if ((${#need[@]})); then
    apt-get install -y -qq "${need[@]}" >/dev/null || echo "warning: could not install ${need[*]}; their tests will be skipped"
  fi
  if ((${#arm64[@]})); then
    apt-get install -y -qq "${arm64[@]}" >/dev/null || echo "warning: could not install ${arm64[*]}; the arm64 tier will be skipped"
  fi
fi
# binfmt_misc may not be mounted on a bare machine: the qemu-aarch64 handler needs it.
if [[ $(uname -m) == x86_64 && $(id -u) -eq 0 ]] && command -v update-binfmts >/dev/null; then
  [[ -e /proc/sys/fs/binfmt_misc/status ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
fi

# The arm64 VM tier's Debian root takes minutes to build (debootstrap, its second stage under qemu-user): start it
# now, beside the build and the other tests; the tier's test waits for it (a lock) and finds it cached next time.
if [[ $(uname -m) == x86_64 && $(id -u) -eq 0 ]] && command -v debootstrap >/dev/null && [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  tests/arm64-vm/build-root.sh >/tmp/perflab-arm64-root.log 2>&1 &
fi
dotnet build PerfLab.sln -c Release -v quiet -nologo || { echo "0 passed, 1 failed"; exit 1; }
# The Kubernetes API schema's validators, pinned by tests/k8s-schema/package-lock.json.
if command -v npm >/dev/null; then
  (cd tests/k8s-schema && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) || echo "warning: npm ci in tests/k8s-schema failed; the Kubernetes schema tests will be skipped"
fi
# The notebooks' tests run them with dotnet-repl, a local tool (dotnet-tools.json).
dotnet tool restore >/dev/null || echo "warning: dotnet tool restore failed; the notebook tests will be skipped"
log=$(mktemp)
dotnet test PerfLab.sln -c Release --no-build -nologo -m:1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one "Passed!/Failed! - Failed: F, Passed: P, Skipped: S, ..." line per test project.
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- Failed:' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' |
  awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -f "$log"
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # a crash of the test host counts as a failure
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
