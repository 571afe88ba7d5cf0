#!/bin/bash
# Disk throughput: the probe guest's telebox.diskbench mode (sequential
# writes, flush, then sequential reads of MIB MiB in REQ_KIB KiB requests,
# DEPTH in flight, timed in the guest at CPL3) through telebox's virtio-blk
# on a raw and a VDI image with the host I/O cache on and off, through QEMU
# (-M pc, virtio-blk-pci, same guest ELF, cache=writeback and cache=none),
# and the host itself reading (and writing) the same raw file with dd:
# O_DIRECT, and warm from the page cache. RUNS runs per configuration
# (default 3), interleaved. Also runs telebox's raw configurations without
# ioeventfd/irqfd (TELEBOX_DISK_EVENTFDS=0: MMIO notify exits) for
# comparison, unless MMIO=0. Wall time is dominated by guest console
# drawing and -M pc's SeaBIOS, not by the timed passes.
# Usage: bench/disk_throughput.sh [BUILD_DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
RUNS=${RUNS:-3}
MIB=${MIB:-256}
REQ_KIB=${REQ_KIB:-1024}
DEPTH=${DEPTH:-4}
MMIO=${MMIO:-1}
ELF=${ELF:-$BUILD/guest/probe-guest.elf}
BIN=$BUILD/bin
for f in "$ELF" "$BIN/telebox" "$BIN/telebox-headless"; do
  [ -e "$f" ] || { echo "missing $f (build probe_guest, telebox, telebox-headless)" >&2; exit 1; }
done
# Not tmpfs: O_DIRECT needs a real file system.
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/tb-diskbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export VBOX_USER_HOME=$WORK/home HOME=$WORK
mkdir -p "$VBOX_USER_HOME"
SIZE_MB=$((MIB + 16))
CMDLINE="telebox.diskbench=$MIB:$REQ_KIB:$DEPTH"
TB=$BIN/telebox
# One image per VM (a normal medium attaches to one VM); QEMU and the host
# use the raw-cache and vdi-cache ones after telebox has written them.
for vm in raw-cache raw-nocache vdi-cache vdi-nocache; do
  fmt=RAW ext=img
  [[ $vm == vdi-* ]] && fmt=VDI ext=vdi
  img=$WORK/$vm.$ext
  "$TB" createmedium disk --filename "$img" --size "$SIZE_MB" --format "$fmt" >/dev/null
  cache=on
  [[ $vm == *-nocache ]] && cache=off
  "$TB" createvm --name "$vm" --ostype Other_64 --register >/dev/null
  "$TB" modifyvm "$vm" --memory 256 --cpus 1 --longmode on \
    --kernel "$ELF" --cmdline "$CMDLINE" >/dev/null
  "$TB" storagectl "$vm" --name VirtIO --add virtio --hostiocache "$cache" >/dev/null
  "$TB" storageattach "$vm" --storagectl VirtIO --port 0 --device 0 \
    --type hdd --medium "$img" >/dev/null
done

RUNNER=$WORK/run.py
cat > "$RUNNER" <<'PY'
# Runs a VM command until DISK-BENCH-OK (or a failure / timeout), stops it,
# prints "<write MiB/s> <read MiB/s>" from the guest's own timing.
import os, re, selectors, signal, subprocess, sys, time
timeout = float(sys.argv[1]); cmd = sys.argv[2:]
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, start_new_session=True)
sel = selectors.DefaultSelector(); sel.register(p.stdout, selectors.EVENT_READ)
buf = b""; t0 = time.monotonic()
while time.monotonic() - t0 < timeout:
    if not sel.select(0.5):
        if p.poll() is not None: break
        continue
    chunk = os.read(p.stdout.fileno(), 65536)
    if not chunk: break
    buf += chunk
    if b"DISK-BENCH-OK" in buf or b"FAIL" in buf: break
try:
    os.killpg(p.pid, signal.SIGTERM); p.wait(timeout=10)
except (subprocess.TimeoutExpired, ProcessLookupError):
    try: os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    p.wait()
text = buf.decode(errors="replace")
res = dict((m[0], (int(m[1]), int(m[2]))) for m in
           re.findall(r"DISK-BENCH (write|read) (\d+) (\d+)", text))
