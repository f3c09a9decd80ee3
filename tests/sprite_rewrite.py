"""Rewrite the sprite trajectories of a GMC MPEG-4 stream (raw ``.m4v``).

libxvid always codes three warping points at 1/16-sample accuracy, so its streams exercise only
one of the warps the standard allows. This module re-codes a libxvid stream with another number of
warping points (0-3) and another ``sprite_warping_accuracy``: the VOL's two fields are patched, and
every S-VOP's trajectory is replaced (the VOP's macroblock data is kept bit for bit and re-padded
to a byte boundary). The result is a valid stream that both decoders must decode identically,
which reaches FFmpeg's one-point fast path and its two-point (rotation + zoom) case.
"""

from __future__ import annotations

from collections.abc import Callable

Point = tuple[int, int]


class Bits:
    """MSB-first reader over a string of '0'/'1'."""

    def __init__(self, bits: str, pos: int = 0) -> None:
        self.bits, self.pos = bits, pos

    def read(self, n: int) -> int:
        value = int(self.bits[self.pos : self.pos + n] or "0", 2)
        self.pos += n
        return value


def to_bits(data: bytes) -> str:
    return "".join(f"{b:08b}" for b in data)


def to_bytes(bits: str) -> bytes:
    assert len(bits) % 8 == 0
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def split_units(stream: bytes) -> list[bytes]:
    """The stream cut before every ``00 00 01`` start code (each unit keeps its start code)."""
    starts = []
    at = stream.find(b"\x00\x00\x01")
    while at >= 0:
        starts.append(at)
        at = stream.find(b"\x00\x00\x01", at + 3)
    return [stream[a:b] for a, b in zip(starts, starts[1:] + [len(stream)])]


def parse_vol(unit: bytes) -> tuple[int, int, int]:
    """(bit offset of ``no_of_sprite_warping_points`` in ``unit``, time-increment bits, interlaced)."""
    r = Bits(to_bits(unit), 32)
    r.read(1 + 8)
    verid = 1
    if r.read(1):
        verid = r.read(4)
        r.read(3)
    if r.read(4) == 15:
        r.read(16)
    if r.read(1):
        r.read(3)
        if r.read(1):
            r.read(79)
    assert r.read(2) == 0, "rectangular shape only"
    r.read(1)
    resolution = r.read(16)
    tib = max(1, (resolution - 1).bit_length())
    r.read(1)
    if r.read(1):
        r.read(tib)
    r.read(1 + 13 + 1 + 13 + 1)
    interlaced = r.read(1)
    r.read(1)
    sprite = r.read(1 if verid == 1 else 2)
    assert sprite == 2, "not a GMC layer"
    return r.pos, tib, interlaced


def read_warping_code(r: Bits) -> int:
    if r.read(2) == 0:
        length = 0
    else:
        r.pos -= 2
        first3 = r.read(3)
        if first3 != 0b111:
            length = first3 - 1
        else:
            length = 6
            while r.read(1):
                length += 1
    value = r.read(length) if length else 0
    if length and value >> (length - 1) == 0:
        value -= (1 << length) - 1
    r.read(1)  # marker
    return value


def warping_code(value: int) -> str:
    length = abs(value).bit_length()
    prefix = {0: "00", 1: "010", 2: "011", 3: "100", 4: "101", 5: "110"}.get(length)
    if prefix is None:
        prefix = "1" * (length - 3) + "0"
    body = "" if length == 0 else format(value if value > 0 else value + (1 << length) - 1, f"0{length}b")
    return prefix + body + "1"


def rewrite(
    stream: bytes,
    points: int,
    accuracy: int,
    trajectory: Callable[[list[Point]], list[Point]] | None = None,
) -> bytes:
    """``stream`` with ``points`` warping points at ``accuracy`` (0-3): each S-VOP keeps the first
    ``points`` of its coded points, passed through ``trajectory`` when given."""
    units = split_units(stream)
    out = []
    old_points, tib, interlaced = 0, 0, 0
    for unit in units:
        code = unit[3]
        if 0x20 <= code <= 0x2F:
            at, tib, interlaced = parse_vol(unit)
            bits = to_bits(unit)
            old_points = int(bits[at : at + 6], 2)
            bits = bits[:at] + format(points, "06b") + format(accuracy, "02b") + bits[at + 8 :]
            out.append(to_bytes(bits))
        elif code == 0xB6 and unit[4] >> 6 == 3:
            bits = to_bits(unit)
            r = Bits(bits, 32 + 2)
            while r.read(1):
                pass
            r.read(1 + tib + 1)
            if not r.read(1):  # not coded
                out.append(unit)
                continue
            r.read(1 + 3 + 2 * interlaced)  # rounding, intra_dc_vlc_thr, [top_field_first, alt scan]
            start = r.pos
            coded = [(read_warping_code(r), read_warping_code(r)) for _ in range(old_points)]
            end = r.pos
            kept = (coded + [(0, 0)] * 3)[:points]
            if trajectory is not None:
                kept = trajectory(kept)
            new = "".join(warping_code(du) + warping_code(dv) for du, dv in kept)
            rest = bits[end:].rstrip("1")
            assert rest.endswith("0"), "VOP without stuffing"
            body = bits[:start] + new + rest[:-1]
            body += "0" + "1" * (-(len(body) + 1) % 8)
            out.append(to_bytes(body))
        else:
            out.append(unit)
    return b"".join(out)
