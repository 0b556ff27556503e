"""The core's own exception: a request's value that cannot be used, with where it is in the request."""

from __future__ import annotations

from collections.abc import Sequence


class SpecRejected(ValueError):
    """A training spec over a cap or otherwise unusable; ``loc`` is the field's path in the body."""

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc = tuple(loc)
        self.msg = msg
