"""How work reaches a worker, and how it comes back: the one module that enqueues.

descent's job record (``core.store``) is the truth for a job's status; RQ carries the work. Every RQ job
runs ``worker.tasks.run_job(job_id)`` (JSON arguments, never pickle) with:

* ``retry=Retry(attempts left, enqueue_at_front=True)``: when a worker is lost, RQ's abandoned-job
  handling (``StartedJobRegistry.cleanup``, run by the workers, see ``worker.runner``) enqueues the job
  again at the front, and it resumes from its checkpoint;
* ``on_failure=``:func:`on_failure`, which RQ calls for an abandoned job before it retries or fails it:
  it brings the job record along (``queued`` again, or ``failed: worker lost N times; last seen at …``);
* ``job_timeout=-1``: the time limit is descent's own, derived from the job's size (``worker.timeouts``)
  and enforced between steps, so a step is never cut in half.

An experiment's members are ordinary job records; members that can train as one computation (the same
data and ``trainer.stack_key``) share one RQ job, ``worker.stacks.run_stack(stack_id)``, at most
``max_stack_members`` to a stack so that large groups spread across workers, and fewer when a stack of
that many would be over the caps on a run's estimated memory and time (:func:`stack_fits`).

:meth:`JobQueue.submit` writes the record and its RQ job in one MULTI/EXEC, as :meth:`JobQueue.hand_back`
does the status change and the new RQ job: Redis applies each pair whole or not at all, so no job is ever
queued with nothing to run it. A submission's MULTI is applied only while the owner's cap of active jobs
and the queue's cap hold (:meth:`JobQueue.admitted`, WATCH on what they count).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from redis import Redis, WatchError
from redis.client import Pipeline
from rq import Callback, Queue, Retry
from rq.exceptions import AbandonedJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker_registration import get_keys

from core.config import Settings, get_settings
from core.data import data_shape
from core.errors import QueueFull, SubmissionsBusy, TooManyActiveJobs
from core.experiments.members import Member
from core.spec import TrainingSpec
from core.spec.caps import run_fits
from core.statuses import FAILED, FINISHED, QUEUED, RUNNING
from core.store import ExperimentRecord, JobRecord, JobStore, MemberRef
from trainer import estimate_stack
from trainer.stacking import StackKey, stack_key

RUN_JOB = "worker.tasks.run_job"
RUN_STACK = "worker.stacks.run_stack"
ON_FAILURE = "core.queue.on_failure"
ADMIT_ATTEMPTS = 50
"""Times :meth:`JobQueue.admitted` checks and writes before it gives up on a busy owner or queue."""
ADMISSIONS = threading.Lock()
"""One admission at a time in a process: the threads of one API process would otherwise invalidate each
other's WATCHed keys and retry, every one of a burst of submissions against all the others."""

log = logging.getLogger(__name__)
T = TypeVar("T")


def stack_groups(
    members: Sequence[Member], max_stack: int, fits: Callable[[Sequence[Member]], bool] | None = None
) -> list[list[int]]:
    """Member indexes grouped into stacks: members on the same data with the same ``trainer.stack_key``
    (layers, mini-batches, epochs, recording, shuffle seed, validation split), in member order, at most
    ``max_stack`` to a stack, and each stack as long as ``fits`` it (the longest prefix of the rest that
    does, found by bisection after trying the longest: a stack's size grows with its members; a member
    alone always gets one)."""
    groups: dict[tuple[str, StackKey], list[int]] = {}
    for index, member in enumerate(members):
        key = (member.spec.dataset.model_dump_json(), stack_key(member.spec.to_train_config()))
        groups.setdefault(key, []).append(index)
    stacks: list[list[int]] = []
    for group in groups.values():
        while group:
            low, high = 1, min(max_stack, len(group))  # low: a length that is taken whatever fits says
            if fits is None or fits([members[i] for i in group[:high]]):
                low = high  # the common case, in one estimate: the longest stack allowed fits
            else:
                high -= 1
            while low < high:
                middle = (low + high + 1) // 2
                if fits is None or fits([members[i] for i in group[:middle]]):
                    low = middle
                else:
                    high = middle - 1
            stacks.append(group[:low])
            group = group[low:]
    return stacks


def stack_fits(store: JobStore, settings: Settings, owner: str) -> Callable[[Sequence[Member]], bool]:
    """Whether a stack of members (on one dataset of ``owner``'s) is within the caps on a run's estimate
    (``core.spec.caps.run_fits``: memory, one step, the whole run)."""

    def fits(stack: Sequence[Member]) -> bool:
        n_features, n_examples = data_shape(store, stack[0].spec, owner)
        configs = [member.spec.to_train_config() for member in stack]
        return run_fits(estimate_stack(configs, n_features, n_examples), settings)

    return fits


def rq_queue(connection: Redis, settings: Settings) -> Queue:
    """The RQ queue the workers listen on; job arguments are JSON, never pickle."""
    return Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)


