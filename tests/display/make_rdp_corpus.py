#!/usr/bin/env python3
# usage: make_rdp_corpus.py <fuzz/corpus/rdp_fuzz>
# Builds plaintext RDP client transcripts (no encryption: the client offers
# no methods) for the rdp_fuzz corpus and the session unit test.
import struct, sys, os
out = sys.argv[1]

def tpkt(payload):
    return struct.pack(">BBH", 3, 0, len(payload) + 7) + b"\x02\xf0\x80" + payload

def cr(neg=None):
    body = b"Cookie: mstshash=fuzz\r\n"
    if neg is not None:
        body += struct.pack("<BBHI", 1, 0, 8, neg)
    x = bytes([len(body) + 6, 0xE0, 0, 0, 0, 0, 0]) + body
    return struct.pack(">BBH", 3, 0, len(x) + 4) + x

def ber_len(n):
    if n < 0x80: return bytes([n])
    if n < 0x100: return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xFF])

def tlv(tag, v): return bytes([tag]) + ber_len(len(v)) + v

def block(t, body): return struct.pack("<HH", t, len(body) + 4) + body

def connect_initial(bpp_flags=0x000B, want32=False, methods=0, channels=("cliprdr", "rdpsnd")):
    name = "fuzzbox".encode("utf-16le").ljust(32, b"\0")
    core = struct.pack("<IHHHHII", 0x00080004, 800, 600, 0xCA01, 0xAA03, 0x409, 2600)
    core += name + struct.pack("<III", 4, 0, 12) + b"\0" * 64
    core += struct.pack("<HHIHHH", 0xCA01, 1, 0, 16, bpp_flags, 0x0002 if want32 else 0x0001)
    sec = struct.pack("<II", methods, 0)
    net = struct.pack("<I", len(channels)) + b"".join(
        c.encode().ljust(8, b"\0") + struct.pack("<I", 0x80000000) for c in channels)
    ud = block(0xC001, core) + block(0xC002, sec) + block(0xC003, net)
    gcc = bytes([0, 5, 0, 0x14, 0x7C, 0, 1])
    inner = bytes([0, 8, 0, 0x10, 0, 1, 0xC0, 0]) + b"Duca" + struct.pack(">H", 0x8000 | len(ud)) + ud
    gcc += struct.pack(">H", 0x8000 | len(inner)) + inner
    params = b"".join(tlv(2, bytes([v])) for v in (34, 2, 0, 1, 0, 1, 0xFF, 2))
    body = tlv(4, b"\x01") + tlv(4, b"\x01") + tlv(1, b"\xff") + tlv(0x30, params) * 3 + tlv(4, gcc)
    return tpkt(b"\x7f\x65" + ber_len(len(body)) + body)

def sdrq(channel, data, user=6):
    ln = bytes([len(data)]) if len(data) < 0x80 else struct.pack(">H", 0x8000 | len(data))
    return tpkt(struct.pack(">BHHB", 0x64, user, channel, 0x70) + ln + data)

def u16s(s): return s.encode("utf-16le")

def client_info(user="test", domain="corp@2", pw="secret"):
    d, u, p = u16s(domain), u16s(user), u16s(pw)
    body = struct.pack("<IIHHHHH", 0, 0x10 | 0x1 | 0x8, len(d), len(u), len(p), 0, 0)
    body += d + b"\0\0" + u + b"\0\0" + p + b"\0\0" + b"\0\0" + b"\0\0"
    body += struct.pack("<HH", 2, 4) + b"1\0\0\0"[:4] + struct.pack("<H", 2) + b"\0\0" + b"\0" * 172 + struct.pack("<II", 0, 0)
    return struct.pack("<HH", 0x0040, 0) + body

def share_control(t, body, src=1007):
    return struct.pack("<HHH", len(body) + 6, 0x10 | t, src) + body

def share_data(t2, body):
    return share_control(7, struct.pack("<IBBHBBH", 0x103EA, 0, 1, len(body) + 4, t2, 0, 0) + body)

def cap(t, body): return struct.pack("<HH", t, len(body) + 4) + body

