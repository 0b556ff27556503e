"""A Python client of the descent service, on httpx, synchronous and asynchronous.

```python
from descent.client import DescentClient

with DescentClient("http://127.0.0.1:8000", api_key=None) as client:
    job = client.submit({"optimizer": {"name": "adam"}})      # the seed's Adam job
    job = client.wait(job.id, progress=True)                     # a progress bar on stderr
    print(job.result.accuracy)                                   # 0.94
    arrays = client.model_arrays(job.id)                         # {"W1": ndarray, "b1": …}
    client.predict(job.id, rows=[[0.5, 0.25], [-1.0, 0.8]])      # or X=… (features × examples)
    experiment = client.wait_experiment(client.submit_experiment().id)  # the course's comparison
```

Answers are the service's own pydantic models (``service.schemas``, ``core.spec``). Errors raise
:class:`APIError` subclasses by status, carrying the server's message and, for a 422, its field errors.
Safe calls are retried (``descent.client.retry``); ``submit`` sets an ``Idempotency-Key`` so a retried
submission never makes a second job. Live events come from an event source (``descent.client.events``):
the server's Server-Sent Events (``Streaming``, the default) or polling ``/costs?since=`` (``Polling``).

Modules: ``calls`` (each operation, no I/O), ``retry``, ``errors``, ``events``, ``streaming``, ``progress``,
``sync``
(:class:`DescentClient`), ``aio`` (:class:`AsyncDescentClient`).
"""

from descent.client.aio import AsyncDescentClient
from descent.client.errors import (
    APIError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    DescentError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    StorageFull,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    WaitTimeout,
)
from descent.client.events import AsyncPolling, JobEvent, PointEvent, Polling, ProgressEvent, StatusEvent
from descent.client.retry import RetryPolicy
from descent.client.streaming import AsyncStreaming, Streaming
from descent.client.sync import DEFAULT_URL, DescentClient

__all__ = [
    "DEFAULT_URL",
    "APIError",
    "AsyncDescentClient",
    "AsyncPolling",
    "AsyncStreaming",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "DescentClient",
    "DescentError",
    "JobEvent",
    "NotFound",
    "PayloadTooLarge",
    "PointEvent",
    "Polling",
    "ProgressEvent",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "StatusEvent",
    "StorageFull",
    "Streaming",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "WaitTimeout",
]
