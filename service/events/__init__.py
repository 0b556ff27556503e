"""Live events over SSE: one Redis reader per API process (``hub``) fanning out to each client's stream
(``stream``); the wire format is in ``core.events``."""
