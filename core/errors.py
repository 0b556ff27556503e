"""The core's own exception: a request's value that cannot be used, with where it is in the request."""

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
