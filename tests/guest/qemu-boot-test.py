#!/usr/bin/env python3
"""Boots the probe guest under QEMU and checks its serial protocol.

  qemu-boot-test.py ELF poweroff  : -M pc, telebox.poweroff=1; expects the
                                    ready and poweroff markers and QEMU exit
  qemu-boot-test.py ELF devices   : -M pc with VGA and a virtio-blk disk,
                                    telebox.disk=1; expects DISPLAY-OK and
                                    DISK-OK 16, the disk pattern in the image,
                                    KEY lines for keys sent with the monitor's
                                    sendkey, then POWER-BUTTON and a poweroff
                                    after the monitor's system_powerdown
  qemu-boot-test.py ELF microvm   : -M microvm, telebox.poweroff=1

KVM is used when /dev/kvm is usable (-cpu host,-arch-capabilities: this
host's KVM rejects the arch-capabilities MSR of -cpu max), else TCG;
PROBE_ACCEL=tcg forces TCG."""
import os
import socket
import subprocess
import sys
import tempfile
import time

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


def wait_for(path, text, proc, deadline):
    while time.time() < deadline:
        data = open(path, errors='replace').read() if os.path.exists(path) else ''
        if text in data:
            return data
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    data = open(path, errors='replace').read() if os.path.exists(path) else ''
    sys.exit(f'FAIL: no "{text}" on serial; output so far:\n{data}')


def monitor(sock_path, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall((command + '\n').encode())
    time.sleep(0.3)
    s.close()


def main():
    elf, mode = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix='probe-guest-')
    serial = os.path.join(tmp, 'serial.txt')
    mon = os.path.join(tmp, 'monitor.sock')
    disk = os.path.join(tmp, 'disk.img')
    machine = 'microvm' if mode == 'microvm' else 'pc'
    args = ['qemu-system-x86_64', '-M', machine, *accel_args(), '-m', '128',
            '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
            '-serial', f'file:{serial}', '-monitor', f'unix:{mon},server,nowait',
            '-kernel', elf]
    if mode == 'devices':
        with open(disk, 'wb') as f:
            f.truncate(1 << 20)
        args += ['-device', 'VGA', '-drive', f'file={disk},if=none,id=d0,format=raw',
                 '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on,serial=probe',
                 '-append', 'telebox.disk=1']
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
            # 'a', shift-'b', Enter: ASCII, shifted ASCII, a control code.
            for key in ('a', 'shift-b', 'ret'):
                monitor(mon, f'sendkey {key}')
            wait_for(serial, 'KEY a\nKEY B\nKEY 0x0a\n', proc, deadline)
            monitor(mon, 'system_powerdown')
            wait_for(serial, 'POWER-BUTTON', proc, deadline)
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
        if head != b'TBDISK 00000000\n':
            sys.exit(f'FAIL: disk sector 0 starts with {head!r}')
    print(open(serial, errors='replace').read(), end='')
    print(f'ok: {mode} ({" ".join(accel_args()[:2])})')


main()
