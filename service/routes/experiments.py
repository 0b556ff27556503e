"""``/experiments``: compare optimizers and sweep hyperparameters as one resource.

An experiment's members are ordinary jobs (``/jobs/{id}`` works on each); the workers train members that
share their data and shape as one stacked computation (``core.queue``, ``worker.stacks``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from core.data import data_shape
from core.errors import InvalidMembers, SpecRejected
from core.experiments.members import Member, expand
from core.experiments.request import ExperimentCreate
from core.experiments.table import experiment_status, row, sorted_rows
from core.plots import MEDIA_TYPES, PlotFormat, cost_plot
from core.queue import JobQueue
from core.spec import check_caps
from core.statuses import FINISHED, QUEUED
from core.store import ExperimentRecord, JobRecord, JobStore
from service.deps import JobsDep, OwnerDep, SettingsDep, StoreDep
from service.errors import NotFound
from service.experiment_schemas import (
    ExperimentCosts,
    ExperimentList,
    ExperimentPublic,
    MemberCosts,
    MemberPublic,
    TableRow,
    summary_of,
)
from service.idempotency import Claim, IdempotencyKeyHeader, fingerprint
from service.limits import check_submission, within_caps
from service.openapi import RETRY_AFTER
from service.routes.plots import IMAGES
from service.schemas import MAX_EPOCH, MAX_OFFSET, CostPoint, ErrorBody, Progress

router = APIRouter(prefix="/experiments", tags=["experiments"])

NOT_FOUND = {404: {"model": ErrorBody, "description": "No experiment with that id."}}
TableOrder = Literal[
    "label",
    "-label",
    "accuracy",
    "-accuracy",
    "validation_accuracy",
    "-validation_accuracy",
    "final_cost",
    "-final_cost",
    "roughness",
    "-roughness",
    "epochs_to_converge",
    "-epochs_to_converge",
    "seconds",
    "-seconds",
]


def find_experiment(store: JobStore, experiment_id: str, owner: str) -> ExperimentRecord:
    """The owner's experiment, or a 404."""
    record = store.get_experiment(experiment_id, owner=owner)
    if record is None:
        raise NotFound(f"no experiment with id {experiment_id!r}")
    return record


