"""How many numbers a data file holds, known before anything is loaded, and the caps on it.

* ``.npy``: the header (magic, then ``{'descr', 'fortran_order', 'shape'}``) gives the shape and the
  dtype: values = ∏ shape. Only numeric dtypes (bool, int, uint, float) are accepted, so the bytes are at
  most 8 × values (16 for ``longdouble``).
* ``.npz``: a zip. For ``X`` and ``Y`` only, the member's own ``.npy`` header is read by decompressing its
  first bytes, and its declared uncompressed size (the zip's central directory) must equal the header
  plus values × itemsize. ``zipfile`` never inflates a member past its declared size (a member that holds
  more fails its CRC), so loading it later inflates exactly what was checked: a zip bomb is refused from
  its headers, never inflated.
* CSV: every value is followed by a comma or a line break, so values ≤ commas + line breaks + 1;
  :class:`CsvCounter` counts them over the bytes as they arrive (C speed: ``bytes.count``).

A file over a cap raises :class:`OverCap` (a ``DataError`` the API answers with 413) naming the setting;
a header that cannot be read raises ``DataError`` (422).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass

import numpy as np

from trainer.errors import DataError

NUMERIC_KINDS = "biuf"
"""dtype kinds a data file may hold: bool, signed and unsigned integers, floats."""
MAX_HEADER_BYTES = 10_000
"""numpy's own limit on a ``.npy`` header (``max_header_size``)."""


class OverCap(DataError):
    """A data file over one of :class:`DataLimits`; the message names the setting and its value."""


@dataclass(frozen=True)
class DataLimits:
    """Caps on an uploaded data file (``Settings.max_dataset_values``, ``Settings.max_features``)."""

    max_values: int
    max_features: int

    def check(self, values: int, features: int, what: str) -> None:
        """OverCap if ``features`` > max_features or ``values`` > max_values."""
        if features > self.max_features:
            raise OverCap(f"{what} has {features} features, over the cap max_features = {self.max_features}")
        if values > self.max_values:
            raise OverCap(
                f"{what} holds {values} numbers, over the cap max_dataset_values = {self.max_values}"
            )


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header declares, and the header's own length in bytes."""

    shape: tuple[int, ...]
    dtype: np.dtype
    header_bytes: int

    @property
    def values(self) -> int:
        return math.prod(self.shape)

    @property
    def data_bytes(self) -> int:
        return self.values * self.dtype.itemsize


def read_npy_header(stream: io.RawIOBase | io.BufferedIOBase, what: str) -> NpyHeader:
    """The header at the start of ``stream`` (left just after it); DataError if it is not a numeric
    array's ``.npy`` header."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=MAX_HEADER_BYTES)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=MAX_HEADER_BYTES)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise DataError(f"{what} is not a readable .npy array: {exc}") from None
    if dtype.hasobject:
        raise DataError(f"{what} holds Python objects (object arrays are refused); it must hold numbers")
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(f"{what} must hold numbers, got an array of dtype {dtype}")
    return NpyHeader(tuple(int(n) for n in shape), dtype, stream.tell())


def check_npy(data: bytes, limits: DataLimits | None) -> NpyHeader:
    """The header of a ``.npy`` file of rows (examples) × columns (features, then the label), checked
    against ``limits`` and against the file's length."""
    header = read_npy_header(io.BytesIO(data), "the .npy file")
    if len(header.shape) != 2 or header.shape[1] < 2:
        raise DataError(
            "the .npy array must be a table with one example per row and at least 2 columns (features, "
            f"then the label); got shape {header.shape}"
        )
    if limits is not None:
        limits.check(header.values, header.shape[1] - 1, "the .npy array")
    if len(data) != header.header_bytes + header.data_bytes:
        raise DataError(
            f"the .npy file is {len(data)} bytes, but its header declares {header.data_bytes} bytes of "
            f"data after a {header.header_bytes}-byte header (truncated or damaged)"
        )
    return header


def check_npz(data: bytes, limits: DataLimits | None) -> dict[str, NpyHeader]:
    """The headers of members ``X`` and ``Y`` of a ``.npz``, read without inflating their data, checked
    against ``limits`` and against their declared sizes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"not a readable .npz file: {exc}") from None
    with archive:
        names = sorted({info.filename.removesuffix(".npy") for info in archive.infolist()})
        if not {"X", "Y"} <= set(names):
            raise DataError(f"the .npz file must hold arrays X and Y; it has {names[:20]}")
        members = {name: _member(archive, name) for name in ("X", "Y")}
    X, Y = members["X"][0], members["Y"][0]
    if limits is not None:
        limits.check(X.values + Y.values, X.shape[0] if len(X.shape) == 2 else 0, "the .npz file")
    for name, (header, declared) in members.items():
        if declared != header.header_bytes + header.data_bytes:
            raise DataError(
                f"array {name} of the .npz file declares shape {header.shape} ({header.data_bytes} bytes), "
                f"but the zip says it holds {declared - header.header_bytes} bytes of data (damaged)"
            )
    return {name: header for name, (header, _) in members.items()}


def _member(archive: zipfile.ZipFile, name: str) -> tuple[NpyHeader, int]:
    """Member ``name``'s header and its declared uncompressed size; the member is the one ``np.load``
    reads for ``npz[name]`` (``name`` itself if the zip has it, else ``name.npy``)."""
    info = archive.getinfo(name if name in archive.namelist() else f"{name}.npy")
    what = f"array {name} of the .npz file"
    try:
        with archive.open(info) as stream:
            return read_npy_header(stream, what), info.file_size  # type: ignore[arg-type]
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        raise DataError(f"{what} cannot be read: {exc}") from None


class CsvCounter:
    """Counts a CSV's values (≤ commas + line breaks + 1) over chunks of its bytes as they arrive, and
    raises OverCap as soon as the count passes ``max_values`` plus a header's allowance
    (``max_features`` + 2 fields: a header line's names are counted too)."""

    def __init__(self, limits: DataLimits) -> None:
        self.limits = limits
        self.bound = 1
        self.allowance = limits.max_values + limits.max_features + 2

    def add(self, chunk: bytes) -> None:
        self.bound += chunk.count(b",") + chunk.count(b"\n")
        if self.bound > self.allowance:
            raise OverCap(
                f"the CSV file holds more than {self.limits.max_values} numbers (its commas and line "
                f"breaks counted as it arrives), over the cap max_dataset_values = {self.limits.max_values}"
            )
