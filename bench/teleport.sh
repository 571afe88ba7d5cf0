#!/bin/bash
# Teleport / live migration on loopback: the 1 GiB probe guest (1 vCPU)
# idle (10 ms ticker only) and dirtying DIRTY_MIB MiB (default 256) at
# DIRTY_RATE MiB/s (default 16), under telebox (controlvm teleport between
# two homes, tests/apps/teleport_e2e_lib.py) and under QEMU driven as
# ../shared/anchors/migrate.sh does (its lib/migrun.py: -M pc, KVM, QMP
# migrate over tcp:127.0.0.1, max-bandwidth uncapped, downtime-limit 50 ms)
# with the same guest ELF. RUNS (default 3) per cell, interleaved.
# Reported per run: total time and the downtime each reports (telebox:
# pause to the target's "resumed"; QEMU: query-migrate), and the largest
# arrival gap between consecutive TK lines of the serial console as the
# host sees it, from the command to 1 s after completion (source and target
# merged on one clock). Telebox's serial goes to Logs/serial.log, followed
# with 1 ms polls; QEMU's is read from its stdout pipe.
# Usage: bench/teleport.sh [BUILD_DIR]   (QEMU=0 skips QEMU)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../build}" && pwd)
RUNS=${RUNS:-3}
DIRTY_MIB=${DIRTY_MIB:-256}
DIRTY_RATE=${DIRTY_RATE:-16}
LOADS=${LOADS:-"idle dirty"}
ELF=${ELF:-$BUILD/guest/probe-guest.elf}
MIGRUN=${MIGRUN:-$HERE/../../shared/anchors/lib/migrun.py}
BIN=$BUILD/bin
for f in "$ELF" "$BIN/telebox" "$BIN/telebox-headless" "$BIN/teleboxd"; do
  [ -e "$f" ] || { echo "missing $f (build probe_guest telebox teleboxd telebox-headless)" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TSC_KHZ=$(awk -F: '/^cpu MHz/ {printf "%d", $2 * 1000; exit}' /proc/cpuinfo)

RUNNER=$WORK/tb_teleport.py
cat > "$RUNNER" <<'PY'
import json, os, re, socket, sys, time
sys.path.insert(0, sys.argv[1])
from teleport_e2e_lib import Host, SerialTail, Target, merged_ticks
bindir, elf, cmdline, work = sys.argv[2:6]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
src, dst = Host(work, "a", bindir), Host(work, "b", bindir)
res = {"ok": False}
tgt = None
try:
    src.create_vm("t", elf, 1024, cmdline)
    dst.create_vm("t", elf, 1024, cmdline, "--teleporter", "on",
                  "--teleporterport", str(port), "--teleporterpassword", "pw")
    src.run("startvm", "t", "--type", "headless")
    st = SerialTail(os.path.join(src.vm_folder("t"), "Logs", "serial.log"))
    dt = SerialTail(os.path.join(dst.vm_folder("t"), "Logs", "serial.log"))
    st.start(); dt.start()
    if not st.wait_for("TELEBOX-WORKLOAD-STARTED", 120):
        raise RuntimeError("guest workload did not start")
    tgt = Target(dst, "t")
    if not tgt.wait_waiting(1, 120):
        raise RuntimeError("target does not wait: " + " / ".join(tgt.out))
    time.sleep(2.5)
    t0 = time.monotonic()
    p = src.run("controlvm", "t", "teleport", "--host", "localhost",
                "--port", str(port), "--password", "pw", check=False)
    t1 = time.monotonic()
    if p.returncode != 0:
        raise RuntimeError("teleport failed: " + p.stderr.strip())
    m = re.search(r"Teleported in ([\d.]+) ms \(downtime ([\d.]+) ms\)",
                  p.stdout)
    time.sleep(1.2)
    ticks = merged_ticks(st, dt)
    w = [x for x in ticks if t0 <= x[0] <= t1 + 1.0]
    base = [x for x in ticks if t0 - 2.0 <= x[0] < t0]
    gap = lambda xs: max((b[0] - a[0] for a, b in zip(xs, xs[1:])), default=0)
    seqs = sorted({x[1] for x in w})
    res.update(ok=True, total_time_ms=float(m.group(1)),
               downtime_ms=float(m.group(2)), wall_ms=(t1 - t0) * 1000,
               host_gap_max_ms=round(gap(w) * 1000, 1),
               host_gap_base_ms=round(gap(base) * 1000, 1),
               guest_gap_max_ms=round(max((x[2] for x in w), default=0) / 1000, 1),
               seq_lost=(seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else None)
    log = os.path.join(src.vm_folder("t"), "Logs", "VBox.log")
    if os.path.exists(log):
        done = [l for l in open(log, errors="replace") if "Teleport: done" in l]
        if done:
            res["source_log"] = done[-1].split("Teleport: ", 1)[1].strip()
    log = os.path.join(dst.vm_folder("t"), "Logs", "VBox.log")
    if os.path.exists(log):
        took = [l for l in open(log, errors="replace") if "teleport took" in l]
        if took:
            res["target_log"] = took[-1].split("Teleporter: ", 1)[1].strip()
except Exception as e:
    res["reason"] = str(e)
finally:
    if tgt:
        tgt.stop()
    src.run("controlvm", "t", "poweroff", check=False, timeout=60)
    time.sleep(0.5)
    src.stop_service(); dst.stop_service()
    print(json.dumps(res), flush=True)
PY

summ() { # file key -> "min / median / max"
  python3 - "$1" "$2" <<'PY'
import json, sys
v = sorted(r[sys.argv[2]] for r in map(json.loads, open(sys.argv[1])) if r.get("ok") and r.get(sys.argv[2]) is not None)
print(" / ".join("%.0f" % x if x >= 100 else "%.1f" % x for x in ([v[0], v[len(v)//2], v[-1]] if len(v) >= 3 else v)) or "-")
PY
}

echo "## $(date -u '+%F %H:%M') UTC, host $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## telebox $BUILD; $(qemu-system-x86_64 --version | head -1); dirtier ${DIRTY_MIB} MiB @ ${DIRTY_RATE} MiB/s"
for load in $LOADS; do
  case $load in
    idle) extra="telebox.ticker=10" ;;
    dirty) extra="telebox.ticker=10 telebox.dirty=$DIRTY_MIB:$DIRTY_RATE" ;;
    *) echo "unknown load $load" >&2; exit 2 ;;
  esac
  cmdline="$extra tsc_khz=$TSC_KHZ"
  : > "$WORK/tb-$load.jsonl"; : > "$WORK/qemu-$load.jsonl"
  for i in $(seq 1 "$RUNS"); do
    mkdir -p "$WORK/tb-$load-$i"
    python3 "$RUNNER" "$HERE/../tests/apps" "$BIN" "$ELF" "$cmdline" "$WORK/tb-$load-$i" >> "$WORK/tb-$load.jsonl"
    tail -1 "$WORK/tb-$load.jsonl" | sed "s/^/  telebox $load run $i: /"
    if [ "${QEMU:-1}" != 0 ]; then
      python3 "$MIGRUN" --port "${PORT:-47011}" --workdir "$WORK/qemu-$load-$i" \
        --downtime-limit 50 --max-bandwidth 0 -- \
        qemu-system-x86_64 -M pc -m 1024 -smp 1 -nodefaults -no-user-config \
        -display none -serial stdio -enable-kvm -cpu host,-arch-capabilities \
        -kernel "$ELF" -append "$cmdline" >> "$WORK/qemu-$load.jsonl"
      tail -1 "$WORK/qemu-$load.jsonl" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  qemu %s run %s: ok=%s total=%s ms downtime=%s ms host_gap=%s ms base=%s ms %s" % (sys.argv[1], sys.argv[2], r.get("ok"), r.get("total_time_ms"), r.get("downtime_ms"), r.get("host_gap_max_ms"), r.get("host_gap_base_ms"), r.get("reason") or ""))' "$load" "$i"
    fi
  done
  for who in tb qemu; do
    f=$WORK/$who-$load.jsonl
    [ -s "$f" ] || continue
    echo "SUMMARY $who $load (min / median / max, ms): total $(summ "$f" total_time_ms); downtime $(summ "$f" downtime_ms); largest host gap $(summ "$f" host_gap_max_ms); gap before $(summ "$f" host_gap_base_ms)"
  done
done
echo "## load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
