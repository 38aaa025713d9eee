"""Decoding bombs: tiny files that declare huge pictures (test material, made in code)."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path


def png_pixel_bomb(path: Path, side: int = 12000) -> Path:
    """A ~0.4 MB PNG of ``side`` x ``side`` RGB zeros (432 MB once decoded at 12000 px)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    packer = zlib.compressobj(9)
    row = b"\0" * (side * 3 + 1)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)


class _Writer:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, value: int) -> None:
        value += 1
        self.u(value.bit_length() - 1, 0)
        self.u(value.bit_length(), value)

    def rbsp(self) -> bytes:
        bits = [*self.bits, 1]
        bits += [0] * (-len(bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


def _escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def h264_header_bomb(folder: Path, side: int = 16000) -> Path:
    """An ~8 KB MP4 whose H.264 sequence header declares ``side`` x ``side`` (a 64x64 baseline clip
    with its SPS rewritten): FFmpeg allocates frames at the declared size while probing."""
    raw = folder / "small.h264"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=64x64:r=10", "-frames:v",
                    "10", "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-preset", "ultrafast",
                    "-f", "h264", str(raw)], check=True)
    nals = raw.read_bytes().split(b"\x00\x00\x00\x01")
    for i, nal in enumerate(nals):
        if not nal or nal[0] & 0x1F != 7:
            continue
        r, w = _Bits(nal[1:].replace(b"\x00\x00\x03", b"\x00\x00")), _Writer()
        for _ in range(3):
            w.u(8, r.u(8))                 # profile (baseline), constraints, level
        w.ue(r.ue())                       # seq_parameter_set_id
        w.ue(r.ue())                       # log2_max_frame_num_minus4
        poc_type = r.ue()
        w.ue(poc_type)
        if poc_type == 0:
            w.ue(r.ue())
        w.ue(r.ue())                       # max_num_ref_frames
        w.u(1, r.u(1))                     # gaps_in_frame_num_allowed
        r.ue(), r.ue()
        w.ue(side // 16 - 1)               # pic_width_in_mbs_minus1
        w.ue(side // 16 - 1)               # pic_height_in_map_units_minus1
        w.u(1, r.u(1))                     # frame_mbs_only
        w.u(1, r.u(1))                     # direct_8x8_inference
        w.u(1, 0)                          # no cropping
        w.u(1, 0)                          # no VUI
        nals[i] = nal[:1] + _escape(w.rbsp())
    bomb_raw = folder / "bomb.h264"
    bomb_raw.write_bytes(b"\x00\x00\x00\x01".join(nals))
    out = folder / "bomb.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "h264", "-i", str(bomb_raw), "-c", "copy", str(out)],
                   check=True)
    return out
