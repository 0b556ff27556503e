"""JobStore against a real Redis: statuses and their indexes, costs since N, TTLs, model round trip."""

from __future__ import annotations

import numpy as np
import pytest
import redis

from core.data import training_data
from core.spec import TrainingSpec
from core.statuses import CANCELED, QUEUED, RUNNING, SUCCEEDED
from core.store import JobStore
from core.store.base import arrays_to_npz
from tests.jobs import trained_model


def test_create_and_get(store: JobStore) -> None:
    spec = TrainingSpec.model_validate({"optimizer": {"name": "gd"}, "epochs": 5})
    job = store.create_job(spec, owner="alice")
    assert job.status == QUEUED and job.epochs == 5 and job.owner == "alice"
    assert store.get_spec(job.id) == spec
    assert store.get_job(job.id, owner="bob") is None
    assert store.get_job("0" * 32) is None


def test_transitions_are_guarded_and_stamped(store: JobStore) -> None:
    job = store.create_job(TrainingSpec())
    assert store.mark_canceled(job.id)
    assert not store.start_run(job.id, "run", rq_job=job.id), "a canceled job must never start"
    record = store.get_job(job.id)
    assert record is not None and record.status == CANCELED and record.finished_at is not None


def test_start_runs_starts_only_the_queued_jobs_and_says_which(store: JobStore) -> None:
    ids = [store.create_job(TrainingSpec(), owner=owner).id for owner in ("alice", "bob", "alice")]
    assert store.mark_canceled(ids[1])
    assert store.start_runs([ids[0], ids[1], "0" * 32, ids[2]], "run", rq_job="stack") == [ids[0], ids[2]]
    for job_id in (ids[0], ids[2]):
        record = store.get_job(job_id)
        assert record is not None and record.status == RUNNING and record.started_at is not None
    assert store.runs_of(ids) == [("run", False), (None, False), ("run", False)]
    assert store.redis.zcard(store.keys.owner_jobs("alice", RUNNING)) == 2, "the status index moved with them"
    assert store.start_runs(ids, "again", rq_job="stack") == [], "a running job does not start twice"


def test_costs_since_and_replacement(store: JobStore) -> None:
    job = store.create_job(TrainingSpec())
    store.append_costs(job.id, [(1, 0.7), (101, 0.6), (201, 0.5)], epoch=201)
    store.append_costs(job.id, [(201, 0.5), (301, 0.25)])  # a resumed job re-sends 201
    assert store.costs_since(job.id, 0) == [(1, 0.7), (101, 0.6), (201, 0.5), (301, 0.25)]
    assert store.costs_since(job.id, 101) == [(201, 0.5), (301, 0.25)]
    assert store.costs_since(job.id, 0, limit=2) == [(1, 0.7), (101, 0.6)]
    assert store.get_job(job.id).epoch == 201  # type: ignore[union-attr]


def test_costs_keep_full_precision(store: JobStore) -> None:
    job = store.create_job(TrainingSpec())
    cost = 0.1 + 0.2
    store.append_costs(job.id, [(1, cost)])
    assert store.costs_since(job.id, 0)[0][1] == cost


def test_finished_job_gets_the_result_ttl(store: JobStore, redis_client: redis.Redis, settings) -> None:
    job = store.create_job(TrainingSpec())
    assert redis_client.ttl(store.keys.job(job.id)) == -1
    store.start_run(job.id, "run", rq_job=job.id)
    store.append_costs(job.id, [(1, 0.5)])
    params = {"W1": np.arange(10.0).reshape(5, 2), "b1": np.zeros((5, 1))}
    assert store.succeed(job.id, {"accuracy": 0.94}, params)
    for key in (store.keys.job(job.id), store.keys.costs(job.id), store.keys.model(job.id)):
        ttl = redis_client.ttl(key)
        assert settings.result_ttl_seconds - 5 <= ttl <= settings.result_ttl_seconds
    record = store.get_job(job.id)
    assert record is not None and record.status == SUCCEEDED and record.result == {"accuracy": 0.94}
    model = trained_model(store, job.id)
    assert model is not None and list(model) == ["W1", "b1"]
    np.testing.assert_array_equal(model["W1"], params["W1"])


def test_succeed_all_ends_only_the_jobs_the_run_owns(
    store: JobStore, redis_client: redis.Redis, settings
) -> None:
    ids = [store.create_job(TrainingSpec()).id for _ in range(3)]
    assert store.start_runs(ids[:2], "run", rq_job="stack") == ids[:2]
    assert store.start_run(ids[2], "other", rq_job=ids[2])
    ends = {job_id: ({"accuracy": i / 4}, {"W1": np.full((5, 2), float(i))}) for i, job_id in enumerate(ids)}
    assert store.succeed_all(ends, "run") == [True, True, False]
    for i, job_id in enumerate(ids[:2]):
        record = store.get_job(job_id)
        assert record is not None and record.status == SUCCEEDED and record.result == {"accuracy": i / 4}
        assert settings.result_ttl_seconds - 5 <= redis_client.ttl(store.keys.job(job_id))
        model = trained_model(store, job_id)
        assert model is not None and float(model["W1"][0, 0]) == i
    other = store.get_job(ids[2])
    assert other is not None and other.status == RUNNING, "another run's job is not ended"
    assert store.succeed_all(ends, "run") == [False, False, False], "a retried write changes nothing"


