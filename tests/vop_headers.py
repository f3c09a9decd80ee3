"""The quantiser of each VOP of a raw MPEG-4 Part 2 stream, read from the VOP headers.

Written from the VOP header syntax (ISO/IEC 14496-2, 6.2.5) for rectangular, progressive Simple
Profile streams: vop_coding_type (2 bits), modulo_time_base ('1'* '0'), marker, vop_time_increment
(as many bits as the VOL's resolution needs), marker, vop_coded, vop_rounding_type (P-VOPs),
intra_dc_vlc_thr (3), vop_quant (quant_precision = 5 bits).
"""

from __future__ import annotations

VOP_START = b"\x00\x00\x01\xb6"


class _Bits:
    """Big-endian bit reader over a few bytes."""

    def __init__(self, data: bytes) -> None:
        self.value, self.left = int.from_bytes(data, "big"), 8 * len(data)

    def take(self, n: int) -> int:
        self.left -= n
        return (self.value >> self.left) & ((1 << n) - 1)


def vop_quants(data: bytes, time_increment_bits: int) -> list[int]:
    """``vop_quant`` of every coded VOP, in stream order."""
    quants = []
    start = data.find(VOP_START)
    while start >= 0:
        bits = _Bits(data[start + 4 : start + 12].ljust(8, b"\x00"))
        coding_type = bits.take(2)
        while bits.take(1):  # modulo_time_base
            pass
        bits.take(1 + time_increment_bits + 1)  # marker, vop_time_increment, marker
        if bits.take(1):  # vop_coded
            if coding_type == 1:
                bits.take(1)  # vop_rounding_type
            bits.take(3)  # intra_dc_vlc_thr
            quants.append(bits.take(5))
        start = data.find(VOP_START, start + 4)
    return quants
