"""Hand-built containers for the probe and error tests: an AVI writer (so a test controls every
chunk, e.g. DivX packed bitstreams and drop frames), raw-stream splitting and N-VOPs."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from clips import ClipSpec, render_frames

VOP = b"\x00\x00\x01\xb6"


def split_vops(stream: bytes) -> tuple[bytes, list[bytes]]:
    """Split a raw MPEG-4 Part 2 stream into its leading headers and its VOPs (start code included)."""
    starts = []
    at = stream.find(VOP)
    while at >= 0:
        starts.append(at)
        at = stream.find(VOP, at + 4)
    vops = [stream[a:b] for a, b in zip(starts, starts[1:] + [len(stream)])]
    return stream[: starts[0]], vops


def vop_type(vop: bytes) -> str:
    """'I', 'P', 'B' or 'S' from the two bits after the start code."""
    return "IPBS"[vop[4] >> 6]


def n_vop(time_increment_bits: int = 5) -> bytes:
    """A not-coded P-VOP (``vop_coded = 0``): the placeholder DivX writes after a packed frame."""
    bits = "01" + "0" + "1" + "0" * time_increment_bits + "1" + "0"
    bits += "0" + "1" * ((8 - (len(bits) + 1) % 8) % 8)  # stuffing to the byte boundary
    return VOP + int(bits, 2).to_bytes(len(bits) // 8, "big")


def user_data(text: bytes) -> bytes:
    """A user-data unit (``00 00 01 B2``), e.g. ``b"DivX503b1393p"``."""
    return b"\x00\x00\x01\xb2" + text


def chunk(fourcc: bytes, body: bytes) -> bytes:
    """A RIFF chunk, padded to an even size."""
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def riff_list(kind: bytes, items: list[bytes]) -> bytes:
    return chunk(b"LIST", kind + b"".join(items))


def write_avi(
    path: str | Path,
    frames: list[bytes],
    width: int,
    height: int,
    fourcc: bytes = b"XVID",
    fps: int = 25,
    index: bool = True,
) -> Path:
    """Write a one-stream AVI whose ``00dc`` chunks are exactly ``frames`` (empty = drop frame)."""
    avih = struct.pack("<14I", 1_000_000 // fps, 0, 0, 0x10, len(frames), 0, 1, 0, width, height, 0, 0, 0, 0)
    strh = (
        b"vids"
        + fourcc
        + struct.pack(
            "<IHHIIIIIIIIhhhh",
            0,
            0,
            0,
            0,
            1,
            fps,
            0,
            len(frames),
            0,
            0xFFFFFFFF,
            0,
            0,
            0,
            min(width, 32767),
            min(height, 32767),
        )
    )
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, fourcc, (width * height * 3) & 0xFFFFFFFF, 0, 0, 0, 0)
    hdrl = riff_list(b"hdrl", [chunk(b"avih", avih), riff_list(b"strl", [chunk(b"strh", strh), chunk(b"strf", strf)])])
    movi_items = [chunk(b"00dc", f) for f in frames]
    movi = riff_list(b"movi", movi_items)
    body = b"AVI " + hdrl + movi
    if index:
        entries, offset = [], 4  # offsets relative to the 'movi' fourcc
        for f, item in zip(frames, movi_items):
            flags = 0x10 if f[:4] != VOP or vop_type(f) == "I" else 0
            entries.append(struct.pack("<4sIII", b"00dc", flags, offset, len(f)))
            offset += len(item)
        body += chunk(b"idx1", b"".join(entries))
    path = Path(path)
    path.write_bytes(chunk(b"RIFF", body))
    return path


def packed_frames(stream: bytes, packed_tag: bool = True) -> list[bytes]:
    """Re-pack a raw stream with single B-frames the DivX way: each reference VOP shares its
    chunk with the B-VOP that follows it in decode order, and an N-VOP chunk keeps the frame
    count. ``packed_tag`` adds the ``DivX503b1393p`` user data that tells decoders so."""
    headers, vops = split_vops(stream)
    if packed_tag:
        headers += user_data(b"DivX503b1393p")
    frames: list[bytes] = []
    k = 0
    while k < len(vops):
        if k + 1 < len(vops) and vop_type(vops[k]) != "B" and vop_type(vops[k + 1]) == "B":
            frames += [vops[k] + vops[k + 1], n_vop()]
            k += 2
        else:
            frames.append(vops[k])
            k += 1
    frames[0] = headers + frames[0]
    return frames


def encode_with_audio(path: Path, fmt: str, audio_first: bool, options: dict[str, str] | None = None) -> Path:
    """An mpeg4 clip (GOP 6, one B-frame) muxed with an audio stream, optionally listed first."""
    frames = render_frames(ClipSpec(frames=14, seed=5))
    audio_codec, sample_format = ("pcm_s16le", "s16") if fmt == "avi" else ("aac", "fltp")
    with av.open(str(path), "w", format=fmt, options=options or {}) as out:
        audio = out.add_stream(audio_codec, rate=8000) if audio_first else None
        video = out.add_stream("mpeg4", rate=Fraction(25, 1))
        video.width, video.height, video.pix_fmt = 176, 144, "yuv420p"
        video.codec_context.gop_size, video.codec_context.max_b_frames = 6, 1
        audio = audio or out.add_stream(audio_codec, rate=8000)
        audio.layout = "mono"
        dtype = np.int16 if sample_format == "s16" else np.float32
        for t, img in enumerate(frames):
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 320), dtype), format=sample_format, layout="mono")
            sound.sample_rate, sound.pts = 8000, 320 * t
            for packet in audio.encode(sound):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    return path


def without_vol_control(stream: bytes, vo_type: int | None = None) -> bytes:
    """Rewrite every VOL of an FFmpeg stream without ``vol_control_parameters`` (as many DivX
    and XviD files are), optionally with another ``video_object_type_indication``. Decoders
    then assume ``low_delay`` for Simple/Advanced Simple objects until a B-VOP contradicts it."""

    def patch(vol: bytes) -> bytes:
        bits = "".join(f"{b:08b}" for b in vol)
        # random_accessible(1) vo_type(8) is_object_layer_identifier(1)=1 verid(4) priority(3)
        # aspect_ratio_info(4), then vol_control_parameters(1)=1 chroma(2) low_delay(1) vbv(1)=0
        assert bits[9] == "1" and bits[21:22] == "1" and bits[25] == "0", bits[:32]
        bits = bits[:21] + "0" + bits[26:]
        if vo_type is not None:
            bits = bits[:1] + f"{vo_type:08b}" + bits[9:]
        body = bits.rstrip("1")[:-1]  # drop the old stuffing (a 0, then 1s)
        body += "0" + "1" * ((8 - (len(body) + 1) % 8) % 8)
        return int(body, 2).to_bytes(len(body) // 8, "big")

    out, pos = b"", 0
    while (at := stream.find(b"\x00\x00\x01\x20", pos)) >= 0:
        end = stream.find(b"\x00\x00\x01", at + 4)
        out += stream[pos : at + 4] + patch(stream[at + 4 : end])
        pos = end
    return out + stream[pos:]


def paired_frames(stream: bytes, packed_tag: bool = True) -> list[bytes]:
    """A pathological layout: every chunk after the first holds two consecutive VOPs whatever
    their types (e.g. ``B+P``, ``B+B``), to exercise a decoder's packed-VOP buffering."""
    headers, vops = split_vops(stream)
    if packed_tag:
        headers += user_data(b"DivX503b1393p")
    return [headers + vops[0]] + [b"".join(vops[i : i + 2]) for i in range(1, len(vops), 2)]


