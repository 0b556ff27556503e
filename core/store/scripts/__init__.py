"""The Lua scripts of the store, one ``.lua`` file each, after the helpers they share (``events.lua``: a
job's events stream; ``curve.lua``: its packed cost curve)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def helpers() -> str:
    """The shared helper functions, to put before a script that calls them."""
    return "\n".join((HERE / name).read_text() for name in ("events.lua", "curve.lua"))


@cache
def lua(name: str) -> str:
    """The source of ``{name}.lua`` with the helpers before it."""
    return helpers() + "\n" + (HERE / f"{name}.lua").read_text()


@cache
def sha(name: str) -> str:
    """The SHA-1 of :func:`lua`'s source for ``name``: what ``EVALSHA`` runs it by."""
    return hashlib.sha1(lua(name).encode()).hexdigest()
