#!/bin/bash
# The RDP server's remote-display figures (issue 5 benchmark), all on
# loopback with bench/rdp_bench (the real rdp_server over a 1024x768 frame
# buffer that a "guest" thread redraws completely 60 times a second):
#  1. in-process clients that replay a recorded RDP connection (Standard
#     Security without encryption, 16 bpp, fast-path) and then only read and
#     parse the PDUs: 1, 16, and 16 next to a client that never reads;
#     latency from the frame-buffer write to the first byte and to the
#     frame's last bitmap rectangle at the client socket, complete frames
#     per second per client, bytes per frame, the server loop thread's CPU;
#     1 and 16 again with the former 15 ms flush period (default 5).
#  2. a real xfreerdp (16 bpp) in an Xvfb of the same size, alone and next
#     to 15 in-process clients: latency from the write to the client's
#     pixel (read back from the X server) and the frames it shows.
# Usage: bench/rdp.sh [build-dir]   (SECONDS_PER_RUN=n, default 5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
B=$(cd "$BUILD" && pwd)/bin/rdp_bench
T=$ROOT/fuzz/corpus/rdp_fuzz/session_plain_fastpath.bin
S=${SECONDS_PER_RUN:-5}
[ -x "$B" ] || { echo "build rdp_bench first: cmake --build $BUILD --target rdp_bench" >&2; exit 1; }

run() {
  echo "== $* (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  "$B" "$T" --seconds "$S" "$@" 2> >(grep -v -e '^\[' -e '^$' >&2 || true)
  echo
}

run --clients 1 --probes 30
run --clients 16 --probes 30
run --clients 16 --stalled 1 --probes 20
# The server's flush period (5 ms) bounds the wait before encoding starts.
run --clients 1 --probes 30 --flush-ms 15
run --clients 16 --probes 30 --flush-ms 15

# A private X server; its display number comes from Xvfb itself.
exec 3< <(Xvfb -displayfd 1 -screen 0 1024x768x24 -nolisten tcp 2>/dev/null)
XPID=$!
trap 'kill $XPID 2>/dev/null || true' EXIT
read -r -t 10 DNUM <&3
run --clients 0 --probes 20 --xfreerdp ":$DNUM"
run --clients 15 --probes 20 --xfreerdp ":$DNUM"
