"""``/datasets``: upload a CSV, .npy or .npz training set, list, inspect and delete them.

An upload is refused as early as its size is known, and never loaded into the API process:

1. the owner's upload rate (429) and dataset count quota (413), and a parser (``service.parsers``; 503
   if every parser stays busy), all before the body is read (``service.admission``);
2. the file is copied to a temporary file in 1 MiB chunks, a CSV's values counted as they go
   (``core.datasizes.CsvCounter``: 413 past ``max_dataset_values``);
3. the parser process checks the size from the headers (413 naming ``max_dataset_values`` or
   ``max_features``), parses, summarizes and encodes it (422 saying what is wrong with the file);
4. the store publishes data, record and index entry in one script, within the byte quota (413) and only
   if Redis runs it before the client's deadline (else 503, and nothing is stored).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from core.datafiles import file_format
from core.datasizes import CsvCounter, DataLimits, OverCap
from core.store import QuotaExceeded, WriteTooLate
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.errors import NotFound, PayloadTooLarge, Unavailable, Unprocessable
from service.parsers import UploadParsers
from service.schemas import MAX_OFFSET, DatasetBrief, DatasetList, DatasetPublic, ErrorBody
from trainer.errors import DataError

router = APIRouter(prefix="/datasets", tags=["datasets"])

CHUNK = 1 << 20
EXAMPLE_CSV = "x1,x2,label\n0.0,1.0,0\n1.0,0.5,1\n2.0,-1.0,1\n-0.5,0.25,0\n"
NOT_FOUND = {404: {"model": ErrorBody, "description": "No dataset with that id."}}


def _spool(upload: UploadFile, path: str, filename: str, cap: int, limits: DataLimits) -> None:
    """Copy the upload to ``path``; PayloadTooLarge past ``cap`` bytes or (a CSV) past the values cap."""
    counter: CsvCounter | None = None
    size = 0
    with open(path, "wb") as out:
        while chunk := upload.file.read(CHUNK):
            if size == 0 and file_format(filename, chunk) == "csv":
                counter = CsvCounter(limits)
            size += len(chunk)
            if size > cap:
                raise PayloadTooLarge(f"the file is over the upload cap of {cap} bytes")
            if counter is not None:
                counter.add(chunk)
            out.write(chunk)


@contextlib.contextmanager
def _temporary_path() -> Iterator[str]:
    descriptor, path = tempfile.mkstemp(prefix="descent-upload-")
    os.close(descriptor)
    try:
        yield path
    finally:
        os.unlink(path)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetPublic,
    responses={
        413: {"model": ErrorBody, "description": "The file is over a cap, or the owner over a quota."},
        422: {"model": ErrorBody, "description": "The file cannot be trained on; the message says why."},
        429: {"model": ErrorBody, "description": "Over the owner's uploads per minute (Retry-After)."},
    },
    summary="Upload a dataset",
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"example": {"file": EXAMPLE_CSV}}}}},
)
async def upload_dataset(
    file: Annotated[
        UploadFile,
        File(
            description=".csv or .npy: one example per row, label (0/1) in the last column. "
            ".npz: arrays X (features × examples) and Y.",
            examples=[EXAMPLE_CSV],
        ),
    ],
    request: Request,
    response: Response,
    store: StoreDep,
    settings: SettingsDep,
    owner: OwnerDep,
) -> DatasetPublic:
    """Check the file with the trainer's rules and store it; train on it with ``{"dataset": {"id": …}}``.

    Kept for ``dataset_ttl_seconds`` after the upload or the last job that used it.
    """
    filename = file.filename or ""
    limits = DataLimits(settings.max_dataset_values, settings.max_features)
    parsers: UploadParsers = request.app.state.parsers
    try:
        with _temporary_path() as path:
            await run_in_threadpool(_spool, file, path, filename, settings.max_upload_bytes, limits)
            prepared = await parsers.prepare(
                request.state.upload_parser, path, filename, limits, settings.dataset_summary_features
            )
    except OverCap as exc:
        raise PayloadTooLarge(str(exc)) from None
    except DataError as exc:
        raise Unprocessable(str(exc), loc=("body", "file")) from None
    try:
        record = await run_in_threadpool(
            lambda: store.create_dataset(
                prepared.npz,
                n_features=prepared.n_features,
                n_examples=prepared.n_examples,
                filename=filename,
                source_format=prepared.source_format,
                summary=prepared.summary,
                owner=owner,
            )
        )
    except QuotaExceeded as exc:
        raise PayloadTooLarge(str(exc)) from None
    except WriteTooLate as exc:
        raise Unavailable(f"the job store (Redis) was too slow: {exc}; retry shortly") from None
    response.headers["Location"] = f"/datasets/{record.id}"
    return DatasetPublic.of(record)


@router.get("", response_model=DatasetList, summary="List datasets, newest first")
def list_datasets(
    store: StoreDep,
    owner: OwnerDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DatasetList:
    """One page of uploaded datasets, without their summaries (``GET /datasets/{id}`` has it)."""
    records, total = store.list_datasets(owner=owner, offset=offset, limit=limit)
    return DatasetList(items=[DatasetBrief.of(r) for r in records], total=total, offset=offset, limit=limit)


@router.get(
    "/{dataset_id}",
    response_model=DatasetPublic,
    responses=NOT_FOUND,
    summary="A dataset's shape and summary",
)
def get_dataset(dataset_id: str, store: StoreDep, owner: OwnerDep) -> DatasetPublic:
    """Shape (features, examples) and a summary (class counts, statistics of the first features)."""
    record = store.get_dataset(dataset_id, owner=owner)
    if record is None:
        raise NotFound(f"no dataset with id {dataset_id!r}")
    return DatasetPublic.of(record)


@router.delete(
    "/{dataset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
    summary="Delete a dataset",
)
def delete_dataset(dataset_id: str, store: StoreDep, owner: OwnerDep) -> Response:
    """Delete the dataset now (its data, record and place in listings); jobs still queued on it fail."""
    if not store.delete_dataset(dataset_id, owner):
        raise NotFound(f"no dataset with id {dataset_id!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
