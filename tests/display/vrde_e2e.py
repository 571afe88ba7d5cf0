#!/usr/bin/env python3
"""End-to-end proof of start_vrde's VirtualBox rules with real xfreerdp
clients against vrde_test_server (a red/green 640x480 frame buffer):
VBoxAuthSimple right/wrong password, PAM with a throwaway user (root only),
null auth, two clients with multicon
both seeing the screen and typing, multicon off refusing the second client,
Server Redirection to a second server (Standard RDP Security and TLS),
reusecon replacing the first, "@2" refused, a port list binding its second
port when the first is taken, Client/DisableDisplay+DisableInput, and IPv6
::1 when the host has it. Every wait is bounded; everything started is
stopped at the end.

usage: vrde_e2e.py <vrde_test_server> <work dir>
"""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from x_session import start_xvfb, stop_process

SERVER, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
started = []


class Server:
    def __init__(self, *args):
        self.lines = []
        self.proc = subprocess.Popen([SERVER, "--seconds", "60", *args],
                                     stdout=subprocess.PIPE, text=True)
        started.append(self.proc)
        threading.Thread(target=self._read, daemon=True).start()
        self.port = None
        deadline = time.time() + 15
        while time.time() < deadline and self.port is None:
            for l in list(self.lines):
                if l.startswith("listening on port "):
                    self.port = int(l.split()[-1])
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("vrde_test_server did not report a port")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def count(self, pred):
        return sum(1 for l in list(self.lines) if pred(l))

    def wait(self, pred, n=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count(pred) >= n:
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        stop_process(self.proc)
        Server.n += 1
        with open(f"{WORK}/server{Server.n}.log", "w") as f:
            f.write("\n".join(self.lines) + f"\nexit {self.proc.returncode}\n")


Server.n = 0


class Xvfb:
    def __init__(self):
        self.proc, _, self.env = start_xvfb("1024x768x24")
        started.append(self.proc)

    def colours(self):
        """Counts of pure red and pure green pixels on the screen."""
        out = subprocess.run(["import", "-window", "root", "-depth", "8",
                              "rgb:-"], env=self.env, capture_output=True,
                             timeout=20)
        b = out.stdout
        red = green = 0
        for i in range(0, len(b) - 2, 3 * 7):  # every 7th pixel is plenty
            p = b[i:i + 3]
            if p == b"\xff\x00\x00":
                red += 1
            elif p == b"\x00\xff\x00":
                green += 1
        return red, green

    def stop(self):
        stop_process(self.proc)


def auth_only(port, user="test", password="test", host="127.0.0.1",
              extra=()):
    """Exit code of an xfreerdp that logs on and leaves (TLS)."""
    # FreeRDP 2 reads "/v:[::1]:port" as port 0: the port goes apart.
    r = subprocess.run(["xfreerdp", f"/v:{host}", f"/port:{port}", "/sec:tls",
                        f"/u:{user}", f"/p:{password}", "/cert:ignore",
                        "/auth-only", "/log-level:WARN", *extra],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=40, env=X[0].env)
    return r.returncode


def session(x, port, name, sec="rdp", host="127.0.0.1"):
    f = open(f"{WORK}/{name}.client.log", "w")
    p = subprocess.Popen(["xfreerdp", f"/v:{host}:{port}", f"/sec:{sec}",
                          "/u:test", "/p:test", "/cert:ignore", "/bpp:32",
                          "/size:640x480", "/log-level:WARN"],
                         env=x.env, stdin=subprocess.DEVNULL, stdout=f,
                         stderr=subprocess.STDOUT)
    started.append(p)
    return p


def end(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def active(l):
    return l.startswith("log: RDP client") and " active: " in l


def wait_colours(x, want_visible, timeout=15):
    deadline = time.time() + timeout
    red = green = 0
    while time.time() < deadline:
        red, green = x.colours()
        if want_visible and red > 500 and green > 500:
            return True, (red, green)
        time.sleep(0.3)
    return (not want_visible and red == 0 and green == 0), (red, green)


problems = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        problems.append(what)


X = [Xvfb(), Xvfb()]
t0 = time.time()
try:
    # VBoxAuthSimple: the hash of "secret" in the VM's extradata.
    h = hashlib.sha256(b"secret").hexdigest()
    s = Server("--auth", "simple", "--user", "john", "--hash", h)
    check(auth_only(s.port, "john", "wrong") != 0, "simple: wrong refused")
    check(auth_only(s.port, "john", "secret") == 0, "simple: right accepted")
    check(auth_only(s.port, "mary", "secret") != 0, "simple: unknown user")
    check(s.count(lambda l: "AUTH: User: [john]. Domain: []. Authentication "
                  "type: [External]" in l) >= 2, "simple: AUTH log lines")
    check(not any("secret" in l for l in s.lines), "password never logged")
    s.stop()

    # VBoxAuth = PAM ("login" service) with a throwaway host user (root).
    if os.geteuid() == 0:
        user = f"tbvrde{os.getpid() % 100000}"
        subprocess.run(["userdel", user], capture_output=True, timeout=30)
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", user],
                       check=True, timeout=30)
        try:
            subprocess.run(["chpasswd"], input=f"{user}:Pam-pass-1\n",
                           text=True, check=True, timeout=30)
            s = Server("--auth", "pam")
            check(auth_only(s.port, user, "Pam-pass-1") == 0,
                  "pam: right password accepted")
            check(auth_only(s.port, user, "nope") != 0,
                  "pam: wrong password refused")
            s.stop()
        finally:
            subprocess.run(["userdel", user], capture_output=True, timeout=30)
    else:
        print("skip PAM: creating a host user needs root")

    # Null auth, multicon: two clients both see the screen and both type.
    s = Server("--auth", "null", "--multicon")
    check(auth_only(s.port, "anyone", "x") == 0, "null: accepted")
    a, b = session(X[0], s.port, "multi_a"), session(X[1], s.port, "multi_b")
    check(s.wait(active, 3), "multicon: both clients active")
    for i, x in enumerate(X):
        ok, seen = wait_colours(x, True)
        check(ok, f"multicon: client {i} shows the screen {seen}")
    for x in X:
        subprocess.run(["xdotool", "key", "a"], env=x.env, timeout=10)
    check(s.wait(lambda l: l == "scancodes 1e", 2, 10),
          "multicon: both clients typed 'a'")
    check(s.wait(lambda l: l.startswith("connections 2"), 1, 5),
          "multicon: two connections listed")
    # "@2": the VM has one screen.
    check(auth_only(s.port, extra=["/d:@2"]) != 0, "@2 refused")
    check(auth_only(s.port, extra=["/d:@1"]) == 0, "@1 accepted")
    end(a), end(b)
    s.stop()

    # Multicon off, no reuse: the second client is refused, the first stays.
    s = Server("--auth", "null")
    a = session(X[0], s.port, "single_a")
    check(s.wait(active, 1), "single: first client active")
    check(auth_only(s.port) != 0, "single: second client refused")
    check(a.poll() is None, "single: first client still connected")
    end(a)
    s.stop()

    # Reuse: the second client replaces the first.
    s = Server("--auth", "null", "--reusecon")
    a = session(X[0], s.port, "reuse_a")
    check(s.wait(active, 1), "reuse: first client active")
    b = session(X[1], s.port, "reuse_b")
    check(s.wait(active, 2), "reuse: second client active")
    deadline = time.time() + 15
    while a.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    check(a.poll() is not None, "reuse: first client disconnected")
    check(b.poll() is None, "reuse: second client stays")
    end(a), end(b)
    s.stop()

    # Client/DisableDisplay + DisableInput (the latter via extradata).
    s = Server("--auth", "null", "--disable-display", "--disable-input")
    a = session(X[0], s.port, "disabled")
    check(s.wait(active, 1), "disabled: client active")
    time.sleep(2)
    ok, seen = wait_colours(X[0], False, 1)
    check(ok, f"disabled: no screen contents sent {seen}")
    subprocess.run(["xdotool", "key", "a"], env=X[0].env, timeout=10)
    time.sleep(1)
    check(s.count(lambda l: l.startswith("scancodes")) == 0,
          "disabled: no input delivered")
    end(a)
    s.stop()

    # Port list: the first port is taken, the second is bound.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    n = blocker.getsockname()[1]
    s = Server("--auth", "null", "--ports", f"{n},{n + 1}")
    check(s.port == n + 1, f"ports {n},{n + 1}: bound {s.port}")
    check(auth_only(s.port) == 0, "ports: client connects to the second")
    s.stop()
    blocker.close()

    # Server Redirection (teleport): a client of the server on 127.0.0.1
    # is sent to the one on 127.0.0.2 (same port: the PDU carries none)
    # and shows that server's screen; one told about another port is
    # disconnected instead.
    for sec in ("rdp", "tls"):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        src = Server("--auth", "null", "--address", "127.0.0.1", "--ports",
                     str(port), "--redirect", "127.0.0.2")
        dst = Server("--auth", "null", "--address", "127.0.0.2", "--ports",
                     str(port))
        a = session(X[0], port, f"redirect_{sec}", sec)
        check(src.wait(active, 1), f"redirect {sec}: client active at source")
        src.proc.send_signal(signal.SIGUSR1)
        check(src.wait(lambda l: l == "redirect: 1 redirected, 0 disconnected",
                       1, 10), f"redirect {sec}: source sent the PDU")
        check(dst.wait(active, 1),
              f"redirect {sec}: the client reconnected to 127.0.0.2")
        check(dst.wait(lambda l: l.startswith("connections 1 [test@"),
                       1, 10), f"redirect {sec}: same user at the target")
        ok, seen = wait_colours(X[0], True)
        check(ok and a.poll() is None,
              f"redirect {sec}: client shows the target's screen {seen}")
        end(a)
        src.stop(), dst.stop()
    src = Server("--auth", "null", "--redirect", "127.0.0.2:1")
    a = session(X[0], src.port, "redirect_port")
    check(src.wait(active, 1), "redirect other port: client active")
    src.proc.send_signal(signal.SIGUSR1)
    check(src.wait(lambda l: l == "redirect: 0 redirected, 1 disconnected",
                   1, 10), "redirect other port: client disconnected")
    deadline = time.time() + 15
    while a.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    check(a.poll() is not None, "redirect other port: xfreerdp ended")
    end(a)
    src.stop()

    # IPv6 loopback when the host has it.
    try:
        t = socket.socket(socket.AF_INET6)
        t.bind(("::1", 0))
        t.close()
        have6 = True
    except OSError:
        have6 = False
    if have6:
        s = Server("--auth", "null", "--address", "::1")
        check(auth_only(s.port, host="[::1]") == 0, "IPv6 ::1 connect")
        s.stop()
    else:
        print("skip IPv6: no ::1 on this host")
finally:
    for p in started:
        end(p)
print("vrde e2e: %d problem(s), %.1f s" % (len(problems), time.time() - t0))
sys.exit(1 if problems else 0)
