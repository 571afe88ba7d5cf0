#!/usr/bin/env python3
"""End to end: a VM's screen over RDP. Boots the probe guest with VRDE on,
checks showvminfo's vrdeport, connects xfreerdp (Standard RDP Security) in
an Xvfb, asserts the guest's console text is on the client's screen, types
a key through the client and finds the guest's echo on COM1.

Usage: vm_rdp_e2e.py <bin folder> <probe-guest.elf>. Exit 0 = pass."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def wait_for(what, pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.25)
    fail("timed out waiting for " + what)


def read_ppm(path):
    """(width, height, rgb bytes) of a binary PPM (P6, maxval 255)."""
    data = open(path, "rb").read()
    m = re.match(rb"P6\s+(?:#[^\n]*\s+)*(\d+)\s+(\d+)\s+(\d+)\s", data)
    if not m or int(m.group(3)) != 255:
        fail("screenshot is not an 8-bit PPM")
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():m.end() + w * h * 3]


def bright_pixels(w, h, rgb, x0, y0, x1, y1):
    n = 0
    for y in range(y0, min(y1, h)):
        row = rgb[(y * w + x0) * 3:(y * w + min(x1, w)) * 3]
        for i in range(0, len(row) - 2, 3):
            if row[i] > 0x80 and row[i + 1] > 0x80 and row[i + 2] > 0x80:
                n += 1
    return n


def inner(bindir, guest):
    home = tempfile.mkdtemp(prefix="tb-rdp-")
    env = dict(os.environ, VBOX_USER_HOME=home, HOME=home,
               TELEBOX_IDLE_EXIT_MS="1000")
    tb = os.path.join(bindir, "telebox")

    def run(*args, check=True, timeout=60):
        p = subprocess.run([tb, *args], env=env, capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            fail("telebox %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    rdp = None
    started = False
    try:
        run("createvm", "--name", "r", "--ostype", "Other_64", "--register")
        run("modifyvm", "r", "--memory", "128", "--longmode", "on",
            "--vrde", "on", "--vrdeport", "5100-5140", "--kernel", guest)
        run("startvm", "r", "--type", "headless", timeout=120)
        started = True
        info = run("showvminfo", "r", "--machinereadable")
        m = re.search(r'^vrdeport=(\d+)$', info, re.M)
        if not m or int(m.group(1)) <= 0:
            fail("showvminfo has no vrdeport:\n" + info)
        port = int(m.group(1))
        folder = os.path.dirname(
            re.search(r'^CfgFile="(.*)"$', info, re.M).group(1))
        serial = os.path.join(folder, "Logs", "serial.log")

        def serial_text():
            try:
                return open(serial, errors="replace").read()
            except OSError:
                return ""

        # The console is drawn once the guest is up.
        wait_for("the guest's banner on COM1", lambda: len(serial_text()) > 0,
                 60)
        rdp = subprocess.Popen(
            ["xfreerdp", "/v:127.0.0.1:%d" % port, "/sec:rdp", "/u:x",
             "/p:x", "/cert:ignore", "/bpp:16", "/size:1024x768",
             "-decorations"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        shot = os.path.join(home, "shot.ppm")

        def screen_has_text():
            if rdp.poll() is not None:
                fail("xfreerdp exited with %d" % rdp.returncode)
            if subprocess.run(["import", "-window", "root", "-depth", "8", shot],
                              capture_output=True).returncode != 0:
                return False
            w, h, rgb = read_ppm(shot)
            # The banner: the console's top rows in light grey on black.
            return bright_pixels(w, h, rgb, 0, 0, 1024, 160) > 300

        wait_for("the guest's console text in the RDP client",
                 screen_has_text, 40)
        if os.environ.get("TB_RDP_SHOT"):
            shutil.copy(shot, os.environ["TB_RDP_SHOT"])
        before = serial_text().count("KEY a")
        win = wait_for("the xfreerdp window", lambda: subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--class", "xfreerdp"],
            capture_output=True, text=True).stdout.split(), 10)[0]

        def echoed():
            subprocess.run(["xdotool", "windowfocus", "--sync", win],
                           capture_output=True, timeout=5)
            subprocess.run(["xdotool", "type", "--window", win, "a"],
                           capture_output=True, timeout=5)
            time.sleep(1)
            return serial_text().count("KEY a") > before

        wait_for("KEY a on COM1 after typing into the client", echoed, 30)
        print("PASS: port %d, console visible, key echoed" % port)
    finally:
        if rdp and rdp.poll() is None:
            os.killpg(rdp.pid, signal.SIGTERM)
            try:
                rdp.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(rdp.pid, signal.SIGKILL)
        if started:
            run("controlvm", "r", "poweroff", check=False, timeout=60)
        try:
            ep = open(os.path.join(home, "teleboxd.endpoint")).read().split()
            os.kill(int(ep[3]), signal.SIGTERM)
        except (OSError, IndexError, ValueError):
            pass
        shutil.rmtree(home, ignore_errors=True)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if "--inner" not in sys.argv:
        # Our own X server for the client, gone when we exit.
        p = subprocess.run(
            ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", sys.executable,
             os.path.abspath(__file__), sys.argv[1], sys.argv[2], "--inner"],
            timeout=300)
        return p.returncode
    inner(sys.argv[1], sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