def confirm_active(extra=0x0401):
    caps = cap(1, struct.pack("<HHHHHHHHHBB", 1, 3, 0x200, 0, 0, extra, 0, 0, 0, 1, 1))
    caps += cap(2, struct.pack("<HHHHHHHHHBBHH", 16, 1, 1, 1, 800, 600, 0, 1, 1, 0, 0, 1, 0))
    caps += cap(8, struct.pack("<HHH", 1, 20, 21))
    caps += cap(13, struct.pack("<HH", 0x35, 0) + b"\0" * 80)
    caps += cap(26, struct.pack("<I", 0x3F0000))
    comb = struct.pack("<HH", 5, 0) + caps
    body = struct.pack("<IHHH", 0x103EA, 0x3EA, 6, len(comb)) + b"MSTSC\0" + comb
    return share_control(3, body)

def nosec(pdu): return pdu  # no encryption negotiated: no security header

def session(fastpath_output=True):
    s = cr() + connect_initial()
    s += tpkt(b"\x04\x01\x00\x01\x00")  # erect domain
    s += tpkt(b"\x28")                  # attach user
    for ch in (1007, 1003, 1004, 1005):
        s += tpkt(struct.pack(">BHH", 0x38, 6, ch))
    s += sdrq(1003, client_info())
    s += sdrq(1003, nosec(confirm_active(0x0401 if fastpath_output else 0)))
    s += sdrq(1003, share_data(0x1F, struct.pack("<HH", 1, 0x3EA)))
    s += sdrq(1003, share_data(0x14, struct.pack("<HHI", 4, 0, 0)))
    s += sdrq(1003, share_data(0x14, struct.pack("<HHI", 1, 0, 0)))
    s += sdrq(1003, share_data(0x27, struct.pack("<HHHH", 0, 0, 3, 0x32)))
    # slow-path input: scancode 'a' down/up, mouse move + click
    ev = struct.pack("<IHHHH", 0, 4, 0, 0x1E, 0) + struct.pack("<IHHHH", 0, 4, 0x8000, 0x1E, 0)
    ev += struct.pack("<IHHHH", 0, 0x8001, 0x9000, 10, 20) + struct.pack("<IHHHH", 0, 0x8001, 0x1000, 10, 20)
    s += sdrq(1003, share_data(0x1C, struct.pack("<HH", 4, 0) + ev))
    # fast-path input: 3 events (scancode, mouse, unicode)
    fe = bytes([0x00, 0x1E, 0x01, 0x1E]) + bytes([0x20]) + struct.pack("<HHH", 0x0800, 5, 6) + bytes([0x80]) + struct.pack("<H", 0x61)
    s += bytes([(4 << 2), 2 + len(fe)]) + fe
    s += sdrq(1003, share_data(0x21, struct.pack("<B3xHHHH", 1, 0, 0, 99, 99)))
    s += sdrq(1003, share_data(0x23, struct.pack("<B3x", 0)))
    s += sdrq(1003, share_data(0x23, struct.pack("<B3xHHHH", 1, 0, 0, 799, 599)))
    s += sdrq(1003, share_data(0x24, b""))
    s += sdrq(1004, b"\x05\x00\x00\x00\x03\x00\x00\x00hello")
    return s

def w(name, data):
    open(os.path.join(out, name), "wb").write(data)

w("session_plain_fastpath.bin", session(True))
w("session_plain_slowpath.bin", session(False) + tpkt(b"\x21\x80"))
w("cr_xfreerdp_sec_rdp.bin", cr())
w("cr_rdesktop_tls_nla.bin", cr(3))
w("cr_nla_only.bin", cr(2))
w("connect_initial_32bpp.bin", cr() + connect_initial(0x000F, True, 0x1B))
w("connect_initial_encrypted.bin", cr() + connect_initial(methods=0x3) + tpkt(b"\x28") + tpkt(struct.pack(">BHH", 0x38, 6, 1003))
  + sdrq(1003, struct.pack("<HHI", 1, 0, 72) + b"\x42" * 72))
w("truncated.bin", session(True)[:300])
