"""The Redis layout is written once: in ``core.keys``; the documentation carries its table."""

from __future__ import annotations

import inspect
from pathlib import Path

from core.keys import LAYOUT, Keys, layout_table
from core.store import JobStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "redis-layout.md"


def test_the_documented_table_is_the_one_core_keys_renders() -> None:
    regenerate = "paste the output of: python -c 'from core.keys import layout_table; print(layout_table())'"
    assert layout_table() in DOC.read_text(), regenerate


def test_every_key_name_has_a_row_and_rows_are_unique() -> None:
    patterns = [info.pattern for info in LAYOUT]
    assert len(patterns) == len(set(patterns))
    keys = Keys("P")
    lists = {"job_parts", "status_indexes"}  # lists of the keys above
    for name in vars(Keys):
        method = getattr(keys, name)
        if name.startswith("_") or not callable(method) or name in lists:
            continue
        placeholders = {parameter: f"{{{parameter}}}" for parameter in inspect.signature(method).parameters}
        assert method(**placeholders) in patterns, name


def test_what_the_store_writes_matches_the_layout(store: JobStore) -> None:
    from core.spec import TrainingSpec

    record = store.create_job(TrainingSpec())
    store.append_costs(record.id, [(1, 0.5)])
    store.request_cancel(record.id)
    store.save_frames({record.id: {1: b"frame"}})
    written = {key.decode() for key in store.redis.keys(f"{store.keys.prefix}:*")}
    expected = {
        store.keys.job(record.id),
        store.keys.costs(record.id),
        store.keys.cancel(record.id),
        store.keys.frames(record.id),
        store.keys.events(record.id),
        *store.curve_keys(record.id),
        store.keys.owner_jobs("public"),
        store.keys.owner_jobs("public", "queued"),
        store.keys.stats(),
    }
    assert written == expected
