"""The core's own exceptions: a request's value that cannot be used (with where it is in the request), and
a submission refused by the caps on active and queued jobs."""

from __future__ import annotations

from collections.abc import Sequence


class SpecRejected(ValueError):
    """A training spec over a cap or otherwise unusable; ``loc`` is the field's path in the body."""

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc = tuple(loc)
        self.msg = msg


class InvalidMembers(ValueError):
    """Members of an experiment that are not valid specs: ``errors`` as pydantic gives them, each ``loc``
    starting with ``("members", index)``."""

    def __init__(self, errors: Sequence[dict]) -> None:
        super().__init__(f"{len(errors)} errors in the experiment's members")
        self.errors = list(errors)


class TooManyActiveJobs(Exception):
    """A submission of ``adding`` jobs while ``active`` of the owner's are queued or running: over ``cap``
    (``max_active_jobs_per_owner``)."""

    def __init__(self, active: int, adding: int, cap: int) -> None:
        super().__init__(
            f"{active} of your jobs are queued or running and this submission adds {adding}: over the cap "
            f"of {cap} per owner (max_active_jobs_per_owner); wait for some to finish, or cancel some"
        )


class QueueFull(Exception):
    """A submission that would take the queue over ``cap`` waiting jobs (``max_queued_jobs``)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"the queue is full ({cap} jobs waiting, the cap); retry later")


class SubmissionsBusy(Exception):
    """Concurrent changes to what the caps count kept a submission from being checked and stored together
    ``attempts`` times in a row."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"too many submissions at once ({attempts} attempts collided); retry")