if "DISK-BENCH-OK" not in text or len(res) != 2:
    last = [l for l in text.splitlines() if "FAIL" in l]
    print("fail", "fail", (last or ["no result"])[-1].replace(" ", "_"))
else:
    print(" ".join("%.1f" % (b / 1048576 / (us / 1e6))
                   for b, us in (res["write"], res["read"])))
PY

qemu_cmd() { # image format cache
  echo qemu-system-x86_64 -M pc -enable-kvm -cpu host,-arch-capabilities \
    -m 256 -smp 1 -display none -serial stdio -monitor none -no-reboot \
    -kernel "$ELF" -append "$CMDLINE" \
    -drive "file=$1,if=none,id=d0,format=$2,cache=$3" \
    -device virtio-blk-pci,drive=d0,disable-legacy=on
}

CONFIGS=(raw-cache raw-nocache vdi-cache vdi-nocache)
[ "$MMIO" = 1 ] && CONFIGS+=(raw-cache-mmio raw-nocache-mmio)
CONFIGS+=(qemu-raw-writeback qemu-raw-none qemu-vdi-writeback qemu-vdi-none)
for c in "${CONFIGS[@]}"; do : > "$WORK/$c.txt"; done
for i in $(seq 1 "$RUNS"); do
  for c in "${CONFIGS[@]}"; do
    case $c in
    qemu-*)
      IFS=- read -r _ fmt cache <<<"$c"
      img=$WORK/raw-cache.img
      [ "$fmt" = vdi ] && img=$WORK/vdi-cache.vdi
      # shellcheck disable=SC2046
      python3 "$RUNNER" 300 $(qemu_cmd "$img" "$fmt" "$cache") >> "$WORK/$c.txt" ;;
    *-mmio)
      TELEBOX_DISK_EVENTFDS=0 python3 "$RUNNER" 300 "$BIN/telebox-headless" \
        --startvm "${c%-mmio}" --serial-stdout >> "$WORK/$c.txt" ;;
    *)
      python3 "$RUNNER" 300 "$BIN/telebox-headless" --startvm "$c" \
        --serial-stdout >> "$WORK/$c.txt" ;;
    esac
  done
done

# The host on the same raw file (now holding the guest's data).
host_dd() { # label, dd arguments...
  local label=$1; shift
  local out
  out=$(LC_ALL=C dd "$@" 2>&1 | tail -1)
  printf "%-36s %s\n" "$label" "$(sed -E 's/.* s, //' <<<"$out")"
}

stats() {
  python3 - "$1" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
out = []
for col in (0, 1):
    ok = sorted(float(r[col]) for r in rows if r[col] != "fail")
    out.append("%8.1f %8.1f %8.1f" % (statistics.median(ok), ok[0], ok[-1])
               if ok else "%8s %8s %8s" % ("fail", "-", "-"))
fails = sum(1 for r in rows if r[0] == "fail")
note = " ".join(r[2] for r in rows if len(r) > 2)[:60]
print("%s   %s %4d %s" % (out[0], out[1], fails, note))
PY
}

echo "disk throughput, MiB/s (guest-timed, $MIB MiB sequential, ${REQ_KIB} KiB requests, depth $DEPTH), $RUNS runs each"
echo "load average before the summary: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-26s %26s   %26s %4s\n" "" "write: median min max" "read: median min max" fail
for c in "${CONFIGS[@]}"; do
  case $c in
  qemu-*) label="qemu ${c#qemu-}" ;;
  *-mmio) label="telebox ${c%-mmio} (MMIO)" ;;
  *) label="telebox $c" ;;
  esac
  printf "%-26s %s\n" "$label" "$(stats "$WORK/$c.txt")"
done
echo "host dd on the raw image ($MIB MiB):"
sync
host_dd "read, O_DIRECT, 1 MiB" if="$WORK/raw-cache.img" of=/dev/null bs=1M count="$MIB" iflag=direct
cat "$WORK/raw-cache.img" > /dev/null
host_dd "read, warm page cache, 1 MiB" if="$WORK/raw-cache.img" of=/dev/null bs=1M count="$MIB"
host_dd "write, O_DIRECT, 1 MiB" if=/dev/zero of="$WORK/raw-cache.img" bs=1M count="$MIB" oflag=direct conv=notrunc
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
