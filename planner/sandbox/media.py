"""What the sandbox serves instead of real media: masks as COCO run-length data, tiny files.

Kling returns masks as COCO "compressed RLE": column-major runs, alternately background
and object, starting with background, encoded as delta-coded 5-bit groups in ASCII.
The sandbox draws a rectangle around the clicked points; ``decode`` is the inverse used
by the tests.
"""

from __future__ import annotations

import hashlib

MP4_HEADER = (
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"  # ftyp box
    b"\x00\x00\x00\x08free"  # free box
)


def encode_counts(counts: list[int]) -> str:
    """COCO compressed-RLE string for run lengths ``counts``."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def decode_counts(text: str) -> list[int]:
    """Inverse of ``encode_counts``."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rectangle_counts(height: int, width: int, box: tuple[int, int, int, int]) -> list[int]:
    """Column-major runs for a filled rectangle ``(x0, y0, x1, y1)``, ends exclusive."""
    x0, y0, x1, y1 = box
    if x0 >= x1 or y0 >= y1:
        return [height * width]
    tall = y1 - y0
    counts = [x0 * height + y0, tall]
    for _ in range(x1 - x0 - 1):
        counts += [height - tall, tall]
    counts.append(height * width - sum(counts))
    return counts


def mask_for_points(height: int, width: int, points: list[tuple[float, float]]) -> dict[str, object]:
    """An RLE mask covering the clicked points with a margin of a tenth of the frame."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    margin = 0.1
    box = (
        max(0, int((min(xs) - margin) * width)),
        max(0, int((min(ys) - margin) * height)),
        min(width, int((max(xs) + margin) * width) + 1),
        min(height, int((max(ys) + margin) * height) + 1),
    )
    return {"size": [height, width], "counts": encode_counts(rectangle_counts(height, width, box))}


def fake_video(name: str, size: int = 4096) -> bytes:
    """A small deterministic file that starts like an MP4."""
    seed = hashlib.sha256(name.encode()).digest()
    body = (seed * (size // len(seed) + 1))[: max(0, size - len(MP4_HEADER) - 8)]
    return MP4_HEADER + (len(body) + 8).to_bytes(4, "big") + b"mdat" + body


JPEG_BYTES = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f"
    "141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b08000100010101"
    "1100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504"
    "040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a2526"
    "2728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83848586878889"
    "8a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4"
    "e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)
