"""An uploaded file turned into what the store keeps, in a parser process (``python -m core.uploads``) that
the API runs (``service.parsers``), so neither the file's bytes nor its arrays ever live in the API.

:func:`prepare` reads the spooled file, finds its format (``core.datafiles.file_format``), parses it
within the limits (sizes known before loading: ``core.datasizes``), summarizes it and encodes the arrays
as the stored ``.npz``. Every failure is a ``DataError`` saying why: ``OverCap`` for a cap (a
``MemoryError`` too, since only a size can cause one), any other parser exception as the file's problem.

The process protocol (:func:`main`), one request at a time, nothing pickled:

* request, one JSON line on stdin: ``{"path", "filename", "max_values", "max_features", "summary_features"}``;
* answer on stdout: one JSON line, ``{"ok": true, "format", "n_features", "n_examples", "summary",
  "npz_bytes": N}`` followed by the N bytes of the ``.npz``, or ``{"ok": false, "over_cap": bool,
  "message"}``.

The process reads requests until stdin closes.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from core.datafiles import file_format, parse, summarize
from core.datasizes import DataLimits, OverCap
from trainer.errors import DataError

NICE = 10
"""How much lower than the API's the parser process's CPU priority is (``os.nice``)."""


@dataclass(frozen=True)
class PreparedDataset:
    """A checked upload: its format, shape, bounded summary and the ``.npz`` bytes to store."""

    source_format: str
    n_features: int
    n_examples: int
    summary: dict[str, Any]
    npz: bytes


def prepare(path: str, filename: str, limits: DataLimits, summary_features: int) -> PreparedDataset:
    """Parse the file at ``path`` (named ``filename`` by the client) into a :class:`PreparedDataset`."""
    data = Path(path).read_bytes()
    source_format = file_format(filename, data)
    try:
        X, Y = parse(data, source_format, limits)
    except DataError:
        raise
    except MemoryError:
        raise OverCap(
            f"the {source_format} file does not fit in the parser's memory; make it smaller "
            f"(max_dataset_values = {limits.max_values})"
        ) from None
    except Exception as exc:  # whatever a parser raises, the file caused it
        raise DataError(f"the file cannot be read as {source_format}: {type(exc).__name__}: {exc}") from None
    del data
    buffer = io.BytesIO()
    np.savez(buffer, X=X, Y=Y)  # the store's format (core.store.base.arrays_to_npz)
    return PreparedDataset(
        source_format=source_format,
        n_features=int(X.shape[0]),
        n_examples=int(X.shape[1]),
        summary=summarize(X, Y, summary_features),
        npz=buffer.getvalue(),
    )


def answer(request: dict[str, Any], out: BinaryIO) -> None:
    """Prepare one request's file and write the answer (the protocol above) to ``out``."""
    limits = DataLimits(int(request["max_values"]), int(request["max_features"]))
    try:
        prepared = prepare(
            str(request["path"]), str(request["filename"]), limits, int(request["summary_features"])
        )
    except DataError as exc:
        refusal = {"ok": False, "over_cap": isinstance(exc, OverCap), "message": str(exc)}
        out.write(json.dumps(refusal).encode() + b"\n")
    else:
        header = {
            "ok": True,
            "format": prepared.source_format,
            "n_features": prepared.n_features,
            "n_examples": prepared.n_examples,
            "summary": prepared.summary,
            "npz_bytes": len(prepared.npz),
        }
        out.write(json.dumps(header).encode() + b"\n")
        out.write(prepared.npz)
    out.flush()


def main() -> None:
    """Answer requests from stdin until it closes, at a lower CPU priority than the API (``NICE``): a
    parse is batch work, and on a busy machine the API's requests come first. Warnings would only clutter
    the API's log."""
    os.nice(NICE)
    warnings.simplefilter("ignore")
    for line in sys.stdin.buffer:
        answer(json.loads(line), sys.stdout.buffer)


if __name__ == "__main__":
    main()
