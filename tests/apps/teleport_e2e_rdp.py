#!/usr/bin/env python3
"""End to end: an RDP client of the teleport source follows the VM. Source
and target run on one host with their RDP servers on the same port of two
loopback addresses (TCP/Address 127.0.0.1 and 127.0.0.2; the Server
Redirection PDU carries no port, so the client dials the one it used);
xfreerdp (in a private Xvfb) logs on to the source, the VM teleports to
127.0.0.2, and the client must log on to the target's server by itself
and show the guest's console there.
Usage: teleport_e2e_rdp.py <bin folder> <probe-guest.elf>. Exit 0 = pass."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "display"))
from teleport_e2e_lib import (Host, SerialTail, Target,  # noqa: E402
                               free_port, wait_for)
from vm_rdp_e2e import bright_pixels, read_ppm  # noqa: E402
from x_session import start_xvfb, stop_process  # noqa: E402


def log_has(path, needle):
    try:
        return needle in open(path, errors="replace").read()
    except OSError:
        return False


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    bindir, guest = sys.argv[1], sys.argv[2]
    for tool in ("xfreerdp", "Xvfb", "import"):
        if not shutil.which(tool):
            print("SKIP: no " + tool)
            return 77
    root = tempfile.mkdtemp(prefix="tb-teleport-rdp-")
    failed = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            failed.append(what)
        return cond

    src, dst = Host(root, "a", bindir), Host(root, "b", bindir)
    rdp_port, tp_port = free_port(), free_port()
    xvfb = rdp = tgt = None
    try:
        for h, addr in ((src, "127.0.0.1"), (dst, "127.0.0.2")):
            extra = ["--vrde", "on", "--vrdeport", str(rdp_port),
                     "--vrdeproperty", "TCP/Address=" + addr]
            if h is dst:
                extra += ["--teleporter", "on", "--teleporterport",
                          str(tp_port), "--teleporteraddress", addr]
            h.create_vm("t", guest, 128, "telebox.ticker=100", *extra)
        src.run("startvm", "t", "--type", "headless")
        s_log = os.path.join(src.vm_folder("t"), "Logs", "VBox.log")
        d_log = os.path.join(dst.vm_folder("t"), "Logs", "VBox.log")
        d_tail = SerialTail(os.path.join(dst.vm_folder("t"), "Logs",
                                         "serial.log"))
        d_tail.start()
        tgt = Target(dst, "t")
        check(tgt.wait_waiting(1), "the target waits on 127.0.0.2")
        xvfb, _, env = start_xvfb("1280x1024x24")
        rdp = subprocess.Popen(
            ["xfreerdp", "/v:127.0.0.1:%d" % rdp_port, "/sec:rdp", "/u:x",
             "/p:x", "/cert:ignore", "/bpp:16", "/size:1024x768"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        check(wait_for(lambda: log_has(s_log, "AUTH: User: [x]"), 40),
              "xfreerdp logged on to the source's RDP server")
        shot = os.path.join(root, "shot.ppm")

        def screen_has_text():
            if subprocess.run(["import", "-window", "root", "-depth", "8",
                               shot], env=env,
                              capture_output=True).returncode != 0:
                return False
            w, h, rgb = read_ppm(shot)
            return bright_pixels(w, h, rgb, 0, 0, 1024, 160) > 300

        # Only a session that is up (showing the screen) can be redirected.
        check(wait_for(screen_has_text, 40),
              "the client shows the guest's console from the source")
        p = src.run("controlvm", "t", "teleport", "--host", "127.0.0.2",
                    "--port", str(tp_port), check=False)
        check(p.returncode == 0, "teleport to 127.0.0.2 (%s%s)"
              % (p.stdout.strip(), p.stderr.strip()[-160:]))
        check(log_has(s_log, "RDP client(s) redirected to 127.0.0.2"),
              "the source redirected its client: "
              + "; ".join(re.findall(r"Teleport: \d+ RDP client.*",
                                     open(s_log).read())))
        check(wait_for(lambda: log_has(d_log, "AUTH: User: [x]"), 40),
              "the client logged on to the target's RDP server by itself")
        check(rdp.poll() is None, "xfreerdp still runs")
        check(wait_for(screen_has_text, 40),
              "the client shows the guest's console from the target")
        check(d_tail.still_ticking(3.0), "the guest runs on the target")
    finally:
        if rdp and rdp.poll() is None:
            stop_process(rdp)
        if tgt:
            tgt.stop()
        src.run("controlvm", "t", "poweroff", check=False, timeout=60)
        if xvfb:
            stop_process(xvfb)
        time.sleep(0.5)
        src.stop_service()
        dst.stop_service()
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
