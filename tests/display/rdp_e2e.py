#!/usr/bin/env python3
"""End-to-end proof of the RDP server with real clients.

For each client (xfreerdp 16/32 bpp with Standard RDP Security, rdesktop
16 bpp): start rdp_test_server on a free loopback port and an Xvfb, run the
client, screenshot the X display until the test pattern shows, compare the
pattern's blocks and gradients, check that the animated block changes, send
a key and a click with xdotool and check the server logged the scancode and
the button. Every wait is bounded; everything started is killed at the end.

usage: rdp_e2e.py <rdp_test_server> <work dir>
"""
import os
import socket
import subprocess
import sys
import threading
import time

from x_session import start_xvfb, stop_process

SERVER, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
BLOCK = 128


def block_color(bx, by):
    if bx == 0 and by == 0:
        return 0xFF0000
    palette = [0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF, 0x808080,
               0x008000, 0x800000, 0x000080, 0x808000, 0x008080, 0x800080]
    return palette[(bx + by * 8) % 12]


def gradient(x, y):
    return ((x & 0xFF) << 16) | ((y & 0xFF) << 8) | ((x + y) & 0xFF)


def rgb(v):
    return ((v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF)


class Server:
    def __init__(self, extra=()):
        self.lines, self.times = [], []
        self.proc = subprocess.Popen([SERVER, "--seconds", "90", *extra],
                                     stdout=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline and self.port is None:
            for l in list(self.lines):
                if l.startswith("listening on port "):
                    self.port = int(l.split()[-1])
            time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("test server did not report a port")

    def _read(self):
        for line in self.proc.stdout:
            self.times.append(time.monotonic())
            self.lines.append(line.rstrip("\n"))

    def first_time(self, pred, after):
        """Arrival time of the first matching line received after 'after'."""
        for t, l in zip(list(self.times), list(self.lines)):
            if t >= after and pred(l):
                return t
        return None

    def wait_line(self, pred, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(pred(l) for l in list(self.lines)):
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        stop_process(self.proc)


class Xvfb:
    def __init__(self):
        self.proc, self.display, self.env = start_xvfb("1280x1024x24")

    def shot(self, path=None):
        out = subprocess.run(["import", "-window", "root", "-depth", "8", "ppm:-"],
                             env=self.env, capture_output=True, timeout=20)
        if out.returncode != 0:
            return None
        img = parse_ppm(out.stdout)
        if path:
            subprocess.run(["convert", "ppm:-", path], input=out.stdout,
                           timeout=20)
        return img

    def stop(self):
        stop_process(self.proc)


def parse_ppm(b):
    # P6\n<w> <h>\n<max>\n<data>
    fields, pos = [], 0
    while len(fields) < 4:
        while b[pos:pos + 1].isspace():
            pos += 1
        if b[pos:pos + 1] == b"#":
            pos = b.index(b"\n", pos)
            continue
        end = pos
        while not b[end:end + 1].isspace():
            end += 1
        fields.append(b[pos:end])
        pos = end
    pos += 1
    w, h = int(fields[1]), int(fields[2])
    return (w, h, b[pos:pos + w * h * 3])


def pixel(img, x, y):
    w, h, data = img
    i = (y * w + x) * 3
    return tuple(data[i:i + 3])


def close(a, b, tol):
    return all(abs(p - q) <= tol for p, q in zip(a, b))


def find_pattern(img):
    """Top-left of the unique pure-red block, or None."""
    w, h, data = img
    for y in range(0, h, 4):
        row = y * w * 3
        for x in range(0, w, 4):
            i = row + x * 3
            if data[i] > 240 and data[i + 1] < 16 and data[i + 2] < 16:
                # walk up/left to the block's corner
                while x > 0 and close(pixel(img, x - 1, y), (255, 0, 0), 16):
                    x -= 1
                while y > 0 and close(pixel(img, x, y - 1), (255, 0, 0), 16):
                    y -= 1
                return (x, y)
    return None


def check_pattern(img, off, tol, cols=8, rows=6):
    """Problems found comparing the screenshot with the pattern (the
    cols x rows whole blocks)."""
    ox, oy = off
    bad = []
    for by in range(rows):
        for bx in range(cols):
            if (bx, by) == (7, 5):
                continue
            x, y = ox + bx * BLOCK + 64, oy + by * BLOCK + 48
            want = rgb(block_color(bx, by))
            got = pixel(img, x, y)
            if not close(got, want, tol):
                bad.append(f"block {bx},{by}: {got} != {want}")
            for gx in (5, 40, 90, 120):
                px, py = bx * BLOCK + gx, by * BLOCK + 96 + (gx % 31)
                want = rgb(gradient(px, py))
                got = pixel(img, ox + px, oy + py)
                if not close(got, want, tol):
                    bad.append(f"gradient {px},{py}: {got} != {want}")
    return bad


def anim_color(img, off):
    return pixel(img, off[0] + 7 * BLOCK + 64, off[1] + 5 * BLOCK + 48)


TRANSCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                          "..", "fuzz", "corpus", "rdp_fuzz",
                          "session_plain_fastpath.bin")


def stalled_client(port):
    """A client that completes an unencrypted connection (a recorded
    transcript) and then never reads: the server must keep it from slowing
    the others."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(open(TRANSCRIPT, "rb").read())
    return s


def resize_check(name, server, x, off, tol):
    """The server switches to 800x600: the client must follow (Deactivate
    All + Demand Active) and show the redrawn pattern at the new size."""
    if not server.wait_line(lambda l: l == "resized to 800x600", 15):
        return [f"{name}: server never resized"]
    deadline = time.time() + 15
    bad = ["no screenshot"]
    while time.time() < deadline:
        img = x.shot()
        if img:
            bad = check_pattern(img, off, tol, cols=6, rows=4)
            # right of and below the 800x600 desktop: the black root window
            for px, py in ((off[0] + 830, off[1] + 300),
                           (off[0] + 300, off[1] + 630)):
                if pixel(img, px, py) != (0, 0, 0):
                    bad.append(f"{px},{py} still drawn: {pixel(img, px, py)}")
            if not bad:
                break
        time.sleep(0.3)
    x.shot(f"{WORK}/{name}.resized.png")
    if bad:
        return [f"{name}: after resize: {bad[:3]}"]
    print(f"{name}: follows the switch to 800x600", flush=True)
    return []


def run_client(name, argv_fn, tol, server_args=(), rekey=False,
               resize=False,
               answer=None, security="RDP security", stall=False,
               logon='logon user="test" domain="" screen=-1',
               path="fast-path"):
    print(f"--- {name}", flush=True)
    server, x, client = Server(server_args), Xvfb(), None
    stalled = stalled_client(server.port) if stall else None
    try:
        argv = argv_fn(server.port)
        t0 = time.time()
        # HOME in the work dir: rdesktop stores accepted certificates there.
        env = dict(x.env, HOME=WORK)
        client = subprocess.Popen(
            argv, env=env,
            stdin=subprocess.PIPE if answer else subprocess.DEVNULL,
            stdout=open(f"{WORK}/{name}.client.log", "w"),
            stderr=subprocess.STDOUT)
        if answer:  # a certificate prompt on stdin
            client.stdin.write(answer.encode())
            client.stdin.flush()
        off, img = None, None
        deadline = time.time() + 30
        while time.time() < deadline:
            img = x.shot()
            if img and (off := find_pattern(img)) and not check_pattern(
                    img, off, tol):
                break
            if client.poll() is not None:
                break
            time.sleep(0.3)
        shown = time.time() - t0
        x.shot(f"{WORK}/{name}.png")
        if off is None:
            return [f"{name}: test pattern never appeared (client exit "
                    f"{client.poll()})"]
        bad = check_pattern(img, off, tol)
        if bad:
            return [f"{name}: " + "; ".join(bad[:5])]
        print(f"{name}: pattern at offset {off} after {shown:.2f} s",
              flush=True)
        # The animated block toggles every 0.5 s between blue and yellow.
        first = anim_color(img, off)
        seen = {first}
        deadline = time.time() + 5
        while time.time() < deadline and len(seen) < 2:
            time.sleep(0.1)
            s = x.shot()
            if s:
                seen.add(anim_color(s, off))
        if len(seen) < 2:
            return [f"{name}: animated block never changed from {first}"]
        for c in seen:
            if not (close(c, (0, 0, 255), tol) or close(c, (255, 255, 0), tol)):
                return [f"{name}: animated block shows {c}"]
        # Input: move into the client window, type 'a' (scancode 0x1e),
        # click the left button.
        env = x.env
        subprocess.run(["xdotool", "mousemove", str(off[0] + 300),
                        str(off[1] + 200)], env=env, timeout=10)
        time.sleep(0.3)
        t_key = time.monotonic()
        subprocess.run(["xdotool", "key", "a"], env=env, timeout=10)
        subprocess.run(["xdotool", "click", "1"], env=env, timeout=10)
        subprocess.run(["xdotool", "key", "Right"], env=env, timeout=10)
        subprocess.run(["xdotool", "click", "4"], env=env, timeout=10)
        problems = []
        if not server.wait_line(lambda l: l.startswith("key 0x1e down"), 5):
            problems.append(f"{name}: server never logged key 0x1e down")
        else:
            t = server.first_time(lambda l: l.startswith("key 0x1e down"),
                                  t_key)
            if t:
                print(f"{name}: key to server log {1000 * (t - t_key):.0f} ms"
                      " (xdotool start-up included)", flush=True)
        if not server.wait_line(lambda l: l.startswith("key 0x1e up"), 5):
            problems.append(f"{name}: server never logged key 0x1e up")
        if not server.wait_line(
                lambda l: l.startswith("pointer 300 200 buttons=1"), 5):
            problems.append(f"{name}: server never logged the click at "
                            "300,200")
        # Right arrow: scancode 0x4d with the E0 prefix.
        if not server.wait_line(lambda l: l.startswith("key 0x4d down ext=1"),
                                5):
            problems.append(f"{name}: server never logged Right (E0 4D)")
        if not server.wait_line(lambda l: "wheel=1 " in l, 5):
            problems.append(f"{name}: server never logged a wheel notch up")
        if not server.wait_line(lambda l: l == logon, 1):
            problems.append(f"{name}: server did not log '{logon}'")
        if not server.wait_line(
                lambda l: " active: " in l
                and f", {security}, {path}, " in l, 1):
            problems.append(f"{name}: session did not use {security} and "
                            f"{path} updates")
        if rekey:
            problems += rekey_check(name, server, x, off, tol)
        if resize:
            problems += resize_check(name, server, x, off, tol)
        return problems
    finally:
        if client and client.poll() is None:
            client.terminate()
            try:
                client.wait(10)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait()
        if stalled:
            stalled.close()
        server.stop()
        x.stop()
        with open(f"{WORK}/{name}.server.log", "w") as f:
            f.write("\n".join(server.lines) + "\n")


def rekey_check(name, server, x, off, tol):
    """Over 4096 packets each way: the RC4 keys update (MS-RDPBCGR 5.3.7)
    and both sides must still agree. The server checks every client MAC
    and drops the client on a mismatch; FreeRDP logs bad server MACs."""
    text = "abcdefghij" * 230  # 2300 keys, one PDU per press and release
    t0 = time.time()
    subprocess.run(["xdotool", "type", "--delay", "1", text], env=x.env,
                   timeout=120)
    typed = time.time() - t0
    downs = lambda: sum(1 for l in list(server.lines)
                        if l.startswith("key ") and " down" in l)
    deadline = time.time() + 20
    while time.time() < deadline and downs() < 2300 + 1:
        time.sleep(0.2)
    problems = []
    if downs() < 2301:
        problems.append(f"{name}: server got {downs()} key presses of 2301")
    img = x.shot(f"{WORK}/{name}.after.png")
    bad = check_pattern(img, off, tol) if img else ["no screenshot"]
    if bad:
        problems.append(f"{name}: pattern broken after re-keying: {bad[:3]}")
    print(f"{name}: typed 2300 keys in {typed:.1f} s", flush=True)
    return problems


def frame_counts(name):
    """(peer, frames) from the server's disconnect lines."""
    out = []
    for l in open(f"{WORK}/{name}.server.log"):
        if "disconnected:" in l:
            peer = l.split("RDP client ")[1].split(" ")[0]
            out.append((peer, int(l.split("disconnected: ")[1].split()[0])))
    return out


def stall_check(name):
    """The live client must get many more frames than the stalled one."""
    counts = frame_counts(name)
    print(f"{name}: frames per client {counts}", flush=True)
    if len(counts) != 2:
        return [f"{name}: expected two clients in the log, got {counts}"]
    # The stalled client only gets what its socket buffers absorb.
    frames = sorted(c for _, c in counts)
    if frames[0] == 0:
        return [f"{name}: the stalled client never became active: {counts}"]
    # Its share is bounded by socket buffers; the live client's is not
    # (a loose bound: sanitizer builds encode several times slower).
    if frames[1] < 1.5 * frames[0] or frames[1] < frames[0] + 10:
        return [f"{name}: live client not ahead of the stalled one: {counts}"]
    return []


def rekey_counts(name):
    """Parses the server's disconnect line for the packet counters."""
    for l in open(f"{WORK}/{name}.server.log"):
        if "disconnected:" in l and "packets encrypted, 0 packets" not in l:
            print(f"{name}: {l.split('disconnected: ')[1].strip()}",
                  flush=True)
            f = l.split("disconnected: ")[1].split(", ")
            enc = int(f[3].split()[0])
            dec = int(f[4].split()[0])
            probs = []
            if enc <= 4096 or dec <= 4096:
                probs.append(f"{name}: only {enc} out / {dec} in packets")
            if any("invalid packet signature" in c
                   for c in open(f"{WORK}/{name}.client.log")):
                probs.append(f"{name}: xfreerdp saw bad server MACs")
            return probs
    return [f"{name}: no disconnect statistics in the server log"]


def run_refused(name, argv_fn, server_args=()):
    """A client the server must turn away: it exits non-zero in bounded
    time."""
    print(f"--- {name}", flush=True)
    server, x = Server(server_args), Xvfb()
    try:
        r = subprocess.run(argv_fn(server.port), env=x.env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=40)
        with open(f"{WORK}/{name}.client.log", "w") as f:
            f.write(r.stdout + r.stderr)
        print(f"{name}: client exit {r.returncode}", flush=True)
        return [] if r.returncode != 0 else [f"{name}: client succeeded"]
    finally:
        server.stop()
        x.stop()


def xfreerdp(bpp, extra=()):
    return lambda p: ["xfreerdp", f"/v:127.0.0.1:{p}", "/sec:rdp", "/u:test",
                      "/p:test", "/cert:ignore", f"/bpp:{bpp}",
                      "/log-level:WARN", *extra]


def rdesktop(p):
    return ["rdesktop", "-a", "16", "-u", "test", "-p", "test",
            f"127.0.0.1:{p}"]


problems = []
problems += run_client("xfreerdp16", xfreerdp(16), 12)
# "/d:@2" selects the second screen the VirtualBox way (domain "@N").
problems += run_client("xfreerdp32", xfreerdp(32, ["/d:@2"]), 2,
                       logon='logon user="test" domain="" screen=1')
# Slow-path output and input (no fast-path either way).
problems += run_client("xfreerdp16_slowpath", xfreerdp(16, ["-fast-path"]), 12,
                       path="slow-path")
problems += run_client(
    "xfreerdp16_tls",
    lambda p: ["xfreerdp", f"/v:127.0.0.1:{p}", "/sec:tls", "/u:test",
               "/p:test", "/cert:ignore", "/bpp:16", "/log-level:WARN"], 12,
    security="TLS")
# rdesktop asks for TLS + NLA: it gets TLS and a certificate prompt.
problems += run_client("rdesktop16_tls", rdesktop, 12, answer="yes\n",
                       security="TLS")
# Without TLS it is refused (SSL_NOT_ALLOWED_BY_SERVER), reconnects without
# negotiation and uses Standard RDP Security.
problems += run_client("rdesktop16", rdesktop, 12, ["--no-tls"])
# Mode change: the guest switches to 800x600 while clients are connected.
problems += run_client("xfreerdp16_resize", xfreerdp(16), 12,
                       ["--resize-after-ms", "4000"], resize=True)
problems += run_client("rdesktop16_resize", rdesktop, 12,
                       ["--resize-after-ms", "4000"], resize=True,
                       answer="yes\n", security="TLS")
# Load: the whole screen every 20 ms plus 2300 typed keys crosses the
# 4096-packet RC4 key update in both directions.
# A second, stalled client (never reads) is connected at the same time.
problems += run_client("xfreerdp16_rekey", xfreerdp(16), 12,
                       ["--full-damage-ms", "20", "--max-payload", "1024",
                        "--allow-unencrypted"],
                       rekey=True, stall=True)
problems += stall_check("xfreerdp16_rekey")
problems += rekey_counts("xfreerdp16_rekey")
# NLA only: we have no CredSSP, negotiation must fail cleanly.
problems += run_refused(
    "xfreerdp_nla",
    lambda p: ["xfreerdp", f"/v:127.0.0.1:{p}", "/sec:nla", "/u:test",
               "/p:test", "/cert:ignore", "/auth-only", "/log-level:WARN"])
# A refused logon ends the connection.
problems += run_refused(
    "xfreerdp_denied",
    lambda p: ["xfreerdp", f"/v:127.0.0.1:{p}", "/sec:rdp", "/u:test",
               "/p:wrong", "/cert:ignore", "/auth-only", "/log-level:WARN"],
    ["--deny"])
for p in problems:
    print("FAIL", p)
print("e2e: %d problem(s)" % len(problems))
sys.exit(1 if problems else 0)
