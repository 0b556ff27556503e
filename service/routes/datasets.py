"""``/datasets``: upload a CSV, .npy or .npz training set (format in ``service.uploads``), list, inspect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from core.datafiles import file_format, parse, summarize
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.errors import NotFound, PayloadTooLarge, Unprocessable
from service.schemas import MAX_OFFSET, DatasetList, DatasetPublic, ErrorBody
from trainer.errors import DataError

router = APIRouter(prefix="/datasets", tags=["datasets"])

CHUNK = 1 << 20
EXAMPLE_CSV = "x1,x2,label\n0.0,1.0,0\n1.0,0.5,1\n2.0,-1.0,1\n-0.5,0.25,0\n"


def _read_capped(upload: UploadFile, cap: int) -> bytes:
    """The file's bytes; PayloadTooLarge as soon as it is over ``cap``."""
    chunks, size = [], 0
    while chunk := upload.file.read(CHUNK):
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"the file is over the upload cap of {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetPublic,
    responses={
        413: {"model": ErrorBody, "description": "The file is over the upload cap."},
        422: {"model": ErrorBody, "description": "The file cannot be trained on; the message says why."},
    },
    summary="Upload a dataset",
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"example": {"file": EXAMPLE_CSV}}}}},
)
def upload_dataset(
    file: Annotated[
        UploadFile,
        File(
            description=".csv or .npy: one example per row, label (0/1) in the last column. "
            ".npz: arrays X (features × examples) and Y.",
            examples=[EXAMPLE_CSV],
        ),
    ],
    response: Response,
    store: StoreDep,
    settings: SettingsDep,
    owner: OwnerDep,
) -> DatasetPublic:
    """Check the file with the trainer's rules and store it; train on it with ``{"dataset": {"id": …}}``."""
    filename = file.filename or ""
    data = _read_capped(file, settings.max_upload_bytes)
    try:
        source_format = file_format(filename, data)
        X, Y = parse(data, source_format)
    except DataError as exc:
        raise Unprocessable(str(exc), loc=("body", "file")) from None
    record = store.create_dataset(
        X, Y, filename=filename, source_format=source_format, summary=summarize(X, Y), owner=owner
    )
    response.headers["Location"] = f"/datasets/{record.id}"
    return DatasetPublic.of(record)


@router.get("", response_model=DatasetList, summary="List datasets, newest first")
def list_datasets(
    store: StoreDep,
    owner: OwnerDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DatasetList:
    """One page of uploaded datasets."""
    records, total = store.list_datasets(owner=owner, offset=offset, limit=limit)
    return DatasetList(items=[DatasetPublic.of(r) for r in records], total=total, offset=offset, limit=limit)


@router.get(
    "/{dataset_id}",
    response_model=DatasetPublic,
    responses={404: {"model": ErrorBody, "description": "No dataset with that id."}},
    summary="A dataset's shape and summary",
)
def get_dataset(dataset_id: str, store: StoreDep, owner: OwnerDep) -> DatasetPublic:
    """Shape (features, examples) and a summary (class counts, per-feature statistics)."""
    record = store.get_dataset(dataset_id, owner=owner)
    if record is None:
        raise NotFound(f"no dataset with id {dataset_id!r}")
    return DatasetPublic.of(record)
