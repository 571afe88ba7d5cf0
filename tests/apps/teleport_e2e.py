#!/usr/bin/env python3
"""End to end: teleport the probe guest between two telebox "hosts" on
localhost (two VBOX_USER_HOME folders, each with its host service), with
the ticker and the dirtier running.

Checks, in order (the source keeps running through all but the last):
  1. a wrong password is refused, the source runs on, the target waits
     again;
  2. a target with other memory is refused with a message naming memory;
  3. TB_TELEPORT_CUTS (default 20) teleports cut at a random byte of the
     stream (below CUT_RANGE), alternately by closing the connection and
     by kill -9 of the target: every one fails, and the source still runs
     every time;
     and one whose target freezes (SIGSTOP) mid-stream: the source gives up
     once a send or receive blocks for its stall timeout (15 s each; a
     send that still moves a little waits again) and runs on;
  4. a teleport that succeeds: the target's serial log continues the TK
     sequence without a gap, the source ends ("poweroff" on its host
     service), the target runs on and holds the lock of the shared disk
     (both VMs use one image; the guest wrote and read it back at boot);
  5. disk writes in flight across it (the guest's disk writer runs all
     along, telebox.diskwriter): once the target wrote on, it is powered
     off and the image read back: no DISKW-FAIL, every write acknowledged
     on either side exactly once and none lost, the target's first ack
     follows the source's last, flushes completed on both sides, and
     every ring slot holds an intact record of its highest acknowledged
     write or a later one (teleport_e2e_lib.disk_writer_report).
Usage: teleport_e2e.py <bin folder> <probe-guest.elf>. Exit 0 = pass."""
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from teleport_e2e_lib import (CutRelay, Host, SerialTail, Target,  # noqa
                              disk_writer_across, free_port, merged_ticks,
                              seq_gaps, wait_for)

FAILED = []
MEMORY = 128
DIRTY_MIB = 64
# Cuts fall in the first CUT_RANGE bytes from the source. The dirtier's
# pages are one word each, which the source compresses (zstd) to almost
# nothing: the whole stream is ~130 KiB, TLS handshake included. The
# successful teleport goes through a counting relay and checks that its
# stream was longer than this, so every cut did fall inside a stream.
CUT_RANGE = 96 << 10
# The disk writer: a ring of 64 sectors, 2 writes per 10 ms tick, 2
# requests in flight at most, a flush after every 8 writes.
CMDLINE = ("telebox.disk=1 telebox.ticker=10 telebox.dirty=%d:16 "
           "telebox.diskwriter=64:2:2:8" % DIRTY_MIB)
PASSWORD = "s3cret pass"


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILED.append(what)
    return cond


def fatal(msg):
    print("FAIL: " + msg, flush=True)
    raise SystemExit(1)