def test_cancel_flag(store: JobStore) -> None:
    job = store.create_job(TrainingSpec())
    assert not store.runs_of([job.id])[0][1]
    store.request_cancel(job.id)
    assert store.runs_of([job.id])[0][1] and store.get_job(job.id).cancel_requested  # type: ignore[union-attr]


def test_datasets_round_trip(store: JobStore) -> None:
    X, Y = np.random.RandomState(0).rand(3, 7), (np.arange(7) % 2).reshape(1, 7).astype(float)
    npz = arrays_to_npz({"X": X, "Y": Y})
    record = store.create_dataset(
        npz, n_features=3, n_examples=7, filename="d.csv", source_format="csv", summary={"positives": 3}
    )
    assert (record.n_features, record.n_examples, record.summary) == (3, 7, {"positives": 3})
    assert record.bytes == len(npz)
    arrays = store.dataset_arrays(record.id)
    assert arrays is not None
    np.testing.assert_array_equal(arrays[0], X)
    spec = TrainingSpec.model_validate({"dataset": {"id": record.id}})
    np.testing.assert_array_equal(training_data(store, spec)[1], Y)
    assert [d.id for d in store.list_datasets()[0]] == [record.id]


def test_missing_uploaded_dataset_is_a_data_error(store: JobStore) -> None:
    from trainer.errors import DataError

    with pytest.raises(DataError, match="does not exist"):
        training_data(store, TrainingSpec.model_validate({"dataset": {"id": "nope"}}))


def test_drop_costs_after(store: JobStore) -> None:
    job = store.create_job(TrainingSpec())
    store.append_costs(job.id, [(1, 0.7), (101, 0.6), (201, 0.5)])
    store.drop_costs_after(job.id, 101)
    assert store.costs_since(job.id, 0) == [(1, 0.7), (101, 0.6)]


def test_costs_page_reads_status_and_points_together(store: JobStore) -> None:
    job = store.create_job(TrainingSpec.model_validate({"epochs": 300}), owner="alice")
    store.start_run(job.id, "run", rq_job=job.id)
    store.append_costs(job.id, [(1, 0.7), (101, 0.6)], epoch=150)
    page = store.costs_page(job.id, since=1)
    assert page is not None
    assert (page.owner, page.status, page.epoch, page.epochs, page.points) == (
        "alice",
        RUNNING,
        150,
        300,
        [(101, 0.6)],
    )
    assert store.costs_page("f" * 32) is None and store.costs_page("not-an-id") is None


def test_frames_of_several_jobs_are_saved_together_and_read_at_or_before_an_epoch(
    store: JobStore, redis_client: redis.Redis, settings
) -> None:
    a, b = (store.create_job(TrainingSpec()).id for _ in range(2))
    store.save_frames({a: {1: b"a1", 50: b"a50", 100: b"a100"}, b: {1: b"b1"}})
    store.save_frames({a: {50: b"a50 again", 150: b"a150"}})  # a resumed run writes an epoch again
    assert store.frame_epochs(a) == [1, 50, 100, 150] and store.frame_epochs(b) == [1]
    assert store.get_frame(a, 1) == (1, b"a1")
    assert store.get_frame(a, 99) == (50, b"a50 again"), "the largest recorded epoch at or before 99"
    assert store.get_frame(a, 100) == (100, b"a100")
    assert store.get_frame(a, 10**6) == (150, b"a150")
    assert store.get_frame(b, 7) == (1, b"b1")
    store.save_frames({a: {10: b"a10"}})
    assert store.get_frame(a, 9) == (1, b"a1") and store.get_frame(a, 10) == (10, b"a10")
    for job_id in (a, b):
        ttl = redis_client.ttl(store.keys.frames(job_id))
        assert settings.result_ttl_seconds - 5 <= ttl <= settings.result_ttl_seconds


def test_a_job_without_frames_has_none_below_its_first_or_at_all(store: JobStore) -> None:
    job_id = store.create_job(TrainingSpec()).id
    assert store.frame_epochs(job_id) == [] and store.get_frame(job_id, 10) is None
    store.save_frames({job_id: {5: b"five"}})
    assert store.get_frame(job_id, 4) is None and store.get_frame(job_id, 5) == (5, b"five")


def test_frames_expire_with_their_job(store: JobStore, redis_client: redis.Redis, settings) -> None:
    job = store.create_job(TrainingSpec())
    assert store.start_run(job.id, "run", rq_job=job.id)
    store.save_frames({job.id: {1: b"frame"}})
    redis_client.persist(store.keys.frames(job.id))  # as if saved without a TTL: the end must give it one
    assert store.mark_canceled(job.id)
    ttl = redis_client.ttl(store.keys.frames(job.id))
    assert settings.result_ttl_seconds - 5 <= ttl <= settings.result_ttl_seconds
    assert store.keys.frames(job.id) in store.keys.job_parts(job.id)
