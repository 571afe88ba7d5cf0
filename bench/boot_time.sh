#!/bin/bash
# Boot time: process start -> "TELEBOX-GUEST-READY" on the serial console,
# telebox-headless vs QEMU microvm on the same probe guest ELF, RUNS each
# (default 10), interleaved so both see the same host load. The guest powers
# off right after the marker (telebox.poweroff=1); a process still running
# 3 s after the marker is terminated. ELF=... picks another guest (e.g. the
# anchor's mbguest.elf, which QEMU's 49 ms anchor figure used).
# Usage: bench/boot_time.sh [BUILD_DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
RUNS=${RUNS:-10}
ELF=${ELF:-$BUILD/guest/probe-guest.elf}
BIN=$BUILD/bin
for f in "$ELF" "$BIN/telebox" "$BIN/telebox-headless"; do
  [ -e "$f" ] || { echo "missing $f (build probe_guest, telebox, telebox-headless)" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export VBOX_USER_HOME=$WORK/home HOME=$WORK
mkdir -p "$VBOX_USER_HOME"
"$BIN/telebox" createvm --name bootbench --ostype Other_64 --register >/dev/null
"$BIN/telebox" modifyvm bootbench --memory 256 --cpus 1 --longmode on \
  --kernel "$ELF" --cmdline "telebox.poweroff=1" >/dev/null

TIMER=$WORK/timer.py
cat > "$TIMER" <<'PY'
import os, selectors, subprocess, sys, time
timeout = float(sys.argv[1]); cmd = sys.argv[2:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
sel = selectors.DefaultSelector(); sel.register(p.stdout, selectors.EVENT_READ)
buf = b""; mark = None
while time.monotonic() - t0 < timeout:
    if not sel.select(0.5):
        if p.poll() is not None: break
        continue
    chunk = os.read(p.stdout.fileno(), 65536)
    if not chunk: break
    buf += chunk
    if mark is None and b"TELEBOX-GUEST-READY" in buf:
        mark = time.monotonic() - t0
    if mark is not None: break
try:
    p.wait(timeout=3)  # the guest powers off; microvm has no PIIX4 PM, so
except subprocess.TimeoutExpired:  # QEMU may need to be told
    p.terminate()
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()
print("%.3f" % (mark * 1000) if mark is not None else "fail")
PY

QEMU=(qemu-system-x86_64 -M microvm -enable-kvm -cpu host,-arch-capabilities
      -m 256 -smp 1 -nodefaults -no-user-config -display none -serial stdio
      -no-reboot -kernel "$ELF" -append telebox.poweroff=1)
TELEBOX=("$BIN/telebox-headless" --startvm bootbench --serial-stdout)
: > "$WORK/telebox.txt"; : > "$WORK/qemu.txt"
for i in $(seq 1 "$RUNS"); do
  python3 "$TIMER" 30 "${TELEBOX[@]}" >> "$WORK/telebox.txt"
  python3 "$TIMER" 30 "${QEMU[@]}" >> "$WORK/qemu.txt"
done
stats() {
  python3 - "$1" <<'PY'
import statistics, sys
v = [l.strip() for l in open(sys.argv[1])]
ok = sorted(float(x) for x in v if x != "fail")
fails = len(v) - len(ok)
if not ok: print("no successful run (%d failed)" % fails); sys.exit()
print("%8.1f %8.1f %8.1f %4d %5d" % (statistics.median(ok), ok[0], ok[-1], len(ok), fails))
PY
}
echo "boot to TELEBOX-GUEST-READY, ms (process start -> marker on stdout), $RUNS runs each"
printf "%-34s %8s %8s %8s %4s %5s\n" config median min max ok fail
printf "%-34s %s\n" "telebox-headless (KVM)" "$(stats "$WORK/telebox.txt")"
printf "%-34s %s\n" "qemu -M microvm -enable-kvm" "$(stats "$WORK/qemu.txt")"
