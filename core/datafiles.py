"""The one reader of data files (uploads to the API and files given to the CLI), and their summary.

Accepted files (the format comes from the file name's extension, or else from the content):

* ``.csv``  one example per row, numbers separated by commas, the LAST column is the 0/1 label; a first
  line that is not all numbers is a header, and skipped.
* ``.npy``  a 2-D numeric array laid out like the CSV: rows are examples, the last column is the label.
* ``.npz``  arrays ``X`` (features × examples, the trainer's layout) and ``Y`` ((1, m) or (m,)).

Every file is checked with ``trainer.data.check_arrays``; a problem is a ``DataError`` whose message says
what is wrong. Nothing is unpickled (``allow_pickle=False``). With ``limits`` (the API's uploads), the
size is checked before anything is loaded (``core.datasizes``: the headers of a .npy or .npz, the first
line's columns of a CSV) and again, exactly, once parsed: over a cap is an ``OverCap``. A CSV is parsed
once, by numpy's C reader over the text (no list of lines).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePath
from typing import Any, Literal, get_args

import numpy as np

from core.datasizes import DataLimits, check_npy, check_npz
from trainer.data import check_arrays
from trainer.errors import DataError

DataFormat = Literal["csv", "npy", "npz"]
FORMATS: tuple[str, ...] = get_args(DataFormat)


def file_format(filename: str, data: bytes) -> str:
    """``csv``, ``npy`` or ``npz``: the file name's extension if it is one of these, else the content's
    magic bytes (``\\x93NUMPY`` for .npy, a zip header for .npz), else CSV."""
    suffix = PurePath(filename or "").suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if data.startswith(b"PK\x03\x04"):
        return "npz"
    return "csv"


def _rows_to_arrays(table: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows = examples, last column = label → X (n_x, m), Y (1, m)."""
    if table.ndim != 2 or table.shape[1] < 2:
        raise DataError(
            f"{what} must be a table with one example per row and at least 2 columns (features, then the "
            f"label); got shape {table.shape}"
        )
    return table[:, :-1].T, table[:, -1]


def _parse_csv(data: bytes, limits: DataLimits | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("the CSV file is not UTF-8 text") from None
    first, start, after = _next_line(text, 0)
    if first is None:
        raise DataError("the CSV file is empty")
    _check_columns(first, limits)
    if not _is_number_row(first):  # a header: the examples start on the next line
        line, start, _ = _next_line(text, after)
        if line is None:
            raise DataError("the CSV file has a header row but no examples")
        _check_columns(line, limits)
    try:
        table = np.loadtxt(io.StringIO(text[start:]), delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"the CSV file must hold numbers separated by commas: {exc}") from None
    if limits is not None:
        limits.check(table.size, table.shape[1] - 1, "the CSV file")
    return _rows_to_arrays(table, "the CSV file")


def _next_line(text: str, start: int) -> tuple[str | None, int, int]:
    """The first non-blank line at or after ``start``, where it starts and the index just past it; None
    at the end."""
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if text[start:end].strip():
            return text[start:end], start, end + 1
        start = end + 1
    return None, start, start


def _check_columns(line: str, limits: DataLimits | None) -> None:
    """OverCap before parsing if a line's columns (features, then the label) are over max_features."""
    if limits is not None:
        limits.check(0, line.count(","), "the CSV file")


def _is_number_row(line: str) -> bool:
    """Whether a CSV line is all numbers (else it is a header)."""
    try:
        [float(field) for field in line.split(",")]
    except ValueError:
        return False
    return True


def _parse_npy(data: bytes, limits: DataLimits | None) -> tuple[np.ndarray, np.ndarray]:
    check_npy(data, limits)
    try:
        table = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"not a readable .npy file (object arrays are refused): {exc}") from None
    return _rows_to_arrays(table, "the .npy array")


def _parse_npz(data: bytes, limits: DataLimits | None) -> tuple[np.ndarray, np.ndarray]:
    check_npz(data, limits)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return npz["X"], npz["Y"]
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable .npz file (object arrays are refused): {exc}") from None


_PARSERS = {"csv": _parse_csv, "npy": _parse_npy, "npz": _parse_npz}


def parse(data: bytes, source_format: str, limits: DataLimits | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The checked float64 arrays X (n_x, m) and Y (1, m) of a file's bytes in ``source_format``; with
    ``limits``, OverCap as soon as the file's size is known to pass them (before it is loaded)."""
    X, Y = _PARSERS[source_format](data, limits)
    return check_arrays(X, Y)


def read_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The checked arrays of a data file on disk; DataError saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return parse(data, file_format(path.name, data))


def summarize(X: np.ndarray, Y: np.ndarray, max_features: int | None = None) -> dict[str, Any]:
    """Class counts, and the mean, standard deviation, minimum and maximum of the first ``max_features``
    features (all without a cap): a summary's size does not grow with the data's width."""
    positives = int(Y.sum())
    shown = X if max_features is None else X[:max_features]
    return {
        "positives": positives,
        "negatives": int(Y.size - positives),
        "features_summarized": int(shown.shape[0]),
        "feature_mean": shown.mean(axis=1).tolist(),
        "feature_std": shown.std(axis=1).tolist(),
        "feature_min": shown.min(axis=1).tolist(),
        "feature_max": shown.max(axis=1).tolist(),
    }
