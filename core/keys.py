"""Every Redis key descent writes, named in one place.

A :class:`Keys` builds each key from the prefix (``descent`` by default; ``P`` below). The store, the Lua
scripts (which get their keys as ``KEYS`` from here) and the documentation all use these methods:
:data:`LAYOUT` describes each key, and ``docs/redis-layout.md`` carries the table :func:`layout_table`
renders (a test keeps the two equal). RQ's own keys (``rq:…``) are RQ's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.statuses import STATUSES

CURVE_BLOCKS: tuple[int, ...] = (1, 64, 4096)
"""The packed cost curve's levels: the points themselves, then each block of 64 and of 4096 points'
minimum and maximum (``core.curve`` reads them to downsample a long history in a few kilobytes)."""

DEFAULT_PREFIX = "descent"


@dataclass(frozen=True)
class Keys:
    """The key names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    def job(self, job_id: str) -> str:
        """``P:job:{id}``: the job's record (a hash)."""
        return f"{self.prefix}:job:{job_id}"

    def costs(self, job_id: str) -> str:
        """``P:job:{id}:costs``: the cost points (a sorted set scored by epoch)."""
        return f"{self.job(job_id)}:costs"

    def model(self, job_id: str) -> str:
        """``P:job:{id}:model``: the trained parameters (``.npz``)."""
        return f"{self.job(job_id)}:model"

    def checkpoint(self, job_id: str) -> str:
        """``P:job:{id}:checkpoint``: the latest trainer state (``.npz``)."""
        return f"{self.job(job_id)}:checkpoint"

    def frames(self, job_id: str) -> str:
        """``P:job:{id}:frames``: the parameters during training (a hash: epoch -> float32 vector)."""
        return f"{self.job(job_id)}:frames"

    def cancel(self, job_id: str) -> str:
        """``P:job:{id}:cancel``: present once a cancel was asked for."""
        return f"{self.job(job_id)}:cancel"

    def events(self, job_id: str) -> str:
        """``P:job:{id}:events``: what ``GET /jobs/{id}/events`` streams (a stream, ids ``0-{seq}``)."""
        return f"{self.job(job_id)}:events"

    def curve(self, job_id: str, block: int) -> str:
        """``P:job:{id}:curve:{block}``: the cost points packed (block 1), or each block of ``block``
        points' minimum and maximum (``core.curve``)."""
        return f"{self.job(job_id)}:curve:{block}"

    def job_parts(self, job_id: str) -> list[str]:
        """The job's record, its events, and every other key that expires with it (in this order)."""
        return [
            self.job(job_id),
            self.events(job_id),
            self.costs(job_id),
            self.model(job_id),
            self.checkpoint(job_id),
            self.frames(job_id),
            self.cancel(job_id),
            *(self.curve(job_id, block) for block in CURVE_BLOCKS),
        ]

    def owner_jobs(self, owner: str, status: str | None = None) -> str:
        """``P:owner:{owner}:jobs`` (every job of the owner) or ``…:jobs:{status}`` (one status's)."""
        return f"{self.prefix}:owner:{owner}:jobs" + (f":{status}" if status else "")

    def status_indexes(self, owner: str) -> list[str]:
        """The owner's index of each status, in the order of ``core.statuses.STATUSES``."""
        return [self.owner_jobs(owner, status) for status in STATUSES]

    def dataset(self, dataset_id: str) -> str:
        """``P:dataset:{id}``: an uploaded dataset's metadata (a hash)."""
        return f"{self.prefix}:dataset:{dataset_id}"

    def dataset_data(self, dataset_id: str) -> str:
        """``P:dataset:{id}:data``: its arrays (``.npz``)."""
        return f"{self.dataset(dataset_id)}:data"

    def dataset_pending(self, dataset_id: str) -> str:
        """``P:dataset:{id}:pending``: its arrays while they are written, before the publish."""
        return f"{self.dataset(dataset_id)}:pending"

    def dataset_abandoned(self, dataset_id: str) -> str:
        """``P:dataset:{id}:abandoned``: the API gave up publishing it (a late publish writes nothing)."""
        return f"{self.dataset(dataset_id)}:abandoned"

    def owner_datasets(self, owner: str) -> str:
        """``P:owner:{owner}:datasets``: the owner's dataset ids."""
        return f"{self.prefix}:owner:{owner}:datasets"

    def idempotency(self, owner: str, key_digest: str) -> str:
        """``P:owner:{owner}:idempotency:{sha256}``: what an Idempotency-Key's first request made."""
        return f"{self.prefix}:owner:{owner}:idempotency:{key_digest}"

    def submissions(self, owner: str, minute: int | str) -> str:
        """``P:owner:{owner}:submissions:{minute}``: the owner's submissions counted in that minute."""
        return f"{self.prefix}:owner:{owner}:submissions:{minute}"

    def uploads(self, owner: str, minute: int | str) -> str:
        """``P:owner:{owner}:uploads:{minute}``: the owner's dataset uploads counted in that minute."""
        return f"{self.prefix}:owner:{owner}:uploads:{minute}"

    def experiment(self, experiment_id: str) -> str:
        """``P:experiment:{id}``: an experiment's record (a hash)."""
        return f"{self.prefix}:experiment:{experiment_id}"

    def owner_experiments(self, owner: str) -> str:
        """``P:owner:{owner}:experiments``: the owner's experiment ids."""
        return f"{self.prefix}:owner:{owner}:experiments"

    def stack(self, stack_id: str) -> str:
        """``P:stack:{id}``: a stack of member jobs trained as one computation (a hash)."""
        return f"{self.prefix}:stack:{stack_id}"

    def stack_checkpoint(self, stack_id: str) -> str:
        """``P:stack:{id}:checkpoint``: the stack's latest trainer state (``.npz``)."""
        return f"{self.stack(stack_id)}:checkpoint"

    def sweep_lock(self, queue_name: str) -> str:
        """``P:sweep-lock:{queue}``: held for a moment by the worker looking for the queue's lost jobs."""
        return f"{self.prefix}:sweep-lock:{queue_name}"

    def stats(self) -> str:
        """``P:stats``: counters for the metrics (jobs per status, workers' runs by outcome, steps)."""
        return f"{self.prefix}:stats"


