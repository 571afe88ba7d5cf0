#!/usr/bin/env python3
"""Boots the probe guest under QEMU and checks its serial protocol.

  qemu-boot-test.py ELF poweroff  : -M pc, telebox.poweroff=1; expects the
                                    ready and poweroff markers and QEMU exit
  qemu-boot-test.py ELF devices   : -M pc with VGA and a virtio-blk disk,
                                    telebox.disk=1; expects DISPLAY-OK and
                                    DISK-OK 16, the disk pattern in the image,
                                    the disk writer (telebox.diskwriter=16:2:2)
                                    acknowledging writes, each ring slot
                                    holding its last acknowledged record,
                                    KEY lines for keys sent with the monitor's
                                    sendkey, then POWER-BUTTON and a poweroff
                                    after the monitor's system_powerdown
  qemu-boot-test.py ELF microvm   : -M microvm, telebox.poweroff=1
  qemu-boot-test.py ELF workload  : -M microvm with the ticker (50 ms), the
                                    dirtier (8 MiB at 16 MiB/s) and iobench;
                                    expects well-formed PROBE, IOBENCH,
                                    DIRTIER-RUNNING and 10 TK lines whose
                                    sequence numbers and guest times count
                                    up (no timing assertions; no poweroff:
                                    QEMU is killed)

KVM is used when /dev/kvm is usable (-cpu host,-arch-capabilities: this
host's KVM rejects the arch-capabilities MSR of -cpu max), else TCG;
PROBE_ACCEL=tcg forces TCG."""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diskw_check  # noqa: E402

DEADLINE = 90  # seconds; SeaBIOS alone takes ~12 s on a PVM host


def accel_args():
    if os.environ.get('PROBE_ACCEL') == 'tcg':
        return ['-accel', 'tcg', '-cpu', 'max']
    try:
        fd = os.open('/dev/kvm', os.O_RDWR)
        os.close(fd)
        return ['-accel', 'kvm', '-cpu', 'host,-arch-capabilities']
    except OSError:
        return ['-accel', 'tcg', '-cpu', 'max']


def wait_for(path, text, proc, deadline, only=None):
    """Waits for `text` in the serial log (with `only`, in its lines that
    start with `only`, each ending with a newline)."""
    while time.time() < deadline:
        data = open(path, errors='replace').read() if os.path.exists(path) else ''
        if only is not None:
            data = ''.join(l + '\n' for l in data.split('\n')[:-1]
                           if l.startswith(only))
        if text in data:
            return data
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    data = open(path, errors='replace').read() if os.path.exists(path) else ''
    sys.exit(f'FAIL: no "{text}" on serial; output so far:\n{data}')


def wait_acks(path, count, proc, deadline):
    """Waits until the disk writer acknowledged `count` writes."""
    while time.time() < deadline and proc.poll() is None:
        lines = open(path, errors='replace').read().split('\n')
        if len(diskw_check.acks(lines)) >= count:
            return
        time.sleep(0.2)
    sys.exit(f'FAIL: the disk writer did not acknowledge {count} writes')


