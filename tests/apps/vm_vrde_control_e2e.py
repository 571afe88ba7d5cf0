#!/usr/bin/env python3
"""End to end: `controlvm <vm> vrde on|off`, `vrdeport` and `vrdeproperty`
change a running VM's RDP server. Boots the probe guest through the host
service with VRDE on, then after every change checks what a client sees
(connection refused, or xfreerdp logging on) and what showvminfo reports.

Usage: vm_vrde_control_e2e.py <bin folder> <probe-guest.elf>. Exit 0 = pass.
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "display"))
from x_session import start_xvfb, stop_process  # noqa: E402

FAILED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILED.append(what)


def fatal(msg):
    print("FAIL: " + msg, flush=True)
    raise SystemExit(1)


def listening(port, host="127.0.0.1"):
    """True when a TCP connect to host:port succeeds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(3)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(preferred):
    """preferred when nothing listens there, else a free port near it."""
    for p in [preferred] + list(range(preferred + 1, preferred + 200)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("0.0.0.0", p))
                return p
            except OSError:
                continue
    fatal("no free port near %d" % preferred)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    bindir, guest = sys.argv[1], sys.argv[2]
    home = tempfile.mkdtemp(prefix="tb-vrdectl-")
    env = dict(os.environ, VBOX_USER_HOME=home, HOME=home,
               TELEBOX_IDLE_EXIT_MS="1000")
    tb = os.path.join(bindir, "telebox")
    x = None

    def run(*args, check_rc=True, timeout=60):
        p = subprocess.run([tb, *args], env=env, capture_output=True,
                           text=True, timeout=timeout)
        if check_rc and p.returncode != 0:
            fatal("telebox %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p

    def info():
        return run("showvminfo", "v", "--machinereadable").stdout

    def mr_value(key):
        m = re.search(r'^%s=(.*)$' % re.escape(key), info(), re.M)
        return m.group(1) if m else None

    def vrdeport():
        v = mr_value("vrdeport")
        return int(v) if v is not None else None

    def logon(port, sec="rdp", host="127.0.0.1"):
        """xfreerdp's exit code for a logon that leaves at once."""
        r = subprocess.run(
            ["xfreerdp", "/v:" + host, "/port:%d" % port, "/sec:" + sec,
             "/u:x", "/p:x", "/cert:ignore", "/auth-only", "/log-level:WARN"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60, env=x[2])
        return r.returncode

    started = False
    try:
        x = start_xvfb("1024x768x24")
        first = free_port(5100)
        run("createvm", "--name", "v", "--ostype", "Other_64", "--register")
        run("modifyvm", "v", "--memory", "128", "--longmode", "on",
            "--vrde", "on", "--vrdeport", str(first), "--kernel", guest)
        run("startvm", "v", "--type", "headless", timeout=120)
        started = True

        port = vrdeport()
        check(port == first, "showvminfo vrdeport=%s after start" % port)
        check(logon(first) == 0, "xfreerdp logs on at start")

        # vrde off: the port closes, showvminfo says off.
        p = run("controlvm", "v", "vrde", "off")
        check(p.stdout == "" and p.stderr == "", "vrde off prints nothing")
        check(not listening(first), "vrde off: connection refused")
        check(mr_value("vrde") == '"off"', "vrde off: showvminfo vrde=off")
        check(vrdeport() is None, "vrde off: no vrdeport key")

        # vrde on again: same port, a client logs on.
        run("controlvm", "v", "vrde", "on")
        check(mr_value("vrde") == '"on"', "vrde on: showvminfo vrde=on")
        check(vrdeport() == first, "vrde on: vrdeport=%d" % first)
        check(logon(first) == 0, "vrde on: xfreerdp logs on")
        run("controlvm", "v", "vrde", "on")
        check(listening(first), "vrde on twice: still listening")

        # vrdeport: moves the listener; the old port closes.
        moved = free_port(5123)
        run("controlvm", "v", "vrdeport", str(moved))
        check(listening(moved), "vrdeport %d: listening" % moved)
        check(not listening(first), "vrdeport %d: old port closed" % moved)
        check(vrdeport() == moved, "vrdeport: showvminfo vrdeport=%d" % moved)
        check(logon(moved) == 0, "vrdeport: xfreerdp logs on at the new port")
        # Kept in the settings, as VirtualBox does (the host service saves it).
        vbox = glob.glob(os.path.join(home, "**", "v.vbox"), recursive=True)
        saved = open(vbox[0]).read() if vbox else ""
        check('name="TCP/Ports" value="%d"' % moved in saved,
              "vrdeport %d saved in v.vbox" % moved)

        # A range binds its first free port.
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lo = free_port(5160)
        blocker.bind(("0.0.0.0", lo))
        blocker.listen(1)
        run("controlvm", "v", "vrdeport", "%d-%d" % (lo, lo + 5))
        got = vrdeport()
        check(got is not None and lo < got <= lo + 5,
              "vrdeport range %d-%d: bound %s (first one busy)"
              % (lo, lo + 5, got))
        blocker.close()
        run("controlvm", "v", "vrdeport", str(moved))

        # Bad input is refused and nothing changes.
        p = run("controlvm", "v", "vrde", "maybe", check_rc=False)
        check(p.returncode == 1 and "Invalid remote desktop server state "
              "'maybe'" in p.stderr, "vrde maybe refused: " + p.stderr.strip())
        p = run("controlvm", "v", "vrdeport", "99999", check_rc=False)
        check(p.returncode == 1 and "TCP/Ports" in p.stderr,
              "vrdeport 99999 refused: " + p.stderr.strip())
        p = run("controlvm", "v", "vrdeproperty", "TCP/Address", check_rc=False)
        check(p.returncode == 1 and "Invalid vrdeproperty argument" in p.stderr,
              "vrdeproperty without '=' refused: " + p.stderr.strip())
        p = run("controlvm", "v", "vrdeproperty", "Security/Method=Magic",
                check_rc=False)
        check(p.returncode == 1 and "Magic" in p.stderr,
              "Security/Method=Magic refused: " + p.stderr.strip())
        p = run("controlvm", "v", "vrde", check_rc=False)
        check(p.returncode == 1 and "Missing argument to 'vrde'" in p.stderr,
              "vrde without argument refused")
        check(listening(moved) and vrdeport() == moved,
              "after refused changes: still on %d" % moved)

        # A busy port: refused, the server stays where it was.
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bport = free_port(5190)
        busy.bind(("0.0.0.0", bport))
        busy.listen(1)
        p = run("controlvm", "v", "vrdeport", str(bport), check_rc=False)
        check(p.returncode == 1 and "previous settings" in p.stderr,
              "busy vrdeport refused: " + p.stderr.strip())
        check(listening(moved) and vrdeport() == moved,
              "busy vrdeport: still on %d" % moved)
        busy.close()

        # TCP/Address: only that address listens.
        v6 = has_ipv6_loopback()
        if v6:
            check(listening(moved, "::1"), "all addresses: ::1 listens")
        run("controlvm", "v", "vrdeproperty", "TCP/Address=127.0.0.1")
        check(listening(moved, "127.0.0.1"), "TCP/Address=127.0.0.1 listens")
        if v6:
            check(not listening(moved, "::1"),
                  "TCP/Address=127.0.0.1: ::1 refused")
        check(mr_value("vrdeaddress") is not None, "showvminfo vrdeaddress")
        check(logon(moved) == 0, "TCP/Address: xfreerdp logs on")

        # Security/Method=TLS: Standard RDP Security is refused.
        run("controlvm", "v", "vrdeproperty", "Security/Method=TLS")
        check(logon(moved, "tls") == 0, "Security/Method=TLS: /sec:tls logs on")
        check(logon(moved, "rdp") != 0, "Security/Method=TLS: /sec:rdp refused")
        # An empty value removes the property (Negotiate again).
        run("controlvm", "v", "vrdeproperty", "Security/Method=")
        check(logon(moved, "rdp") == 0, "Security/Method removed: /sec:rdp")

        # Off with a changed port, then on: listens at the new port.
        run("controlvm", "v", "vrde", "off")
        run("controlvm", "v", "vrdeport", str(first))
        check(not listening(first), "vrdeport while off: nothing listens")
        run("controlvm", "v", "vrde", "on")
        check(listening(first) and vrdeport() == first,
              "vrde on after vrdeport while off: %d" % first)

        cfg = re.search(r'^CfgFile="(.*)"$', info(), re.M).group(1)
        log = open(os.path.join(os.path.dirname(cfg), "Logs", "VBox.log"),
                   errors="replace").read()
        check("VRDE: controlvm vrdeport" in log, "VBox.log records the change")
    finally:
        if started:
            run("controlvm", "v", "poweroff", check_rc=False, timeout=60)
        try:
            ep = open(os.path.join(home, "teleboxd.endpoint")).read().split()
            os.kill(int(ep[3]), signal.SIGTERM)
        except (OSError, IndexError, ValueError):
            pass
        if x:
            stop_process(x[0])
        shutil.rmtree(home, ignore_errors=True)
    if FAILED:
        print("FAILED: %d check(s)" % len(FAILED))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
