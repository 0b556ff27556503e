"""descent's shared core: what the API, the workers and the CLI all use, apart from HTTP.

* ``config``: the one ``Settings`` class, read from the environment;
* ``spec``: the training spec (the request body of ``POST /jobs`` and what a worker trains);
* ``keys``: every Redis key pattern, in one place;
* ``store``: jobs, cost histories, models, checkpoints and datasets in Redis;
* ``queue``: how work reaches a worker (RQ), and how it goes back;
* ``datafiles``: the one reader of data files (CSV, ``.npy``, ``.npz``);
* ``plots``: cost charts.

Layers (import-linter, ``pyproject.toml``): ``trainer`` ← ``core`` ← ``service`` and ``worker`` ← ``descent``.
"""