def monitor(sock_path, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall((command + '\n').encode())
    time.sleep(0.3)
    s.close()


def check_workload(out):
    for pattern in (r'^PROBE tsc_khz=\d+ source=(cmdline|pit|default) mem_kib=\d+ timer=(irq|poll)$',
                    r'^IOBENCH inb_ns=\d+ rounds=100$',
                    r'^DIRTIER-RUNNING mib=8 rate_mibps=16 pages_per_tick=\d+$',
                    r'^TELEBOX-WORKLOAD-STARTED$'):
        if not re.search(pattern, out, re.M):
            sys.exit(f'FAIL: no line matching {pattern}:\n{out}')
    ticks = [tuple(map(int, m.groups())) for m in
             re.finditer(r'^TK (\d+) (\d+) (\d+)$', out, re.M)]
    if [t[0] for t in ticks[:10]] != list(range(10)):
        sys.exit(f'FAIL: TK sequence numbers {[t[0] for t in ticks]}')
    if any(later[1] <= earlier[1] for earlier, later in zip(ticks, ticks[1:10])):
        sys.exit(f'FAIL: TK guest_us does not increase: {ticks}')


def check_writer(lines, image):
    setup = diskw_check.setup(lines)
    if not setup or setup[0] != 16 or setup[3] != 2:
        sys.exit(f'FAIL: no DISKW-RUNNING sectors=16 ... depth=2: {setup}')
    sectors, base, _, depth, _ = setup
    bad = diskw_check.failures(lines)
    seqs = [s for s, _ in diskw_check.acks(lines)]
    bad += diskw_check.ack_problems(seqs, depth)
    if not diskw_check.flushed(lines):
        bad.append('no DISKW-FLUSHED line')
    problems, checked = diskw_check.image_problems(image, sectors, base, seqs,
                                                   depth)
    bad += problems
    if bad or checked != sectors:
        sys.exit(f'FAIL: disk writer: {bad[:5]} ({checked} slots intact)')
    print(f'ok: disk writer: {len(seqs)} writes acknowledged, all {checked} '
          f'ring slots hold their last one')


def main():
    elf, mode = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix='probe-guest-')
    serial = os.path.join(tmp, 'serial.txt')
    mon = os.path.join(tmp, 'monitor.sock')
    disk = os.path.join(tmp, 'disk.img')
    machine = 'microvm' if mode in ('microvm', 'workload') else 'pc'
    args = ['qemu-system-x86_64', '-M', machine, *accel_args(), '-m', '128',
            '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
            '-serial', f'file:{serial}', '-monitor', f'unix:{mon},server,nowait',
            '-kernel', elf]
    if mode == 'devices':
        with open(disk, 'wb') as f:
            f.truncate(1 << 20)
        args += ['-device', 'VGA', '-drive', f'file={disk},if=none,id=d0,format=raw',
                 '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on,serial=probe',
                 '-append', 'telebox.disk=1 telebox.diskwriter=16:2:2']
    elif mode == 'workload':
        args += ['-append', 'telebox.ticker=50 telebox.dirty=8:16 telebox.iobench=100']
    else:
        args += ['-append', 'telebox.poweroff=1']
    deadline = time.time() + DEADLINE
    proc = subprocess.Popen(args)
    try:
        wait_for(serial, 'TELEBOX-GUEST-READY', proc, deadline)
        if mode == 'devices':
            wait_for(serial, 'DISPLAY-OK', proc, deadline)
            wait_for(serial, 'DISK-OK 16', proc, deadline)
            wait_for(serial, 'TELEBOX-WORKLOAD-STARTED', proc, deadline)
            wait_acks(serial, 40, proc, deadline)
            # 'a', shift-'b', Enter: ASCII, shifted ASCII, a control code.
            for key in ('a', 'shift-b', 'ret'):
                monitor(mon, f'sendkey {key}')
            wait_for(serial, 'KEY a\nKEY B\nKEY 0x0a\n', proc, deadline,
                     only='KEY ')
            monitor(mon, 'system_powerdown')
            wait_for(serial, 'POWER-BUTTON', proc, deadline)
        if mode == 'workload':
            out = wait_for(serial, 'TK 10 ', proc, deadline)
            check_workload(out)
            proc.kill()
            print(out, end='')
            print('ok: workload')
            return
        wait_for(serial, 'TELEBOX-POWEROFF', proc, deadline)
        proc.wait(timeout=max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        sys.exit('FAIL: QEMU did not exit: the guest did not power off')
    finally:
        if proc.poll() is None:
            proc.kill()
    if mode == 'devices':
        with open(disk, 'rb') as f:
            head = f.read(16)
            f.seek(0)
            image = f.read()
        if head != b'TBDISK 00000000\n':
            sys.exit(f'FAIL: disk sector 0 starts with {head!r}')
        check_writer(open(serial, errors='replace').read().split('\n'), image)
    print(open(serial, errors='replace').read(), end='')
    print(f'ok: {mode} ({" ".join(accel_args()[:2])})')


main()