def _members(store: JobStore, record: ExperimentRecord) -> list[JobRecord]:
    """The members' job records (an expired member is dropped)."""
    jobs = store.get_jobs([member.job_id for member in record.members])
    return [job for job in jobs if job is not None]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExperimentPublic,
    responses={
        202: {
            "description": "Queued: every member is a job; a retry with the same Idempotency-Key gets the "
            "same experiment.",
            "headers": {"Location": {"schema": {"type": "string"}, "description": "The experiment's URL."}},
        },
        409: {"model": ErrorBody, "description": "A request with this Idempotency-Key is in flight."},
        422: {"model": ErrorBody, "description": "A member is invalid or over a cap; the loc names it."},
        429: {"model": ErrorBody, "description": "Over the submission rate.", "headers": RETRY_AFTER},
        503: {
            "model": ErrorBody,
            "description": "The queue is full or Redis is down.",
            "headers": RETRY_AFTER,
        },
    },
    summary="Start an experiment: a comparison or a sweep",
)
def create_experiment(
    body: ExperimentCreate,
    response: Response,
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
    owner: OwnerDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ExperimentPublic:
    """Expand the body into members (``base`` × variants × grid × random draws; ``{}`` is the course's
    gd/momentum/Adam comparison), check each as a job, and queue them as stacks."""
    members = expand(body, settings.max_experiment_members)
    _check_members(members, store, settings, owner)
    claim = None
    if idempotency_key is not None:
        claim = Claim(
            store,
            owner,
            f"experiments:{idempotency_key}",
            fingerprint(body),
            settings.idempotency_ttl_seconds,
        )
        first = claim.take()
        found = None if first is None else store.get_experiment(first, owner=owner)
        if found is not None:
            response.headers["Idempotent-Replayed"] = "true"
            response.headers["Location"] = f"/experiments/{found.id}"
            return _public(store, found, "label")
    try:
        record = _submit(jobs, body, members, owner)
    except BaseException:
        if claim is not None:
            claim.release()
        raise
    if claim is not None:
        claim.complete(record.id)
    response.headers["Location"] = f"/experiments/{record.id}"
    return _public(store, record, "label")


def _check_members(members: list[Member], store: JobStore, settings, owner: str) -> None:
    """Every member within the job caps, and all of them within the experiment's total work."""
    errors, work = [], 0
    for index, member in enumerate(members):
        try:
            n_features, n_examples = data_shape(store, member.spec, owner)
            check_caps(member.spec, settings, n_features, n_examples)
        except SpecRejected as exc:
            errors.append({"loc": ("members", index, *exc.loc), "msg": exc.msg, "type": "value_error"})
            continue
        work += member.spec.epochs * n_examples
    if errors:
        raise InvalidMembers(errors)
    if work > settings.max_experiment_epoch_examples:
        raise SpecRejected(
            (),
            f"the members' epochs × examples add up to {work}, over the cap of "
            f"{settings.max_experiment_epoch_examples} (max_experiment_epoch_examples)",
        )


def _submit(jobs: JobQueue, body: ExperimentCreate, members: list[Member], owner: str) -> ExperimentRecord:
    check_submission(jobs, owner)
    with within_caps():
        record, _ = jobs.submit_experiment(body.name, body.model_dump(mode="json"), members, owner)
    return record


def _public(store: JobStore, record: ExperimentRecord, sort: str) -> ExperimentPublic:
    jobs = store.get_jobs([member.job_id for member in record.members])
    pairs = [(m, j) for m, j in zip(record.members, jobs, strict=True) if j is not None]
    points = store.costs_of([m.job_id for m, _ in pairs])
    rows = [row(m, j, p) for (m, j), p in zip(pairs, points, strict=True)]
    statuses = [j.status for _, j in pairs]
    return ExperimentPublic.of(
        record,
        experiment_status(statuses) if statuses else QUEUED,
        [MemberPublic.of(m, j) for m, j in pairs],
        [TableRow.of(r) for r in sorted_rows(rows, sort)],
    )


@router.get("", response_model=ExperimentList, summary="List experiments, newest first")
def list_experiments(
    store: StoreDep,
    owner: OwnerDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ExperimentList:
    """One page of the owner's experiments with their status and member counts."""
    records, total = store.list_experiments(owner=owner, offset=offset, limit=limit)
    items = []
    for record in records:
        found = store.statuses([member.job_id for member in record.members])
        statuses = [s for s in found if s is not None]
        items.append(summary_of(record, experiment_status(statuses) if statuses else QUEUED, statuses))
    return ExperimentList(items=items, total=total, offset=offset, limit=limit)


@router.get(
    "/{experiment_id}",
    response_model=ExperimentPublic,
    responses=NOT_FOUND,
    summary="An experiment and its table",
)
def get_experiment(
    experiment_id: str,
    store: StoreDep,
    owner: OwnerDep,
    sort: Annotated[TableOrder, Query(description="Order the table by a column; -col descends.")] = "label",
) -> ExperimentPublic:
    """Status (from the members'), members with their specs and results, and the comparison table."""
    return _public(store, find_experiment(store, experiment_id, owner), sort)


@router.get(
    "/{experiment_id}/costs",
    response_model=ExperimentCosts,
    responses=NOT_FOUND,
    summary="Every member's costs",
)
def get_experiment_costs(
    experiment_id: str,
    store: StoreDep,
    owner: OwnerDep,
    since: Annotated[int, Query(ge=0, le=MAX_EPOCH, description="Only points with epoch > since.")] = 0,
) -> ExperimentCosts:
    """Every member's points recorded after epoch ``since``, in one answer: a dashboard polls once."""
    record = find_experiment(store, experiment_id, owner)
    pages = store.costs_pages([m.job_id for m in record.members], since)
    members = []
    for member, page in zip(record.members, pages, strict=True):
        if page is None:  # an expired member is dropped
            continue
        cost_points = [
            CostPoint(epoch=e, cost=c if c == c and abs(c) != float("inf") else None) for e, c in page.points
        ]
        members.append(
            MemberCosts(
                job_id=member.job_id,
                label=member.label,
                status=page.status,  # type: ignore[arg-type]
                progress=Progress(epoch=page.epoch, epochs=page.epochs),
                points=cost_points,
                next_since=page.points[-1][0] if page.points else since,
            )
        )
    statuses = [m.status for m in members]
    return ExperimentCosts(
        experiment_id=experiment_id,
        status=experiment_status(statuses) if statuses else QUEUED,  # type: ignore[arg-type]
        since=since,
        members=members,
        next_since=min((m.next_since for m in members), default=since),
    )


@router.delete(
    "/{experiment_id}",
    response_model=ExperimentPublic,
    responses={**NOT_FOUND, 202: {"model": ExperimentPublic, "description": "Members still stopping."}},
    summary="Cancel every unfinished member",
)
def cancel_experiment(
    experiment_id: str, response: Response, store: StoreDep, jobs: JobsDep, owner: OwnerDep
) -> ExperimentPublic:
    """Queued members never run; running members stop within a second, keeping their costs."""
    record = find_experiment(store, experiment_id, owner)
    for job in _members(store, record):
        if job.status in FINISHED:
            continue
        store.request_cancel(job.id)
        if job.status == QUEUED and store.mark_canceled(job.id):
            jobs.withdraw(job.id)
    public = _public(store, record, "label")
    if any(member.status not in FINISHED for member in public.members):
        response.status_code = status.HTTP_202_ACCEPTED
    return public


@router.get(
    "/{experiment_id}/plot",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: IMAGES,
    },
    summary="The members' cost curves on one chart",
)
def plot_experiment(
    experiment_id: str,
    store: StoreDep,
    owner: OwnerDep,
    format: Annotated[PlotFormat, Query(description="svg or png.")] = "svg",
    log: Annotated[bool, Query(description="Logarithmic cost axis.")] = False,
) -> Response:
    """One labelled line per member, drawn from the points recorded so far."""
    record = find_experiment(store, experiment_id, owner)
    points = store.costs_of([member.job_id for member in record.members])
    series = {
        member.label: member_points for member, member_points in zip(record.members, points, strict=True)
    }
    title = record.name or f"Experiment {experiment_id[:8]}"
    image = cost_plot(series, title=title, log_scale=log, fmt=format)
    return Response(image, media_type=MEDIA_TYPES[format], headers={"Cache-Control": "no-store"})
