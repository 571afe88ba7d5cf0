"""Helpers shared by the RDP end-to-end scripts: a private Xvfb that is known
to answer, and stopping a child process within a bounded time."""
import os
import subprocess
import time


def stop_process(proc, timeout=10):
    """Terminates `proc`, killing it if it does not exit within `timeout`."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_xvfb(geometry):
    """Starts Xvfb on a free display; returns (process, display, env).

    Other sessions on this machine run X servers too, so the display number
    comes from Xvfb itself (-displayfd) and the server must answer before a
    client is pointed at it."""
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", geometry,
         "-nolisten", "tcp"], pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    data = b""
    deadline = time.time() + 10
    while not data.endswith(b"\n") and time.time() < deadline:
        chunk = os.read(r, 16)
        if not chunk:
            break
        data += chunk
    os.close(r)
    display = ":" + data.decode().strip()
    env = dict(os.environ, DISPLAY=display)
    deadline = time.time() + 10
    while time.time() < deadline:
        if subprocess.run(["xdotool", "getdisplaygeometry"], env=env,
                          capture_output=True, timeout=10).returncode == 0:
            return proc, display, env
        time.sleep(0.1)
    raise RuntimeError(f"Xvfb on {display} does not answer")
