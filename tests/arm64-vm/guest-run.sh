#!/bin/sh
# Runs inside the arm64 VM, in a chroot of the Debian root; the tier's work folder is /tmp/work (the host's, over 9p).
# Each step writes its own file there and the host's test reads them; a step that fails does not stop the next.
W=/tmp/work
# .NET's W^X double mapping of JIT code makes QEMU run stale code here as under qemu-user (without this: an unhandled
# NullReferenceException inside a reflection stub, and a segfault at a freshly compiled method, in 3 runs of 3 with
# the vm cell); perflab refuses to start without it, naming it.
export HOME=/tmp/home TMPDIR=/tmp DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_EnableWriteXorExecute=0
mkdir -p $HOME
step() { echo "PERFLAB-STEP $1 $(date +%s)"; }
step facts
cat /proc/cpuinfo >$W/cpuinfo.txt; uname -r >$W/uname.txt
{ ls -l /dev/kvm; dmesg | grep -i kvm; } >$W/kvm.txt 2>&1

step wsbench
echo 64 >/proc/sys/vm/nr_hugepages
for c in host.syscall kvm.exit.mmio kvm.exit.hvc kvm.fault.h4k kvm.fault.thp kvm.fault.hugetlb kvm.realm.probe; do
  $W/wsbench --case $c --time-goal-ms 2000 >>$W/wsbench.jsonl 2>>$W/wsbench.err
done

step rsi_bench
rm -rf /tmp/rsi; cp -r $W/rsi_bench /tmp/rsi
make -C /lib/modules/$(uname -r)/build M=/tmp/rsi modules >$W/rsi-build.log 2>&1
echo "build exit $?" >>$W/rsi-build.log
insmod /tmp/rsi/rsi_bench.ko >$W/rsi-insmod.txt 2>&1
echo "insmod exit $?" >>$W/rsi-insmod.txt
dmesg | grep rsi_bench >>$W/rsi-insmod.txt

step suite
$W/perflab/perflab run --suite $W/suite.yaml --results $W/runs --plain >$W/suite.log 2>&1
echo $? >$W/suite.rc

step vm
if [ -f $W/vm.yaml ]; then
  $W/perflab/perflab run --suite $W/vm.yaml --results $W/vm-runs --plain >$W/vm.log 2>&1
  echo $? >$W/vm.rc
fi
step done
