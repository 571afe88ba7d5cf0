#!/bin/bash
# PIO/MMIO exit round trip: telebox's vCPU executor + device bus vs the raw
# KVM floor, in one run (exit costs roughly double when the other core is
# busy, so only figures from the same run compare).
#   anchor  : anchors/kvm-exit.c (bare KVM_RUN loop in C), if found
#   engine  : telebox's engine, KVM_RUN in a bare loop (bench/vmm_exit.cpp)
#   telebox : the executor thread, mailbox check, bus lookup and device
# Usage: bench/kvm_exit.sh [BUILD_DIR]   (EXITS, REPS override the counts)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
EXITS=${EXITS:-50000}
REPS=${REPS:-10}
ANCHOR_SRC=${ANCHOR_SRC:-$HERE/../../shared/anchors/kvm-exit.c}
BIN=$BUILD/bin/vmm_exit
[ -x "$BIN" ] || { echo "build vmm_exit first (cmake --build $BUILD --target vmm_exit)" >&2; exit 1; }
out=$(mktemp); trap 'rm -f "$out" "$out.anchor"' EXIT
if [ -f "$ANCHOR_SRC" ]; then
  gcc -O2 -o "$out.anchor" "$ANCHOR_SRC"
  for m in pio mmio; do
    "$out.anchor" $m "$EXITS" "$REPS" | tail -1 | sed "s/^$m /anchor-$m /" >> "$out"
  done
fi
"$BIN" "$EXITS" "$REPS" >> "$out"
med() { awk -v k="$1" '$1 == k { for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) }' "$out"; }
row() { awk -v k="$1" '$1 == k { for (i = 1; i <= NF; i++) { if ($i == "min") mn = $(i + 1); if ($i == "median") md = $(i + 1); if ($i == "max") mx = $(i + 1) } printf "%s / %s / %s", mn, md, mx }' "$out"; }
printf "%-6s | %-26s | %-26s | %-26s | %s\n" exit "anchor us (min/med/max)" "engine us" "telebox us" "telebox/floor"
for m in pio mmio; do
  floor=$(med anchor-$m); [ -n "$floor" ] || floor=$(med engine-$m)
  tb=$(med telebox-$m)
  ratio=$(awk -v a="$tb" -v b="$floor" 'BEGIN { printf "%.3f", a / b }')
  printf "%-6s | %-26s | %-26s | %-26s | %sx\n" $m "$(row anchor-$m)" "$(row engine-$m)" "$(row telebox-$m)" "$ratio"
done