def live_workers(queue: Queue) -> int:
    """Registered workers of the queue whose RQ key has not expired (one pipelined round trip).

    RQ refreshes a worker's key with every heartbeat, so a killed worker stops counting once its key
    expires, though it stays in the registry set until RQ cleans it.
    """
    with queue.connection.pipeline(transaction=False) as pipe:
        for key in get_keys(queue=queue):
            pipe.exists(key)
        return sum(pipe.execute())


class JobQueue:
    """Submits jobs, hands them back and withdraws them, keeping the record and RQ in step."""

    def __init__(self, store: JobStore, queue: Queue, settings: Settings) -> None:
        self.store, self.queue, self.settings = store, queue, settings

    def submit(self, spec: TrainingSpec, owner: str) -> JobRecord:
        """Store a new ``queued`` job and its RQ job (the job's own id) together, within the caps
        (:meth:`admitted`)."""

        def write(pipe: Pipeline) -> JobRecord:
            record = self.store.create_job(spec, owner=owner, pipe=pipe)
            self._enqueue(RUN_JOB, record.id, record.id, pipe, at_front=False, attempts_used=0)
            return record

        record = self.admitted(owner, 1, write)
        log.info("job %s: queued", record.id, extra={"job_id": record.id})
        return record

    def submit_experiment(
        self, name: str, request: dict[str, Any], members: Sequence[Member], owner: str
    ) -> tuple[ExperimentRecord, list[JobRecord]]:
        """Store the experiment, its member jobs (``queued``) and their stacks, each stack with its RQ job,
        in one MULTI within the caps (:meth:`admitted`, every member counted); the records in member
        order."""
        job_ids = [uuid.uuid4().hex for _ in members]
        refs = [MemberRef(job_id, m.label, m.params) for job_id, m in zip(job_ids, members, strict=True)]
        stacks = [
            (uuid.uuid4().hex, group)
            for group in stack_groups(
                members, self.settings.max_stack_members, stack_fits(self.store, self.settings, owner)
            )
        ]
        stack_of = {member: stack_id for stack_id, group in stacks for member in group}

        def write(pipe: Pipeline) -> tuple[ExperimentRecord, list[JobRecord]]:
            experiment = self.store.create_experiment(name, request, refs, owner, pipe)
            records = [
                self.store.create_job(
                    member.spec,
                    owner,
                    pipe,
                    job_id=job_id,
                    experiment_id=experiment.id,
                    label=member.label,
                    stack=stack_of[index],
                    rq_job=stack_of[index],
                )
                for index, (job_id, member) in enumerate(zip(job_ids, members, strict=True))
            ]
            for stack_id, group in stacks:
                self.store.create_stack(stack_id, experiment.id, [job_ids[i] for i in group], pipe)
                self._enqueue(RUN_STACK, stack_id, stack_id, pipe, at_front=False, attempts_used=0)
            return experiment, records

        return self.admitted(owner, len(members), write)

    def admitted(self, owner: str, adding: int, write: Callable[[Pipeline], T]) -> T:
        """``write(pipe)`` in one MULTI that Redis applies only if, when it does, the owner's jobs queued
        or running plus ``adding`` are at most ``max_active_jobs_per_owner`` and the queue's waiting RQ
        jobs plus ``adding`` at most ``max_queued_jobs``; ``write``'s return value.

        Check and write are one optimistic transaction: the owner's queued and running indexes and the
        queue's list are WATCHed while they are counted, so a submission, a start or a dequeue that
        changes them in between makes EXEC fail, and the check runs again (``ADMIT_ATTEMPTS`` times at
        most: then :class:`core.errors.SubmissionsBusy`). Concurrent submitters never pass a cap together.
        Raises :class:`core.errors.TooManyActiveJobs` or :class:`core.errors.QueueFull` over a cap. The
        submissions of one process take turns (:data:`ADMISSIONS`, waiting ``redis_timeout_seconds`` at
        most for theirs), so mostly other processes (API processes, workers dequeuing) make a transaction
        start over.
        """
        keys = self.store.keys
        watched = [keys.owner_jobs(owner, QUEUED), keys.owner_jobs(owner, RUNNING), self.queue.key]
        turn = ADMISSIONS.acquire(timeout=self.settings.redis_timeout_seconds)  # a stuck Redis: go anyway
        try:
            return self._admit(watched, adding, write)
        finally:
            if turn:
                ADMISSIONS.release()

    def _admit(self, watched: list[str], adding: int, write: Callable[[Pipeline], T]) -> T:
        settings = self.settings
        for _ in range(ADMIT_ATTEMPTS):
            with self.store.redis.pipeline() as pipe:
                try:
                    pipe.watch(*watched)
                    active = int(pipe.zcard(watched[0])) + int(pipe.zcard(watched[1]))
                    if active + adding > settings.max_active_jobs_per_owner:
                        raise TooManyActiveJobs(active, adding, settings.max_active_jobs_per_owner)
                    if int(pipe.llen(self.queue.key)) + adding > settings.max_queued_jobs:
                        raise QueueFull(settings.max_queued_jobs)
                    pipe.multi()
                    result = write(pipe)
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise SubmissionsBusy(ADMIT_ATTEMPTS)

    def hand_back_stack(self, stack_id: str, run: str, members: Sequence[str]) -> None:
        """Every running member of the stack → queued, and a new RQ job for the stack at the front of the
        queue (one MULTI); members no longer ``run``'s keep their status."""
        rq_job = f"{stack_id}-{uuid.uuid4().hex[:8]}"
        lost = max((self.store.workers_lost(job_id) for job_id in members), default=0)
        with self.store.redis.pipeline() as pipe:
            pipe.multi()
            for job_id in members:
                self.store.transition(
                    job_id, QUEUED, [RUNNING], owned_by=run, pipe=pipe, rq_job=rq_job, run=""
                )
            self._enqueue(RUN_STACK, stack_id, rq_job, pipe, at_front=True, attempts_used=lost)
            pipe.execute()

    def hand_back(self, job_id: str, run: str) -> None:
        """running → queued and a new RQ job at the front of the queue, which resumes the job from its
        last checkpoint; used when a worker shuts down mid-job. If ``run`` no longer owns the job, the
        status stays and the new RQ job finds nothing to do."""
        rq_job = f"{job_id}-{uuid.uuid4().hex[:8]}"
        lost = self.store.workers_lost(job_id)
        with self.store.redis.pipeline() as pipe:
            pipe.multi()
            self.store.transition(job_id, QUEUED, [RUNNING], owned_by=run, pipe=pipe, rq_job=rq_job, run="")
            self._enqueue(RUN_JOB, job_id, rq_job, pipe, at_front=True, attempts_used=lost)
            pipe.execute()

    def withdraw(self, job_id: str) -> None:
        """Take a canceled job's pending RQ job off the queue, so no worker picks it up; a stack's RQ job
        stays while another of its members waits (the stack trains the members still queued).

        A stack whose members all ended this way never runs, so it does here what the worker does at a
        stack's end: the stack's keys get the result TTL, and so does the experiment once all its members
        ended (``expire_if_finished``)."""
        record = self.store.get_job(job_id)
        stack = self.store.get_stack(record.stack) if record is not None and record.stack else None
        statuses = [] if stack is None else self.store.statuses(stack.members)
        if QUEUED in statuses:
            return
        rq_job = self.store.redis.hget(self.store.keys.job(job_id), "rq_job")
        rq_job_id = rq_job.decode() if rq_job else job_id
        with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
            Job.fetch(rq_job_id, connection=self.queue.connection, serializer=self.queue.serializer).cancel()
        self.queue.remove(rq_job_id)
        if stack is not None and all(status is None or status in FINISHED for status in statuses):
            self.store.expire_stack(stack.id)
        if record is not None and record.experiment_id:
            self.store.expire_if_finished(record.experiment_id)

    def _enqueue(
        self, function: str, argument: str, rq_job: str, pipe: Pipeline, *, at_front: bool, attempts_used: int
    ) -> None:
        """Enqueue ``function(argument)`` as RQ job ``rq_job`` in ``pipe``, with the retries left."""
        retries = self.settings.max_attempts - 1 - attempts_used
        self.queue.enqueue(
            function,
            argument,
            job_id=rq_job,
            at_front=at_front,
            retry=Retry(max=retries, enqueue_at_front=True) if retries > 0 else None,
            on_failure=Callback(ON_FAILURE),
            result_ttl=self.settings.result_ttl_seconds,
            failure_ttl=self.settings.result_ttl_seconds,
            job_timeout=-1,
            description=f"descent {'stack' if function == RUN_STACK else 'job'} {argument}",
            pipeline=pipe,
        )


