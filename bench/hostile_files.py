"""What a hostile client sends (issue 15), built in milliseconds: zip bombs, lying headers, huge bodies.

The ``.npz`` bombs are real zip files that ``numpy.load`` would inflate in full (checked by
``tests/security/test_hostile_files.py`` on a small one): each member is raw deflate of a ``.npy`` header
followed by zeros, written as one compressed block of the header and then the same compressed block for
every chunk of zeros (``Z_FULL_FLUSH`` resets the compressor, so each chunk compresses to the same
bytes), with the CRC-32 of the whole computed by zlib's ``crc32_combine`` algorithm (in Python, since
``zlib`` does not expose it). Building the 3.2 GB bomb this way takes milliseconds instead of a minute.
"""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np

ZIP64 = 0xFFFFFFFF
CHUNK = 160_000
"""Bytes of zeros per repeated deflate block (a row of 20000 float64)."""


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from crc1 = CRC-32(A), crc2 = CRC-32(B) and len(B) (zlib's crc32_combine)."""
    if length2 == 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:  # apply length2 zero bytes to crc1
        even = _gf2_square(odd)
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def crc32_of_zeros(length: int) -> int:
    """CRC-32 of ``length`` zero bytes: combined by doubling from one chunk's."""
    total, block, block_length = 0, zlib.crc32(bytes(CHUNK)), CHUNK
    chunks, rest = divmod(length, CHUNK)
    while chunks:
        if chunks & 1:
            total = crc32_combine(total, block, block_length)
        chunks >>= 1
        if chunks:
            block = crc32_combine(block, block, block_length)
            block_length *= 2
    return crc32_combine(total, zlib.crc32(bytes(rest)), rest)


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A version 1.0 ``.npy`` header for an array of ``shape`` (what ``np.save`` writes before the data)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def zeros_member(shape: tuple[int, ...]) -> tuple[bytes, int, int]:
    """A ``.npy`` of float64 zeros of ``shape`` as raw deflate: (compressed, CRC-32, uncompressed size)."""
    header = npy_header(shape)
    data_bytes = math.prod(shape) * 8
    chunks, rest = divmod(data_bytes, CHUNK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(CHUNK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FINISH)
    crc = crc32_combine(zlib.crc32(header), crc32_of_zeros(data_bytes), data_bytes)
    return first + block * chunks + last, crc, len(header) + data_bytes


def deflated_zip(members: dict[str, tuple[bytes, int, int]]) -> bytes:
    """A zip of already-deflated members (name → compressed, CRC-32, size), with zip64 sizes."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, (compressed, crc, size) in members.items():
        offset = out.tell()
        encoded = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, size, len(compressed))
        out.write(
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, ZIP64, ZIP64, len(encoded), len(extra)
            )
        )
        out.write(encoded + extra + compressed)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, crc, ZIP64, ZIP64,
                len(encoded), len(extra), 0, 0, 0, 0, offset,
            )
        )  # fmt: skip
        central.write(encoded + extra)
    start = out.tell()
    out.write(central.getvalue())
    count = len(members)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central.getvalue()), start, 0))
    return out.getvalue()


def zeros_npz(x_shape: tuple[int, int], y_shape: tuple[int, ...]) -> bytes:
    """An ``.npz`` of float64 zeros ``X`` and ``Y`` (a valid training set's layout, inflated in full by
    ``np.load``), a few kilobytes per gigabyte."""
    return deflated_zip({"X.npy": zeros_member(x_shape), "Y.npy": zeros_member(y_shape)})


def zip_bomb() -> bytes:
    """Finding 2: X of 20000 × 20000 zeros (3.2 GB inflated) and Y of 20000, about 3.4 MB."""
    return zeros_npz((20_000, 20_000), (20_000,))


def tiny_huge_npz() -> bytes:
    """Finding 1: X of 1 × 20,000,000 zeros and Y of 20,000,000 (320 MB inflated), about 340 KB."""
    return zeros_npz((1, 20_000_000), (20_000_000,))


def lying_npy() -> bytes:
    """Finding 9: a ``.npy`` whose header claims (10⁶, 10⁶) float64 (8 TB), followed by 800 bytes."""
    return npy_header((10**6, 10**6)) + bytes(800)


def wide_csv(columns: int = 10_000_000) -> bytes:
    """Finding 4: one CSV line of ``columns`` values (20 MB at 10M)."""
    return b"0," * (columns - 1) + b"1\n"


def long_csv(lines: int = 10_000_000) -> bytes:
    """Finding 8: ``lines`` short lines (40 MB at 10M) with a bad last line."""
    return b"0,1\n" * (lines - 1) + b"0,x\n"


def zeros_json_array(values: int) -> bytes:
    """``[0,0,…,0]`` of ``values`` zeros: two bytes a value."""
    return b"[" + b"0," * (values - 1) + b"0]"


def predict_body(values: int = 16_000_000) -> bytes:
    """Finding 7: a predict body of one feature row of ``values`` zeros (32 MB at 16M)."""
    return b'{"X": [' + zeros_json_array(values) + b"]}"


def inline_job_body(values: int = 16_000_000) -> bytes:
    """Finding 7: a job whose inline data holds ``values`` zeros (one feature; 32 MB at 16M)."""
    return b'{"dataset": {"X": [' + zeros_json_array(values) + b'], "Y": ' + zeros_json_array(values) + b"}}"
