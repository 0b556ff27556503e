"""``python -m worker``: one RQ worker against ``REDIS_URL`` (what ``descent serve`` starts N times).

The BLAS thread variables are set before anything imports NumPy, so each worker process uses one thread.
"""

import os

from worker.runner import one_blas_thread_env, run_worker

for _name, _value in one_blas_thread_env().items():
    os.environ.setdefault(_name, _value)

from service.config import get_settings  # noqa: E402  (after the BLAS variables)

_settings = get_settings()
run_worker(_settings.redis_url, _settings.queue_name)