def on_failure(
    job: Job, connection: Redis, exc_type: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """RQ's failure callback, for a run that ended without writing its job's end.

    RQ calls it for an abandoned job (its worker stopped beating for ``heartbeat_seconds``: the lost
    worker is counted) and for a job function that raised (a Redis outage at the wrong moment). If RQ
    retries the job, the record goes back to ``queued`` and the job resumes from its checkpoint; with no
    retry left it fails, saying why: ``worker lost N times; last seen at …``.
    """
    store = JobStore(connection, get_settings())
    if job.func_name == RUN_STACK:
        stack = store.get_stack(job.args[0])
        members = [] if stack is None else stack.members
    else:
        members = [job.args[0]]
    seen = job.last_heartbeat.isoformat(timespec="seconds") if job.last_heartbeat else "an unknown time"
    for job_id in members:
        record = store.get_job(job_id)
        if record is None or record.status != RUNNING:
            continue
        if issubclass(exc_type, AbandonedJobError):
            lost = store.count_lost_worker(job_id)
            reason = f"worker lost {lost} {'time' if lost == 1 else 'times'}; last seen at {seen}"
        else:
            reason = f"the worker failed: {exc_type.__name__}: {value}"
        if job.retries_left:
            store.transition(job_id, QUEUED, [RUNNING], run="")
            log.warning("job %s: %s; queued again", job_id, reason)
        else:
            store.transition(job_id, FAILED, [RUNNING], error=reason)
            log.warning("job %s: %s; failed", job_id, reason)