@dataclass(frozen=True)
class KeyInfo:
    """One row of the layout: the key's pattern, its Redis type, what it holds and its TTL."""

    pattern: str
    type: str
    holds: str
    ttl: str


_P = Keys("P")
LAYOUT: tuple[KeyInfo, ...] = (
    KeyInfo(
        _P.job("{job_id}"),
        "hash",
        "`id`, `owner`, `status` (`queued`, `running`, `succeeded`, `failed`, `canceled`), `spec` (the "
        "`TrainingSpec` as JSON), `spec_summary` (the spec as listings show it: inline data as its shape, "
        "`core.spec.summary`), `epoch` (epochs completed), `epochs`, `created_at`, `started_at`, "
        "`finished_at`, `updated_at` (unix seconds), `result` (JSON: `accuracy`, `validation_accuracy`, "
        "`final_cost`, `seconds`, …), `error` (a reason a user understands); written by the worker: `run` "
        "(the id of the run that owns the job), `rq_job` (the RQ job that runs it), `timeout_seconds` (the "
        "job's time limit), `run_seconds` (training seconds up to the latest checkpoint, across attempts), "
        "`workers_lost` (how many times its worker was lost)",
        "none while queued or running; the result TTL once finished",
    ),
    KeyInfo(
        _P.costs("{job_id}"),
        "sorted set",
        'one member `"{epoch}:{repr(cost)}"` per cost point, score = epoch: `?since=N` is one '
        "`ZRANGEBYSCORE (N +inf`; a point replaces any earlier one at its epoch",
        "the result TTL, refreshed on every append",
    ),
    KeyInfo(
        _P.model("{job_id}"), "string", "`.npz` of `W1, b1, … WL, bL` (the course's shapes)", "the result TTL"
    ),
    KeyInfo(
        _P.checkpoint("{job_id}"),
        "string",
        "`trainer.Checkpoint.to_bytes()` (`.npz`): the latest state of a running job, to resume it",
        "the result TTL, refreshed on every save",
    ),
    KeyInfo(
        _P.frames("{job_id}"),
        "hash",
        "a 2-feature job's parameters during training, for `GET /jobs/{job_id}/boundary?epoch=`: field = "
        "the epoch (decimal), value = the parameters as one little-endian float32 vector in "
        "`trainer.network.pack`'s layout (the spec's layers give the sizes); at most `boundary_frames` "
        "epochs (`core.frames`), `max_frame_bytes` in all",
        "the result TTL, refreshed on every save",
    ),
    KeyInfo(
        _P.cancel("{job_id}"), "string", '`"1"` once `DELETE /jobs/{job_id}` was called', "the result TTL"
    ),
    KeyInfo(
        _P.events("{job_id}"),
        "stream",
        "the job's events, each `event` (`point`, `progress`, `status`), `data` (its JSON) and `at` (unix "
        "microseconds of the write, Redis `TIME`), with the id `0-{seq}` (seq 1, 2, … is the SSE `id:`); "
        "trimmed to about `events_max_len` entries (`XADD MAXLEN ~`)",
        "the result TTL from the submission, refreshed on every append and when the job finishes",
    ),
    KeyInfo(
        _P.curve("{job_id}", "{block}"),
        "string",
        "the cost curve packed as little-endian float64: block `1` is `(epoch, cost)` per point in epoch "
        "order (point i at byte 16·i); blocks `64` and `4096` are `(epoch, cost)` of the minimum, then of "
        "the maximum, of each run of that many points (32 bytes per block)",
        "the result TTL, refreshed on every append",
    ),
    KeyInfo(
        _P.owner_jobs("{owner}"),
        "sorted set",
        "the owner's job ids, score = `created_at` (`GET /jobs` reads it newest first; it first drops the "
        "ids created over a result TTL ago whose job expired)",
        "none",
    ),
    KeyInfo(_P.owner_jobs("{owner}", "{status}"), "sorted set", "the same ids, one set per status", "none"),
    KeyInfo(
        _P.dataset("{dataset_id}"),
        "hash",
        "`id`, `owner`, `created_at`, `filename`, `format` (`csv`, `npy`, `npz`), `n_features`, "
        "`n_examples`, `bytes` (of the data), `summary` (JSON: class counts, statistics of the first "
        "`dataset_summary_features` features); written with its data and index entry by one script",
        "`dataset_ttl_seconds`, restarted when a job is submitted on it or a worker loads it",
    ),
    KeyInfo(
        _P.dataset_data("{dataset_id}"),
        "string",
        "`.npz` of `X` (features × examples, float64) and `Y` (1 × examples)",
        "the record's",
    ),
    KeyInfo(
        _P.dataset_pending("{dataset_id}"),
        "string",
        "the `.npz` being written, in 1 MiB `APPEND`s (so no one write holds Redis long); the publish "
        "renames it to `…:data`, or deletes it",
        "60 s",
    ),
    KeyInfo(
        _P.dataset_abandoned("{dataset_id}"),
        "string",
        '`"1"`: the API timed out publishing the dataset and answered 503; its publish, if Redis runs it '
        "later, writes nothing",
        "60 s",
    ),
    KeyInfo(
        _P.owner_datasets("{owner}"),
        "sorted set",
        "the owner's dataset ids, score = `created_at`; ids whose record expired are dropped when it is read",
        "`dataset_ttl_seconds` from the owner's latest upload or use",
    ),
    KeyInfo(
        _P.idempotency("{owner}", "{key_digest}"),
        "string",
        'JSON `{"fingerprint", "job_id"}` of an `Idempotency-Key` of `POST /jobs`',
        "60 s while the first request is in flight, then `idempotency_ttl_seconds`",
    ),
    KeyInfo(
        _P.submissions("{owner}", "{minute}"),
        "string",
        "the owner's job submissions counted in that unix minute (`INCR`: the rate limit)",
        "120 s",
    ),
    KeyInfo(
        _P.uploads("{owner}", "{minute}"),
        "string",
        "the owner's dataset uploads counted in that unix minute (`INCR`: the rate limit)",
        "120 s",
    ),
    KeyInfo(
        _P.experiment("{experiment_id}"),
        "hash",
        "`id`, `owner`, `name`, `created_at`, `request` (the body as JSON), `members` (JSON: each member's "
        "`job_id`, `label` and the values it varies)",
        "none until every member finished; then the result TTL",
    ),
    KeyInfo(
        _P.owner_experiments("{owner}"),
        "sorted set",
        "the owner's experiment ids, score = `created_at` (expired ones dropped as the job ids are)",
        "none",
    ),
    KeyInfo(
        _P.stack("{stack_id}"),
        "hash",
        "`id`, `experiment_id`, `members` (JSON list of job ids, in stack order), `rq_job`, `run_seconds`",
        "none until the stack finished; then the result TTL",
    ),
    KeyInfo(
        _P.stack_checkpoint("{stack_id}"),
        "string",
        "`trainer.StackCheckpoint` bytes (`.npz`): every member's state, to resume the stack",
        "the result TTL, refreshed on every save",
    ),
    KeyInfo(
        _P.sweep_lock("{queue_name}"),
        "string",
        "held (`SET NX`) by the one worker running RQ's abandoned-job handling for the queue right now",
        "10 s, deleted when done",
    ),
    KeyInfo(
        _P.stats(),
        "hash",
        "counters `GET /metrics` reads (`core/store/stats.py`): `jobs:{status}` (jobs now `queued` or "
        "`running`; jobs ever `succeeded`, `failed`, `canceled`), kept by the status changes; "
        "`runs:{outcome}` (the workers' runs by how they ended) and `steps` (training steps), kept by the "
        "workers",
        "none",
    ),
)


def layout_table() -> str:
    """:data:`LAYOUT` as the Markdown table of ``docs/redis-layout.md``."""
    rows = ["| key | type | holds | TTL |", "|---|---|---|---|"]
    rows += [f"| `{k.pattern}` | {k.type} | {k.holds} | {k.ttl} |" for k in LAYOUT]
    return "\n".join(rows)
