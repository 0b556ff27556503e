"""The RQ job function of a stack: an experiment's member jobs trained as one computation.

``run_stack(stack_id)`` is what ``core.queue`` enqueues for a stack (members on the same data with the same
``trainer.stack_key``). It trains them with ``trainer.StackedTraining`` and gives each member the life of a
solo job (``worker.tasks``):

1. Each member that is still ``queued`` starts a run (one run id for the stack). A member that is not
   (canceled while it waited, or ended in an earlier attempt) stays in the stack's computation, so that
   the stack's checkpoint keeps fitting, but is stopped before the first step and never written to.
2. The data is the members' shared dataset; the stack's time limit comes from its size
   (``worker.timeouts.stack_time_limit``). A stack checkpoint (every member's state) resumes it.
3. While it trains, one :class:`worker.watch.Watch` stops a member on its cancel, or when another run owns
   it; one :class:`worker.reporter.RunReporter` streams every member's points and progress, and the
   boundary frames of each member still training (:mod:`worker.frames`).
4. A member that stops early has its end written as it ends (``on_done``), by the reporter's writer
   thread right after the member's last points: ``canceled``, ``failed`` ("diverged at epoch N", "timed
   out after N s"); the others go on. The members that succeed all end together, at the last epoch: once
   the reporter has written every point, their models and ends are written together, in a few round trips
   whatever their number (``JobStore.succeed_all``, ``worker.tasks.report_ends``). When the worker shuts
   down, the members still going are handed back with the stack (``JobQueue.hand_back_stack``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from functools import partial

import redis
from rq import get_current_job

from core.config import Settings
from core.data import training_data
from core.queue import JobQueue
from core.store import JobStore, StackRecord
from trainer import MemberResult, StackCheckpoint, StackedTraining
from trainer.errors import CheckpointError, ConfigError, DataError
from worker.context import worker_shutdown
from worker.frames import Frames
from worker.reporter import RunReporter, write_until_done
from worker.tasks import finish, process_jobs, report_end, report_ends, result_of
from worker.timeouts import stack_time_limit
from worker.watch import Watch

log = logging.getLogger(__name__)


def run_stack(stack_id: str) -> str:
    """The RQ job: train stack ``stack_id`` (see :func:`execute_stack`) with this process's settings and
    the shutdown signal of the worker running it."""
    jobs = process_jobs()
    return execute_stack(jobs, stack_id, jobs.settings, worker_shutdown())


def execute_stack(jobs: JobQueue, stack_id: str, settings: Settings, shutdown: threading.Event) -> str:
    """Train the stack's members to their ends; return how the stack ended, for RQ's record."""
    store = jobs.store
    stack = store.get_stack(stack_id)
    if stack is None:
        return "skipped: no such stack"
    run_id = uuid.uuid4().hex
    rq_job = get_current_job()
    rq_job_id = stack_id if rq_job is None else rq_job.id
    mine = store.start_runs(stack.members, run_id, rq_job=rq_job_id)
    if not mine:
        return "skipped: no member was queued"
    log.info("stack %s: running %d members (run %s): %s", stack_id, len(mine), run_id, ", ".join(mine))
    with Watch(store, mine, run_id) as watch:
        try:
            training, limit, spent = _prepare(store, stack, mine, settings)
        except (DataError, ConfigError) as exc:
            for job_id in mine:
                finish(job_id, run_id, store.fail, str(exc))
            return "failed"
        except redis.RedisError:
            raise  # left running: RQ's abandoned-job handling retries the stack
        watch.deadline = time.monotonic() + limit - spent

        def save_state(checkpoint: bytes, seconds: float) -> None:
            store.save_stack_state(stack_id, checkpoint, seconds)

        index = {job_id: i for i, job_id in enumerate(stack.members)}
        frames = Frames.plan(
            training.sizes,
            training.configs[0].epochs,
            settings,
            lambda job_id: training.member_vector(index[job_id]),
        )

        with RunReporter(
            store,
            watch,
            shutdown,
            lambda: training.checkpoint().to_bytes(),
            save_state,
            settings.checkpoint_seconds,
            count_steps=lambda: int(training.records.steps.sum()),
            epoch=training.epoch,
            spent=spent,
            frames=frames,
        ) as reporter:
            ended = _Ends(jobs, stack, run_id, mine, reporter, limit)
            others = {i for job_id, i in index.items() if job_id not in mine}
            training.run(
                on_point=lambda member, point: reporter.on_point(stack.members[member], point),
                on_epoch=reporter.on_epoch,
                on_done=ended.member_done,
                should_stop=lambda: others | {index[job_id] for job_id in watch.reasons},
            )
            return ended.close()


def _prepare(
    store: JobStore, stack: StackRecord, mine: list[str], settings: Settings
) -> tuple[StackedTraining, float, float]:
    """The stack's training on its members' data, resumed from its checkpoint if one fits; its time limit;
    and the training seconds already spent on it."""
    specs = store.get_specs(stack.members)
    X, Y = training_data(store, specs[0])
    configs = [spec.to_train_config() for spec in specs]
    limit = stack_time_limit(configs, X.shape[0], X.shape[1], settings)
    store.set_time_limits(mine, limit)
    data = store.load_stack_checkpoint(stack.id)
    if data is not None:
        try:
            training = StackedTraining(X, Y, configs, resume=StackCheckpoint.from_bytes(data))
        except CheckpointError as exc:
            log.warning("stack %s: checkpoint ignored (%s); starting over", stack.id, exc)
        else:
            log.warning("stack %s: resuming from its checkpoint at epoch %d", stack.id, training.epoch)
            store.drop_costs_after_each(mine, training.epoch)
            return training, limit, store.stack_run_seconds(stack.id)
    store.drop_costs_after_each(mine, 0)
    return StackedTraining(X, Y, configs), limit, 0.0


class _Ends:
    """Writes each member's end as it comes, and the stack's when the computation returns."""

    def __init__(
        self,
        jobs: JobQueue,
        stack: StackRecord,
        run_id: str,
        mine: list[str],
        reporter: RunReporter,
        limit: float,
    ) -> None:
        self.jobs, self.stack, self.run_id, self.reporter, self.limit = jobs, stack, run_id, reporter, limit
        self.mine = set(mine)
        self.outcomes: dict[str, str] = {}
        self.succeeded: dict[str, MemberResult] = {}  # written together by close()

    def member_done(self, member: int, result: MemberResult) -> None:
        """Member ``member`` ended: have its end written after its last points (unless it goes back with
        the stack, or is not ours); the writing is the reporter's thread's, so the others train on. A
        member that succeeded (the stack's last epoch: the computation is ending) waits for close()."""
        job_id = self.stack.members[member]
        if job_id not in self.mine:
            return
        store, end = self.jobs.store, partial(finish, job_id, self.run_id)
        reason = self.reporter.watch.reasons.get(job_id) if result.stopped else None
        self.reporter.end(job_id, result.epochs_completed)
        if reason in ("superseded", "shutdown"):
            self.outcomes[job_id] = reason
            if reason == "superseded":
                self.reporter.after_points(partial(report_end, store, job_id, reason))
            return
        if result.error is not None:
            write, outcome = partial(end, store.fail, result.error), "failed"
        elif reason == "canceled":
            write, outcome = partial(end, store.mark_canceled), "canceled"
        elif reason == "timed out":
            write, outcome = partial(end, store.fail, f"timed out after {self.limit:g} s"), "failed"
        else:
            self.outcomes[job_id], self.succeeded[job_id] = "succeeded", result
            return
        self.outcomes[job_id] = outcome
        self.reporter.after_points(write)
        self.reporter.after_points(partial(report_end, store, job_id, outcome))

    def _write_succeeded(self) -> None:
        """The members that succeeded: their models and ends (only while this run owns each), after every
        point (the reporter is closed)."""
        store = self.jobs.store
        ends = {job_id: (result_of(store, job_id, r), r.parameters) for job_id, r in self.succeeded.items()}
        write_until_done(partial(store.succeed_all, ends, self.run_id))
        report_ends(store, list(ends), "succeeded")

    def close(self) -> str:
        """After the computation: wait for every write, hand back the members stopped by a shutdown; the
        stack's outcome."""
        self.reporter.close()
        if self.succeeded:
            self._write_succeeded()
        back = [job_id for job_id, outcome in self.outcomes.items() if outcome == "shutdown"]
        if back:
            write_until_done(partial(self.jobs.hand_back_stack, self.stack.id, self.run_id, back))
            report_ends(self.jobs.store, back, "handed back")
            log.info("stack %s: %d members handed back (the worker is stopping)", self.stack.id, len(back))
            return "handed back"
        if all(outcome != "superseded" for outcome in self.outcomes.values()):
            self.jobs.store.expire_stack(self.stack.id)
            self.jobs.store.expire_if_finished(self.stack.experiment_id)
        counts = {o: list(self.outcomes.values()).count(o) for o in sorted(set(self.outcomes.values()))}
        return ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
