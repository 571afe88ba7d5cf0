#!/usr/bin/env python3
"""End to end: teleport the probe guest (ticker + dirtier) between two
network namespaces with their own addresses, joined by a veth pair (made
and removed here; needs root and `ip netns`, else the test is skipped with
the reason). Each namespace is one telebox "host": its own home, host
service and loopback; both VMs use one disk image, which the guest's disk
writer (telebox.diskwriter) writes all along. The target listens on its
own address only (--teleporteraddress). Checks: the teleport succeeds, the
TK sequence continues on the target without a gap, the source ends, and
once the target wrote on and powered off the image holds every write
acknowledged on either side, none lost or applied twice
(teleport_e2e_lib.disk_writer_report).
Usage: teleport_e2e_netns.py <bin folder> <probe-guest.elf>. Exit 0 = pass,
77 = skipped."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from teleport_e2e_lib import (Host, SerialTail, Target,  # noqa
                              disk_writer_across, merged_ticks, seq_gaps,
                              wait_for)

SKIP = 77
NS = ("tb-tp-src", "tb-tp-dst")
ADDR = ("10.231.6.1", "10.231.6.2")
CMDLINE = "telebox.ticker=10 telebox.dirty=32:16 telebox.diskwriter=64:2:2:8"


def sh(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def make_namespaces():
    """None when set up, else why not."""
    if os.geteuid() != 0:
        return "not root (ip netns needs CAP_SYS_ADMIN)"
    if not shutil.which("ip"):
        return "no ip command (iproute2)"
    remove_namespaces()
    steps = [["ip", "netns", "add", NS[0]], ["ip", "netns", "add", NS[1]],
             ["ip", "link", "add", "tbtp0", "type", "veth", "peer", "name",
              "tbtp1"],
             ["ip", "link", "set", "tbtp0", "netns", NS[0]],
             ["ip", "link", "set", "tbtp1", "netns", NS[1]]]
    for i in (0, 1):
        dev = "tbtp%d" % i
        steps += [["ip", "-n", NS[i], "addr", "add", ADDR[i] + "/24", "dev",
                   dev],
                  ["ip", "-n", NS[i], "link", "set", dev, "up"],
                  ["ip", "-n", NS[i], "link", "set", "lo", "up"]]
    for s in steps:
        p = sh(*s)
        if p.returncode != 0:
            remove_namespaces()
            return "%s: %s" % (" ".join(s), p.stderr.strip())
    return None


def remove_namespaces():
    for ns in NS:
        sh("ip", "netns", "del", ns)  # Takes its end of the veth along.


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    bindir, guest = sys.argv[1], sys.argv[2]
    why = make_namespaces()
    if why:
        print("SKIP: two network namespaces are not possible here: " + why)
        return SKIP
    root = tempfile.mkdtemp(prefix="tb-teleport-ns-")
    failed = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            failed.append(what)
        return cond

    src = Host(root, "a", bindir, ["ip", "netns", "exec", NS[0]])
    dst = Host(root, "b", bindir, ["ip", "netns", "exec", NS[1]])
    tgt = None
    try:
        port = 6006
        disk = os.path.join(root, "shared.vdi")
        src.run("createmedium", "disk", "--filename", disk, "--size", "16")
        src.create_vm("t", guest, 128, CMDLINE)
        dst.create_vm("t", guest, 128, CMDLINE, "--teleporter", "on",
                      "--teleporterport", str(port), "--teleporteraddress",
                      ADDR[1], "--teleporterpassword", "pw")
        for h in (src, dst):
            h.run("storagectl", "t", "--name", "SATA", "--add", "sata")
            h.run("storageattach", "t", "--storagectl", "SATA", "--port",
                  "0", "--device", "0", "--type", "hdd", "--medium", disk)
        src.run("startvm", "t", "--type", "headless")
        s_tail = SerialTail(os.path.join(src.vm_folder("t"), "Logs",
                                         "serial.log"))
        d_tail = SerialTail(os.path.join(dst.vm_folder("t"), "Logs",
                                         "serial.log"))
        s_tail.start()
        d_tail.start()
        check(s_tail.wait_for("TELEBOX-WORKLOAD-STARTED", 60),
              "the source guest runs in " + NS[0])
        tgt = Target(dst, "t")
        check(tgt.wait_waiting(1), "the target waits on %s:%d in %s"
              % (ADDR[1], port, NS[1]))
        time.sleep(1)
        p = src.run("controlvm", "t", "teleport", "--host", ADDR[1], "--port",
                    str(port), "--password", "pw", check=False)
        check(p.returncode == 0, "teleport %s -> %s (%s%s)" % (
            ADDR[0], ADDR[1], p.stdout.strip(), p.stderr.strip()[-200:]))
        end = time.monotonic() + 30
        ended = ("teleported", "poweroff")  # service running / exited
        while time.monotonic() < end and src.vm_state("t") not in ended:
            time.sleep(0.2)
        check(src.vm_state("t") in ended, "the source ended")
        check(d_tail.still_ticking(2.0), "the guest ticks on in " + NS[1])
        ticks = merged_ticks(s_tail, d_tail)
        gaps = seq_gaps(ticks)
        check(len(d_tail.ticks()) > 0 and not gaps,
              "the TK sequence continues without a gap (breaks %s)"
              % gaps[:5])
        # The disk writes across the switch-over: the target writes on,
        # powers off (SIGTERM), then the image must hold every ack.
        wait_for(lambda: len(d_tail.ticks()) > 200, 30)
        tgt.stop()
        check(tgt.proc.returncode is not None, "the target powers off")
        time.sleep(0.2)
        problems, fig = disk_writer_across(s_tail, d_tail, disk, root)
        check(not problems, "disk writes across the teleport: every "
              "acknowledged write is in the image, none lost or applied "
              "twice (%s)" % (problems[:4] or "%d writes, source's last %d, "
                              "target's first %d" % (
                                  fig.get("highest", 0),
                                  fig.get("source_last", 0),
                                  fig.get("target_first", 0))))
    finally:
        if tgt:
            tgt.stop()
        src.run("controlvm", "t", "poweroff", check=False, timeout=60)
        time.sleep(0.5)
        src.stop_service()
        dst.stop_service()
        time.sleep(0.5)
        remove_namespaces()
        if failed:
            print("kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if failed:
        print("%d check(s) failed" % len(failed))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
