"""Sizes known before loading: .npy and .npz headers, CSV values counted as they arrive; the hostile files
the benchmarks and tests send are what they claim to be."""

from __future__ import annotations

import io
import resource
import struct
import zipfile
import zlib

import numpy as np
import pytest

from bench import hostile_files as hostile
from core.datafiles import parse, summarize
from core.datasizes import CsvCounter, DataLimits, OverCap, check_npy, check_npz
from trainer.errors import DataError

LIMITS = DataLimits(max_values=1000, max_features=10)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_the_small_bomb_is_a_valid_npz_of_zeros() -> None:
    data = hostile.zeros_npz((300, 500), (500,))
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # every member's CRC-32 checks
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        assert arrays["X"].shape == (300, 500) and arrays["Y"].shape == (500,)
        assert not arrays["X"].any()


@pytest.mark.parametrize("length", [0, 1, 99, hostile.CHUNK, 3 * hostile.CHUNK + 17])
def test_crc_of_zeros_is_zlibs(length: int) -> None:
    assert hostile.crc32_of_zeros(length) == zlib.crc32(bytes(length))


def test_the_zip_bomb_is_refused_from_its_headers() -> None:
    bomb = hostile.zip_bomb()
    assert len(bomb) < 4_000_000
    info = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("X.npy")
    assert info.file_size == 20_000 * 20_000 * 8 + 128  # what np.load would inflate
    before = peak_rss_bytes()
    with pytest.raises(OverCap, match="400020000 numbers, over the cap max_dataset_values = 5000000"):
        check_npz(bomb, DataLimits(5_000_000, 20_000))
    assert peak_rss_bytes() - before < 50 * 2**20


def test_the_tiny_huge_npz_is_refused_from_its_headers() -> None:
    with pytest.raises(OverCap, match="40000000 numbers"):
        parse(hostile.tiny_huge_npz(), "npz", DataLimits(5_000_000, 20_000))


def test_npz_features_are_capped() -> None:
    data = npz(X=np.zeros((11, 3)), Y=np.zeros(3))
    with pytest.raises(OverCap, match="11 features, over the cap max_features = 10"):
        check_npz(data, LIMITS)
    assert check_npz(npz(X=np.zeros((10, 3)), Y=np.zeros(3)), LIMITS)["X"].shape == (10, 3)


def raw_deflate(data: bytes) -> tuple[bytes, int, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


def test_an_npz_member_whose_header_lies_about_its_size_is_refused() -> None:
    truncated = raw_deflate(hostile.npy_header((2, 4)) + bytes(48))  # a header of 8 values, data of 6
    lying = hostile.deflated_zip({"X.npy": truncated, "Y.npy": hostile.zeros_member((4,))})
    with pytest.raises(DataError, match=r"declares shape \(2, 4\) \(64 bytes\).*holds 48 bytes"):
        check_npz(lying, LIMITS)
    holds_8, declared_6 = hostile.zeros_member((2, 4)), hostile.zeros_member((2, 3))
    overlong = hostile.deflated_zip(
        {"X.npy": (holds_8[0], declared_6[1], declared_6[2]), "Y.npy": hostile.zeros_member((4,))}
    )
    with pytest.raises(DataError, match="cannot be read: Bad CRC-32"):  # zipfile stops at the declared size
        check_npz(overlong, LIMITS)


def test_a_lying_npy_header_is_refused_before_any_allocation() -> None:
    with pytest.raises(OverCap, match="features, over the cap"):
        check_npy(hostile.lying_npy(), LIMITS)
    with pytest.raises(OverCap, match="holds 1000000000000 numbers"):
        check_npy(hostile.lying_npy(), DataLimits(1000, 10**7))
    with pytest.raises(DataError, match="truncated or damaged"):  # within the caps, but the data is short
        check_npy(hostile.npy_header((10, 3)) + bytes(8), LIMITS)


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.array([["a", "b"]]), "must hold numbers"),
        (np.array([[1, None]], dtype=object), "object arrays are refused"),
        (np.zeros((2, 2), dtype=complex), "must hold numbers"),
        (np.zeros(5), "at least 2 columns"),
    ],
)
def test_npy_headers_of_non_tables_are_refused(array: np.ndarray, words: str) -> None:
    with pytest.raises(DataError, match=words):
        check_npy(npy(array), LIMITS)


def test_a_garbled_header_is_a_data_error() -> None:
    data = npy(np.zeros((2, 2)))
    broken = data[:10] + b"{'descr': <f8', 'shape': (2,2" + data[40:]
    with pytest.raises(DataError, match=r"not a readable \.npy"):
        check_npy(broken, LIMITS)
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        check_npz(b"PK\x03\x04" + struct.pack("<I", 7), LIMITS)


def test_csv_values_are_counted_as_they_arrive() -> None:
    counter = CsvCounter(DataLimits(max_values=100, max_features=10))
    for _ in range(3):
        counter.add(b"1,2,0\n" * 10)  # 1 + 90 commas and line breaks
    counter.add(b"1,2,0\n" * 7)  # 112: the values cap and a header's allowance
    with pytest.raises(OverCap, match="more than 100 numbers"):
        counter.add(b",")


def test_csv_caps_are_checked_exactly_once_parsed() -> None:
    rows = b"x1,x2,label\n" + b"1,2,0\n" * 333 + b"\n"
    X, _ = parse(rows, "csv", DataLimits(max_values=999, max_features=2))
    assert X.shape == (2, 333)
    with pytest.raises(OverCap, match="1002 numbers, over the cap max_dataset_values = 999"):
        parse(rows + b"1,2,0\n", "csv", DataLimits(max_values=999, max_features=2))
    with pytest.raises(OverCap, match="3 features, over the cap max_features = 2"):
        parse(b"1,2,3,0\n", "csv", DataLimits(max_values=999, max_features=2))


def test_a_csv_header_wider_than_the_cap_is_refused_before_parsing() -> None:
    with pytest.raises(OverCap, match="features, over the cap max_features = 10"):
        parse(hostile.wide_csv(1_000_000), "csv", LIMITS)


def test_the_summary_is_bounded_in_features() -> None:
    X, Y = np.arange(20.0).reshape(10, 2), np.array([[0.0, 1.0]])
    summary = summarize(X, Y, max_features=3)
    assert summary["features_summarized"] == 3 and summary["feature_max"] == [1.0, 3.0, 5.0]
    assert summarize(X, Y)["features_summarized"] == 10
