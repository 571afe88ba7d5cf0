"""The probe guest's disk writer (telebox.diskwriter, diskw.c) as a test
sees it: its serial lines and the records it leaves on the disk.

Write n goes to sector base + n % sectors; the sector holds
"TBW <n, 10 digits> <n % sectors, 7 digits> <sum, 8 hex>\\n" in bytes
0..31 and (n * 31 + i) & 0xff in byte i = 32..511, sum being FNV-1a over
bytes 0..21 ("TBW <n> <slot>", no trailing space) and then 32..511.
Used by tests/guest/qemu-boot-test.py and the teleport e2e tests
(tests/apps)."""
import re

SECTOR = 512
RUNNING = re.compile(r"DISKW-RUNNING sectors=(\d+) base=(\d+) per_tick=(\d+) "
                     r"depth=(\d+) flush_every=(\d+)$")
ACK = re.compile(r"DISKW-ACK (\d+)(?:-(\d+))? (\d+)$")
FLUSHED = re.compile(r"DISKW-FLUSHED (\d+)$")


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def record(seq, ring_slot):
    """The 512 bytes the guest writes for write `seq`."""
    head = b"TBW %010d %07d " % (seq, ring_slot)
    body = bytes((seq * 31 + i) & 0xff for i in range(32, SECTOR))
    total = fnv(fnv(2166136261, head[:22]), body)
    return head + b"%08x\n" % total + body


def setup(lines):
    """(sectors, base, per_tick, depth, flush_every) of the first
    DISKW-RUNNING line, or None."""
    for l in lines:
        m = RUNNING.match(l)
        if m:
            return tuple(int(g) for g in m.groups())
    return None


def acks(lines):
    """[(seq, in flight after its line)] of every write a DISKW-ACK line
    names ("DISKW-ACK 7-9 1": 7, 8 and 9), in order."""
    out = []
    for l in lines:
        m = ACK.match(l)
        if m:
            first = int(m.group(1))
            last = int(m.group(2)) if m.group(2) else first
            out += [(s, int(m.group(3))) for s in range(first, last + 1)]
    return out


def flushed(lines):
    return [int(m.group(1)) for l in lines for m in [FLUSHED.match(l)] if m]


def failures(lines):
    return [l for l in lines if l.startswith("DISKW-FAIL")]


def ack_problems(seqs, depth):
    """What is wrong with the acknowledged sequence numbers `seqs` (all
    acks of one guest, in order): a number acked twice, or one missing
    that cannot still be in flight (more than `depth` below the highest)."""
    out = []
    seen = set()
    for s in seqs:
        if s in seen:
            out.append("write %d acknowledged twice" % s)
        seen.add(s)
    top = max(seqs, default=0)
    missing = [s for s in range(1, top - depth + 1) if s not in seen]
    if missing:
        out.append("writes never acknowledged (lost): %s%s"
                   % (missing[:10], " ..." if len(missing) > 10 else ""))
    return out


def image_problems(image, sectors, base, acked, depth):
    """Checks the ring in `image` (bytes of the raw disk) against the
    acknowledged writes: each ring slot must hold an intact record of the
    highest write acknowledged for it or of a later one (at most `depth`
    past the highest acknowledged: in flight at the end). A slot no write
    was acknowledged for may be empty. Returns (problems, slots checked)."""
    out = []
    top = max(acked, default=0)
    want = {}
    for s in acked:
        k = s % sectors
        want[k] = max(want.get(k, 0), s)
    checked = 0
    for k in range(sectors):
        at = (base + k) * SECTOR
        got = image[at:at + SECTOR]
        if len(got) < SECTOR:
            out.append("ring slot %d: beyond the image" % k)
            continue
        if got == bytes(SECTOR):
            if k in want:
                out.append("ring slot %d: empty, write %d was acknowledged"
                           % (k, want[k]))
            continue
        m = re.match(rb"TBW (\d{10}) (\d{7}) ", got)
        seq = int(m.group(1)) if m else -1
        if not m or got != record(seq, k):
            out.append("ring slot %d: not an intact record (torn or "
                       "garbled): %r" % (k, got[:32]))
            continue
        checked += 1
        if seq % sectors != k:
            out.append("ring slot %d holds write %d of slot %d"
                       % (k, seq, seq % sectors))
        elif seq < want.get(k, 0):
            out.append("ring slot %d holds write %d, write %d was "
                       "acknowledged (lost)" % (k, seq, want[k]))
        elif seq > top + depth:
            out.append("ring slot %d holds write %d, never submitted "
                       "(highest acknowledged %d)" % (k, seq, top))
    return out, checked
