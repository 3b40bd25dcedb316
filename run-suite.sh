#!/usr/bin/env bash
# Builds PerfLab, runs a suite (default: bench/suites/mission.yaml), then gates the run against the suite's
# committed baseline (results/baselines/<suite>.json) when there is one. No logic of its own: the exit code
# is perflab's (0 ok, 1 regression or failed cells, 2 bad input, 3 this host cannot run it, 4 results could not be
# written, 70 a bug in perflab, 130 interrupted).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
suite=${1:-bench/suites/mission.yaml}
name=$(basename "$suite" .yaml)

# A suite with vm cells boots Debian's kernel under QEMU: install what that needs (as root) when missing.
if [[ $(uname -m) == aarch64 ]]; then qemu=(qemu-system-aarch64 qemu-system-arm linux-image-arm64); else qemu=(qemu-system-x86_64 qemu-system-x86 linux-image-amd64); fi
if grep -qE 'platform:.*\bvm\b' "$suite" && [[ $(id -u) -eq 0 ]] && ! command -v "${qemu[0]}" >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq "${qemu[1]}" busybox-static "${qemu[2]}" >/dev/null
fi
# Charts need a font (ScottPlot draws no text without one).
if [[ ! -d /usr/share/fonts/truetype/dejavu ]] && [[ $(id -u) -eq 0 ]]; then
  apt-get update -qq >/dev/null && apt-get install -y -qq fonts-dejavu-core >/dev/null
fi
dotnet build harness/PerfLab.Cli -c Release -v quiet -nologo
# The build follows the host's architecture (Directory.Build.props): linux-x64 or linux-arm64.
case $(uname -m) in x86_64) rid=linux-x64 ;; aarch64 | arm64) rid=linux-arm64 ;; *) echo "unsupported architecture $(uname -m): PerfLab builds for x86-64 and arm64" >&2; exit 3 ;; esac
perflab=harness/PerfLab.Cli/bin/Release/net10.0/$rid/perflab

before=$(ls -1d results/runs/*/ 2>/dev/null | sort || true)
set +e
"$perflab" run --suite "$suite"
run_status=$?
set -e
run=$(comm -13 <(echo "$before") <(ls -1d results/runs/*/ 2>/dev/null | sort) | tail -n 1)
[[ -n $run ]] || exit "$run_status"

baseline=results/baselines/$name.json
if [[ -f $baseline ]]; then
  set +e
  "$perflab" gate --baseline "$baseline" --candidate "$run"
  gate_status=$?
  set -e
else
  echo "no baseline at $baseline: to keep this run as one, run: $perflab gate --update-baseline --baseline $baseline --candidate $run"
  gate_status=0
fi
echo "results: $run (summary.csv, summary.json, manifest.json, cells/*/mlperf_log_summary.txt)"
# The report: HTML with its charts embedded, and a Markdown summary. Its own exit code does not decide the job's:
# a chart that cannot be drawn is named in the report, and the run's and the gate's verdicts stand.
"$perflab" report "$run" || echo "warning: the report could not be written completely (see above)"
# A failed cell or a regression both fail the job; the run's own status wins when it is the worse one.
(( run_status != 0 )) && exit "$run_status"
exit "$gate_status"
