"""Shared pieces of the teleport end-to-end test and benchmark: two "hosts"
(separate VBOX_USER_HOME folders with their own host service), a VM
registered on each with the same hardware, serial logs read as they grow
with a host arrival time per line, a target process, and a TCP relay that
can cut a teleport at a chosen byte."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "guest"))
import diskw_check  # noqa: E402  (the probe guest's disk writer records)

TK = re.compile(r"TK (\d+) (\d+) (\d+)")


class Host:
    """One telebox home: its own settings, registry and host service."""

    def __init__(self, root, name, bindir, prefix=()):
        self.prefix = list(prefix)  # e.g. ["ip", "netns", "exec", "ns1"]
        self.home = os.path.join(root, name)
        os.makedirs(self.home, exist_ok=True)
        self.bindir = bindir
        self.env = dict(os.environ, VBOX_USER_HOME=self.home, HOME=self.home,
                        TELEBOX_IDLE_EXIT_MS="1000")

    def run(self, *args, check=True, timeout=120):
        p = subprocess.run(self.prefix
                           + [os.path.join(self.bindir, "telebox"), *args],
                           env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("telebox %s: rc %d\n%s%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def create_vm(self, name, guest, memory, cmdline, *extra):
        self.run("createvm", "--name", name, "--ostype", "Other_64",
                 "--register")
        self.run("modifyvm", name, "--memory", str(memory), "--longmode",
                 "on", "--kernel", guest, "--cmdline", cmdline, *extra)

    def vm_folder(self, name):
        info = self.run("showvminfo", name, "--machinereadable").stdout
        cfg = re.search(r'^CfgFile="(.*)"$', info, re.M).group(1)
        return os.path.dirname(cfg)

    def vm_state(self, name):
        info = self.run("showvminfo", name, "--machinereadable",
                        check=False).stdout
        m = re.search(r'^VMState="(.*)"$', info, re.M)
        return m.group(1) if m else None

    def stop_service(self, grace=3.0):
        """Stops the host service, then whatever still runs with this
        home (a VM process outlives its host service): a test that failed
        half-way must not leave a VM spinning on the machine."""
        try:
            ep = open(os.path.join(self.home, "teleboxd.endpoint")).read()
            os.kill(int(ep.split()[3]), signal.SIGTERM)
        except (OSError, IndexError, ValueError):
            pass
        end = time.monotonic() + grace
        while self.processes() and time.monotonic() < end:
            time.sleep(0.05)
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def processes(self):
        """Live processes whose VBOX_USER_HOME is this home."""
        mark = ("VBOX_USER_HOME=" + self.home).encode() + b"\0"
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read() + b"\0"
                with open("/proc/%s/stat" % d) as f:
                    zombie = f.read().rsplit(")", 1)[-1].split()[0] == "Z"
            except OSError:
                continue
            if mark in env and not zombie:
                out.append(int(d))
        return out


class SerialTail(threading.Thread):
    """Follows a serial.log as it grows (1 ms polls), stamping each line
    with the host's monotonic clock when its newline arrived. A file that
    shrinks (a new process truncated it) starts over."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.lines = []  # (t, text)
        self.partial = ""
        self.lock = threading.Lock()
        self.stop = False

    def run(self):
        pos = 0
        while not self.stop:
            try:
                size = os.path.getsize(self.path)
                if size < pos:
                    pos = 0
                    with self.lock:
                        self.lines, self.partial = [], ""
                if size > pos:
                    with open(self.path, "rb") as f:
                        f.seek(pos)
                        data = f.read(size - pos)
                    pos += len(data)
                    t = time.monotonic()
                    with self.lock:
                        text = self.partial + data.decode(errors="replace")
                        parts = text.split("\n")
                        self.partial = parts.pop()
                        self.lines.extend((t, p) for p in parts)
            except OSError:
                pass
            time.sleep(0.001)

    def snapshot(self):
        with self.lock:
            return list(self.lines), self.partial

    def ticks(self):
        return [int(m.group(1)) for _, l in self.snapshot()[0]
                for m in [TK.match(l)] if m]

    def wait_for(self, needle, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(needle in l for _, l in self.snapshot()[0]):
                return True
            time.sleep(0.02)
        return False

    def still_ticking(self, wait=1.0):
        """True when new TK lines arrive within `wait` seconds."""
        before = len(self.ticks())
        end = time.monotonic() + wait
        while time.monotonic() < end:
            time.sleep(0.05)
            if len(self.ticks()) > before + 2:
                return True
        return False


def free_port():
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, poll=0.2):
    """True once pred() holds, False after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(poll)
    return False


def split_lines(src, dst):
    """The source's and the target's serial lines as two lists of (t, text);
    a line the switch-over split ("TK 12" on the source, "3 ..." on the
    target) is joined and counts as the target's first, stamped when it
    completed there."""
    s_lines, s_part = src.snapshot()
    d_lines, _ = dst.snapshot()
    d_lines = list(d_lines)
    if d_lines:
        d_lines[0] = (d_lines[0][0], s_part + d_lines[0][1])
    return list(s_lines), d_lines


def merged_ticks(src, dst):
    """(t, seq, gap_us) of every TK line, the source's then the target's
    (split_lines joins a line the switch-over split)."""
    s_lines, d_lines = split_lines(src, dst)
    out = []
    for t, l in s_lines + d_lines:
        m = TK.match(l)
        if m:
            out.append((t, int(m.group(1)), int(m.group(3))))
    return out


def seq_gaps(ticks):
    """Sequence numbers missing (or repeated) between consecutive lines."""
    bad = []
    for a, b in zip(ticks, ticks[1:]):
        if b[1] != a[1] + 1:
            bad.append((a[1], b[1]))
    return bad


class Target:
    """telebox-headless for a VM with its teleporter on (waits for one)."""

    def __init__(self, host, vm):
        self.host, self.vm = host, vm
        self.out = []
        self.proc = subprocess.Popen(
            host.prefix
            + [os.path.join(host.bindir, "telebox-headless"), "--startvm", vm],
            env=host.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.out.append(line.rstrip("\n"))

    def waits(self):
        return sum(1 for l in self.out if l.startswith("Waiting for an "
                                                       "incoming teleport"))

    def wait_waiting(self, count=1, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.waits() >= count:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def kill(self):
        # A cut relay's thread may kill and reap it at the same moment:
        # a group that is gone already is what was asked for.
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class CutRelay:
    """Relays one connection to 127.0.0.1:`port` and, once `cut` bytes went
    from the client (the teleport source) to the target, runs `on_cut`
    (which may kill or stop the target) and ends the connection (or, with
    `end` false, keeps relaying)."""

    def __init__(self, port, cut, on_cut=None, end=True):
        self.port, self.cut, self.on_cut, self.end = port, cut, on_cut, end
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.listen_port = self.srv.getsockname()[1]
        self.forwarded = 0
        self.did_cut = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            a, _ = self.srv.accept()
        except OSError:
            return
        b = socket.create_connection(("127.0.0.1", self.port))
        done = threading.Event()

        def pump(src, dst, counted):
            try:
                while not done.is_set():
                    data = src.recv(1 << 16)
                    if not data:
                        break
                    if counted and not self.did_cut:
                        room = self.cut - self.forwarded
                        if len(data) >= room and not self.end:
                            self.did_cut = True
                            if self.on_cut:
                                self.on_cut()
                        elif len(data) >= room:
                            dst.sendall(data[:max(room, 0)])
                            self.forwarded += max(room, 0)
                            self.did_cut = True
                            if self.on_cut:
                                self.on_cut()
                            break
                        self.forwarded += len(data)
                    dst.sendall(data)
            except OSError:
                pass
            done.set()
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        t1 = threading.Thread(target=pump, args=(a, b, True), daemon=True)
        t2 = threading.Thread(target=pump, args=(b, a, False), daemon=True)
        t1.start()
        t2.start()
        t1.join()
        t2.join()
        a.close()
        b.close()
        self.srv.close()


def raw_image(path, tmpdir):
    """The bytes of disk image `path` (any format qemu-img reads) as raw."""
    out = os.path.join(tmpdir, os.path.basename(path) + ".raw")
    subprocess.run(["qemu-img", "convert", "-O", "raw", path, out],
                   check=True, capture_output=True, timeout=120)
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    return data


def disk_writer_across(s_tail, d_tail, disk, tmpdir):
    """disk_writer_report over the source's and target's SerialTails (a
    line the switch-over split joined) and the shared image `disk`."""
    s_lines, d_lines = split_lines(s_tail, d_tail)
    return disk_writer_report([l for _, l in s_lines],
                              [l for _, l in d_lines], raw_image(disk, tmpdir))


def disk_writer_report(s_lines, d_lines, image):
    """Checks the probe guest's disk writer across a teleport: `s_lines`
    and `d_lines` are the source's and target's serial lines (split_lines;
    text only), `image` the shared disk's raw bytes after the target
    powered off. Returns (problems, figures): no DISKW-FAIL on either side;
    every write acknowledged exactly once over both logs and none lost
    (diskw_check.ack_problems); the target's first ack follows the
    source's last (within the writer's depth: completions may come out of
    order); flushes completed on both sides; every ring slot in the image
    holds an intact record of its highest acknowledged write or a later
    one."""
    problems, fig = [], {}
    setup = diskw_check.setup(s_lines)
    if not setup:
        return ["no DISKW-RUNNING line on the source"], fig
    sectors, base, _, depth, _ = setup
    problems += diskw_check.failures(s_lines) + diskw_check.failures(d_lines)
    src_acks, dst_acks = diskw_check.acks(s_lines), diskw_check.acks(d_lines)
    if not src_acks or not dst_acks:
        problems.append("acks on the source: %d, on the target: %d"
                        % (len(src_acks), len(dst_acks)))
        return problems, fig
    seqs = [a for a, _ in src_acks + dst_acks]
    problems += diskw_check.ack_problems(seqs, depth)
    last, first = src_acks[-1], dst_acks[0]
    if not last[0] - depth < first[0] <= last[0] + depth:
        problems.append("the target's first ack (write %d) does not follow "
                        "the source's last (write %d)" % (first[0], last[0]))
    for side, lines in (("source", s_lines), ("target", d_lines)):
        if not diskw_check.flushed(lines):
            problems.append("no DISKW-FLUSHED on the " + side)
    found, checked = diskw_check.image_problems(image, sectors, base, seqs,
                                                depth)
    problems += found
    fig.update(sectors=sectors, depth=depth, source_acks=len(src_acks),
               target_acks=len(dst_acks), source_last=last[0],
               in_flight_after_last=last[1], target_first=first[0],
               target_first_batch=[a for a, _ in dst_acks[:depth + 1]],
               slots_intact=checked, highest=max(seqs))
    return problems, fig