def ebml(element_id: int, body: bytes) -> bytes:
    """An EBML element: its ID as written, an 8-byte size, the body."""
    size = b"\x01" + len(body).to_bytes(7, "big")
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size + body


def ebml_uint(element_id: int, value: int) -> bytes:
    return ebml(element_id, value.to_bytes(8, "big"))


def laced_block(track: int, timecode: int, frames: list[bytes], lacing: str) -> bytes:
    """A SimpleBlock body with ``frames`` laced the ``"xiph"``, ``"ebml"`` or ``"fixed"`` way
    (``"none"``: one frame)."""
    head = bytes([0x80 | track]) + timecode.to_bytes(2, "big", signed=True)
    if lacing == "none" or len(frames) == 1:
        assert len(frames) == 1
        return head + b"\x80" + frames[0]
    sizes = b""
    if lacing == "xiph":
        for f in frames[:-1]:
            sizes += b"\xff" * (len(f) // 255) + bytes([len(f) % 255])
    elif lacing == "ebml":
        def vint(v: int, signed: bool = False) -> bytes:
            for n in range(1, 9):
                bias = (1 << (7 * n - 1)) - 1 if signed else 0
                if 0 <= v + bias < (1 << (7 * n)) - 1:
                    return ((1 << (7 * n)) | (v + bias)).to_bytes(n, "big")
            raise ValueError(v)

        sizes = vint(len(frames[0])) + b"".join(
            vint(len(b) - len(a), signed=True) for a, b in zip(frames, frames[1:-1])
        )
    else:
        assert len({len(f) for f in frames}) == 1
    flag = {"xiph": 0x82, "fixed": 0x84, "ebml": 0x86}[lacing]
    return head + bytes([flag, len(frames) - 1]) + sizes + b"".join(frames)


def write_mkv(
    path: str | Path,
    codec_id: str,
    private: bytes,
    frames: list[bytes],
    width: int,
    height: int,
    lacing: str = "none",
    per_block: int = 1,
) -> Path:
    """A one-track Matroska file whose SimpleBlocks hold ``frames`` in order, ``per_block`` at a
    time with ``lacing``, two blocks per cluster."""
    video = ebml(0xB0, width.to_bytes(2, "big")) + ebml(0xBA, height.to_bytes(2, "big"))
    track = ebml(
        0xAE,
        ebml_uint(0xD7, 1)
        + ebml_uint(0x73C5, 1)
        + ebml_uint(0x83, 1)
        + ebml(0x86, codec_id.encode())
        + ebml(0x63A2, private)
        + ebml_uint(0x23E383, 40_000_000)
        + ebml(0xE0, video),
    )
    info = ebml_uint(0x2AD7B1, 1_000_000) + ebml(0x4D80, b"pkdkit tests")
    blocks = [
        ebml(0xA3, laced_block(1, 40 * (k % 2), frames[i : i + per_block], lacing))
        for k, i in enumerate(range(0, len(frames), per_block))
    ]
    clusters = b"".join(
        ebml(0x1F43B675, ebml_uint(0xE7, 80 * n) + b"".join(blocks[2 * n : 2 * n + 2]))
        for n in range((len(blocks) + 1) // 2)
    )
    segment = ebml(0x1549A966, info) + ebml(0x1654AE6B, track) + clusters
    header = ebml(0x4282, b"matroska") + ebml_uint(0x4287, 2) + ebml_uint(0x4285, 2)
    path = Path(path)
    path.write_bytes(ebml(0x1A45DFA3, header) + ebml(0x18538067, segment))
    return path


def bitmapinfoheader(width: int, height: int, fourcc: bytes, extra: bytes = b"") -> bytes:
    """A BITMAPINFOHEADER (40 bytes, biSize counting ``extra``) followed by ``extra``."""
    return struct.pack("<IiiHH4sIiiII", 40 + len(extra), width, height, 1, 24, fourcc, 0, 0, 0, 0, 0) + extra
