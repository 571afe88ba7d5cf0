#!/usr/bin/env python3
"""End to end through the host services, as a user drives it: on two
telebox homes, `startvm --type headless` of the target (teleporter on)
returns at once with the VM waiting (VMState teleportingin), the source
starts the same way, `controlvm teleport` moves it, and afterwards the
source shows VirtualBox's state "teleported" while the target runs on with
the ticker's sequence unbroken.
Usage: teleport_daemon_e2e.py <bin folder> <probe-guest.elf>. 0 = pass."""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from teleport_e2e_lib import TK, Host, free_port, wait_for  # noqa: E402


def ticks(path):
    try:
        return [int(m.group(1)) for m in TK.finditer(open(path).read())]
    except OSError:
        return []


def joined_ticks(src_log, dst_log):
    """TK numbers of the source's complete lines, then of the target's; a
    line the switch-over split (its start still left the source's UART,
    the rest the target's) is joined and counts as the target's first."""
    try:
        done, _, part = open(src_log).read().rpartition("\n")
        rest = open(dst_log).read()
    except OSError:
        return [], []
    return ([int(m.group(1)) for m in TK.finditer(done)],
            [int(m.group(1)) for m in TK.finditer(part + rest)])


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    bindir, guest = sys.argv[1], sys.argv[2]
    root = tempfile.mkdtemp(prefix="tb-teleport-daemon-")
    failed = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            failed.append(what)

    src, dst = Host(root, "src", bindir), Host(root, "dst", bindir)
    for h in (src, dst):
        h.env["TELEBOX_IDLE_EXIT_MS"] = "30000"
    try:
        port = free_port()
        for h in (src, dst):
            h.create_vm("v", guest, 128, "telebox.ticker=10")
        dst.run("modifyvm", "v", "--teleporter", "on", "--teleporterport",
                str(port), "--teleporterpassword", "s3cret")
        t0 = time.monotonic()
        p = dst.run("startvm", "v", "--type", "headless")
        check("successfully started" in p.stdout
              and time.monotonic() - t0 < 30,
              "startvm of the target returns while it waits")
        check(dst.vm_state("v") == "teleportingin",
              "target state teleportingin: %s" % dst.vm_state("v"))
        src.run("startvm", "v", "--type", "headless")
        src_log = os.path.join(src.vm_folder("v"), "Logs", "serial.log")
        dst_log = os.path.join(dst.vm_folder("v"), "Logs", "serial.log")
        check(wait_for(lambda: len(ticks(src_log)) >= 20, 60),
              "source ticks")
        p = src.run("controlvm", "v", "teleport", "--host", "localhost",
                    "--port", str(port), "--password", "s3cret",
                    check=False)
        check(p.returncode == 0 and "100%" in p.stderr,
              "controlvm teleport: rc %d %s" % (p.returncode,
                                                 p.stderr.strip()[-200:]))
        check(wait_for(lambda: src.vm_state("v") == "teleported", 30),
              "source state teleported: %s" % src.vm_state("v"))
        check(dst.vm_state("v") == "running",
              "target state running: %s" % dst.vm_state("v"))
        check(wait_for(lambda: len(ticks(dst_log)) >= 20, 30),
              "target ticks on")
        before, after = joined_ticks(src_log, dst_log)
        check(bool(before) and bool(after) and after[0] <= before[-1] + 1
              and after == list(range(after[0], after[0] + len(after))),
              "TK sequence continues: source ended at %s, target %s..%s"
              % (before[-1] if before else None,
                 after[0] if after else None,
                 after[-1] if after else None))
        dst.run("controlvm", "v", "poweroff")
        check(wait_for(lambda: dst.vm_state("v") == "poweroff", 30),
              "target powers off")
    except Exception as e:  # noqa: BLE001 - report and fail
        check(False, "exception: %s" % e)
    finally:
        for h in (src, dst):
            h.run("controlvm", "v", "poweroff", check=False)
            h.stop_service()
        shutil.rmtree(root, ignore_errors=True)
    print("FAILED: %d check(s)" % len(failed) if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
