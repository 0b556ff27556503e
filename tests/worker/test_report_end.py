"""How a run ended, as the worker logs it and counts it in ``P:stats``."""

from __future__ import annotations

import logging

import pytest

from core.spec import TrainingSpec
from core.store import JobStore
from worker.tasks import report_end


def test_each_end_is_said_as_it_happened_and_counted(
    store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    failed, canceled, handed = (store.create_job(TrainingSpec()) for _ in range(3))
    store.fail(failed.id, "diverged at epoch 7")
    store.append_costs(canceled.id, [], epoch=12)
    store.mark_canceled(canceled.id)
    store.append_costs(handed.id, [], epoch=40)
    with caplog.at_level(logging.INFO, logger="worker.tasks"):
        report_end(store, failed.id, "failed")
        report_end(store, canceled.id, "canceled")
        report_end(store, handed.id, "handed back")
        report_end(store, handed.id, "skipped: not queued (canceled before it started, or unknown)")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"job {failed.id}: failed: diverged at epoch 7"),
        ("INFO", f"job {canceled.id}: canceled at epoch 12"),
        ("INFO", f"job {handed.id}: handed back at epoch 40 (the worker is stopping); it resumes later"),
        ("INFO", f"job {handed.id}: skipped: not queued (canceled before it started, or unknown)"),
    ]
    stats = store.stats()
    assert [stats[f"runs:{o}"] for o in ("failed", "canceled", "handed back", "skipped", "succeeded")] == [
        1, 1, 1, 1, 0,
    ]  # fmt: skip
