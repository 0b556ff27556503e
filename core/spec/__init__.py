"""The training spec: the ONE model shared by the API (request body of ``POST /jobs``) and the worker.

Every field defaults to the seed's job (moons, hidden layers ``[5, 2]``, Adam with learning rate 0.0007,
mini-batches of 64, 10000 epochs, seeds 10 and 3), so ``{"optimizer": {"name": "adam"}}`` reproduces the
seed's Adam run. Types are strict (``"5"`` is not an int, ``5.0`` is not an int) and unknown fields are
refused everywhere, so a typo is a 422 that names the field rather than a silently ignored setting
(an integral float such as ``5.0`` counts as an int, as in JSON Schema).

* ``optimizer`` is a union discriminated on ``name``; each optimizer has only its own fields.
* ``dataset`` is one of ``{"name": builtin, "n_samples", "noise", "seed"}``, ``{"id": uploaded}`` or inline
  ``{"X": [[...]], "Y": [...]}`` with X as features × examples (``X[i][j]`` is feature i of example j).

Caps that depend on settings and on the data's shape (layers, width, parameters, epochs × examples, inline
values) are checked by :func:`check_caps`, each refusal a :class:`~core.errors.SpecRejected` naming the
field and the cap.

One module each: ``base`` (strict models), ``optimizers``, ``datasets``, ``model`` (:class:`TrainingSpec`),
``caps`` (:func:`check_caps`) and ``examples`` (the OpenAPI examples).
"""

from core.spec.caps import check_caps
from core.spec.datasets import BuiltinDataset, InlineDataset
from core.spec.examples import SPEC_EXAMPLES
from core.spec.model import TrainingSpec

__all__ = ["SPEC_EXAMPLES", "BuiltinDataset", "InlineDataset", "TrainingSpec", "check_caps"]