def disk_locked(path):
    """True when another process holds the image's lock (flock)."""
    import fcntl
    with open(path, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def teleport(src, port, password=PASSWORD, extra=()):
    return src.run("controlvm", "t", "teleport", "--host", "localhost",
                   "--port", str(port), "--password", password, *extra,
                   check=False, timeout=120)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    bindir, guest = sys.argv[1], sys.argv[2]
    cuts = int(os.environ.get("TB_TELEPORT_CUTS", "20"))
    root = tempfile.mkdtemp(prefix="tb-teleport-")
    src, dst = Host(root, "a", bindir), Host(root, "b", bindir)
    port, bad_port = free_port(), free_port()
    targets = []
    src_started = False
    try:
        disk = os.path.join(root, "shared.vdi")
        src.run("createmedium", "disk", "--filename", disk, "--size", "16")
        src.create_vm("t", guest, MEMORY, CMDLINE)
        dst.create_vm("t", guest, MEMORY, CMDLINE, "--teleporter", "on",
                      "--teleporterport", str(port), "--teleporterpassword",
                      PASSWORD)
        for h in (src, dst):
            h.run("storagectl", "t", "--name", "SATA", "--add", "sata")
            h.run("storageattach", "t", "--storagectl", "SATA", "--port",
                  "0", "--device", "0", "--type", "hdd", "--medium", disk)
        dst.create_vm("m", guest, MEMORY + 32, CMDLINE, "--teleporter", "on",
                      "--teleporterport", str(bad_port),
                      "--teleporterpassword", PASSWORD)
        src.run("startvm", "t", "--type", "headless")
        src_started = True
        s_tail = SerialTail(os.path.join(src.vm_folder("t"), "Logs",
                                         "serial.log"))
        s_tail.start()
        if not s_tail.wait_for("TELEBOX-WORKLOAD-STARTED", 60):
            fatal("the source guest did not start its workload")
        check(s_tail.wait_for("DISK-OK", 1), "the source guest's disk works")
        check(s_tail.wait_for("DISKW-ACK ", 10),
              "the source guest's disk writer runs")
        d_tail = SerialTail(os.path.join(dst.vm_folder("t"), "Logs",
                                         "serial.log"))
        d_tail.start()
        tgt = Target(dst, "t")
        targets.append(tgt)
        if not tgt.wait_waiting(1):
            fatal("the target does not wait for a teleport:\n"
                  + "\n".join(tgt.out))

        # 1. Wrong password.
        p = teleport(src, port, password="wrong")
        check(p.returncode != 0 and "password" in p.stderr,
              "a wrong password is refused (%r)" % p.stderr.strip()[-120:])
        check(s_tail.still_ticking(), "the source runs on after it")
        check(tgt.wait_waiting(2, 30), "the target waits again")

        # 2. Mismatched memory.
        other = Target(dst, "m")
        targets.append(other)
        if other.wait_waiting(1):
            p = teleport(src, bad_port)
            check(p.returncode != 0 and "memory" in p.stderr,
                  "other memory is refused, naming memory (%r)"
                  % p.stderr.strip()[-160:])
            check(s_tail.still_ticking(), "the source runs on after it")
        else:
            check(False, "the mismatched target waits:\n"
                  + "\n".join(other.out))
        other.stop()

        # 3. Cuts at random points of the RAM stream.
        rng = random.Random(int(os.environ.get("TB_TELEPORT_SEED", "6")))
        survived = 0
        for i in range(cuts):
            kill = i % 2 == 1
            at = rng.randrange(0, CUT_RANGE)
            relay = CutRelay(port, at, tgt.kill if kill else None)
            waits = tgt.waits()
            p = teleport(src, relay.listen_port)
            alive = s_tail.still_ticking()
            ok = p.returncode != 0 and alive and src.vm_state("t") == "running"
            survived += ok
            how = "kill -9 of the target" if kill else "a closed connection"
            check(ok, "cut %d at byte %d by %s: teleport fails (%s), the "
                  "source runs on" % (i + 1, at, how,
                                      p.stderr.strip().splitlines()[-1:]))
            if kill or tgt.proc.poll() is not None:
                tgt.kill()
                tgt = Target(dst, "t")
                targets.append(tgt)
                if not tgt.wait_waiting(1):
                    fatal("the restarted target does not wait")
            elif not tgt.wait_waiting(waits + 1, 30):
                fatal("the target stopped waiting after a cut")
        print("cuts: %d of %d left the source running" % (survived, cuts))

        # A target that stops answering: the source's stall timeout.
        frozen = tgt
        relay = CutRelay(port, CUT_RANGE // 2,
                         lambda: os.killpg(frozen.proc.pid, signal.SIGSTOP),
                         end=False)
        t0 = time.monotonic()
        p = teleport(src, relay.listen_port)
        took = time.monotonic() - t0
        check(p.returncode != 0 and s_tail.still_ticking()
              and src.vm_state("t") == "running",
              "a frozen target fails the teleport after %.1f s (%s), the "
              "source runs on" % (took, p.stderr.strip().splitlines()[-1:]))
        os.killpg(frozen.proc.pid, signal.SIGCONT)
        tgt.kill()
        tgt = Target(dst, "t")
        targets.append(tgt)
        if not tgt.wait_waiting(1):
            fatal("the restarted target does not wait")

        # 4. The teleport that succeeds.
        before = len(s_tail.ticks())
        counter = CutRelay(port, 1 << 62)  # Never cuts: counts the stream.
        p = teleport(src, counter.listen_port)
        if not check(p.returncode == 0, "the teleport succeeds (%s%s)"
                     % (p.stdout.strip(), p.stderr.strip())):
            raise SystemExit(1)
        check(counter.forwarded > CUT_RANGE,
              "its stream (%d bytes) is longer than every cut point (%d)"
              % (counter.forwarded, CUT_RANGE))
        print("  " + p.stdout.strip())
        check("100%" in p.stderr, "VBoxManage's progress line on stderr")
        # "teleported" while its host service runs; "poweroff" once the
        # service has exited (the state is not kept in the settings).
        ended = ("teleported", "poweroff")
        end = time.monotonic() + 30
        while time.monotonic() < end and src.vm_state("t") not in ended:
            time.sleep(0.2)
        check(src.vm_state("t") in ended,
              "the source VM process ended (state %s)" % src.vm_state("t"))
        check(d_tail.still_ticking(2.0), "the target's guest ticks on")
        check(tgt.proc.poll() is None, "the target process runs")
        check(disk_locked(disk), "the target holds the shared disk's lock")
        # The dirtier checks every page's counter at its next visit; one
        # full cycle (DIRTY_MIB at 16 MiB/s, counted in ticks: a loaded
        # guest ticks late) after the switch-over every page the teleport
        # carried has been checked on the target.
        per_tick = [int(m.group(1)) for _, l in s_tail.snapshot()[0]
                    for m in [re.search(r"^DIRTIER-RUNNING .* "
                                        r"pages_per_tick=(\d+)", l)] if m]
        cycle = DIRTY_MIB * 256 // max(per_tick[:1] or [1]) + 10
        check(wait_for(lambda: len(d_tail.ticks()) > cycle, 120),
              "the target ticked a full dirtier cycle (%d ticks)" % cycle)
        bad = [t for _, t in s_tail.lines + d_tail.lines if "DIRTY-BAD" in t]
        check(not bad and d_tail.still_ticking(2.0),
              "guest memory intact: the dirtier's page check passed on the "
              "target for a full cycle (%s)" % (bad[:1] or "no DIRTY-BAD"))
        ticks = merged_ticks(s_tail, d_tail)
        gaps = seq_gaps([t for t in ticks if t[1] >= 0])
        check(before > 0 and not gaps and len(d_tail.ticks()) > 0,
              "the TK sequence continues on the target without a gap "
              "(%d lines, breaks %s)" % (len(ticks), gaps[:5]))
        worst = sorted(((b[0] - a[0], a[1]) for a, b in zip(ticks, ticks[1:])),
                       reverse=True)[:3]
        first_dst = d_tail.ticks()[:1]
        print("  largest gaps between ticker lines: %s (first on the target: "
              "TK %s)" % (", ".join("%.1f ms after TK %d" % (g * 1000, q)
                                    for g, q in worst), first_dst))

        # 5. The disk writes across the switch-over, read back from the
        # image once the target powered off.
        # (The target's host service does not know the VM its
        # telebox-headless runs: SIGTERM powers it off.)
        tgt.stop()
        check(tgt.proc.returncode is not None, "the target powers off")
        check(not disk_locked(disk), "the target let go of the disk's lock")
        time.sleep(0.2)  # the tails' last lines
        problems, fig = disk_writer_across(s_tail, d_tail, disk, root)
        check(not problems, "disk writes across the teleport: every "
              "acknowledged write is in the image, none lost or applied "
              "twice (%s)" % (problems[:4] or "%d writes"
                              % fig.get("highest", 0)))
        print("  disk writer: %s" % ", ".join("%s=%s" % kv
                                              for kv in sorted(fig.items())))
    finally:
        for t in targets:
            t.stop()
        if src_started:
            src.run("controlvm", "t", "poweroff", check=False, timeout=60)
        time.sleep(0.5)
        src.stop_service()
        dst.stop_service()
        if FAILED or os.environ.get("TB_KEEP"):
            print("kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if FAILED:
        print("%d check(s) failed" % len(FAILED))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
