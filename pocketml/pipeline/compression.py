"""The compress stage of ``shrink``: validate, choose a recipe for a flash budget, run it.

The recipe itself runs in ``pocketml.compress``; sizing a candidate for ``--target-flash`` needs the
emitter and the compiler (``deploy/c/build.py: measure_flash``), which is why the stage lives here,
in the orchestrator.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from pocketml.compress.budget import choose_recipe, parse_bytes
from pocketml.compress.recipe import get_recipe
from pocketml.compress.runner import Compressed, run_recipe
from pocketml.data.dataset import Split, check_inputs
from pocketml.deploy.c.build import measure_flash
from pocketml.errors import PocketMLError


def run_compression(model: nn.Module, calibration: np.ndarray, train, test: Split, name: str,
                    recipe=None, target_flash=None, seed: int = 0, recurrent: str = "sequence") -> Compressed:
    """Validate, choose (for a budget) and run the recipe; errors come before any training.
    ``recurrent``: how an ``nn.LSTM`` is captured (``graph/capture.py``)."""
    if train is not None and not isinstance(train, Split):
        train = Split(np.asarray(train[0]), np.asarray(train[1]))
    if train is not None:
        train = Split(check_inputs(train.x, tuple(calibration.shape[1:]), "training"), np.asarray(train.y, np.int64))
        if len(train.y) != len(train.x):
            raise PocketMLError(f"the training set has {len(train.x)} inputs but {len(train.y)} labels",
                                "pass one label per training input")
    budget = None
    if target_flash is not None:
        budget_bytes = parse_bytes(target_flash)
        if recipe is not None:
            chosen = get_recipe(recipe)
        else:
            choice = choose_recipe(budget_bytes, model, calibration, name, lambda q, w: measure_flash(q, w, name),
                                   recurrent)
            chosen = choice.recipe
            budget = {"budget": budget_bytes, "chosen": chosen.name, "estimates": choice.estimates}
        budget = budget or {"budget": budget_bytes, "chosen": chosen.name, "estimates": {}}
    else:
        chosen = get_recipe(recipe)
    if chosen.needs_labels and train is None:
        raise PocketMLError(f"recipe '{chosen.name}' trains ({chosen.describe()}) "
                            "but no labelled training data was given",
                            "pass train=(x, y) (or y_train in the .npz), or use --recipe int8")
    result = run_recipe(chosen, model, calibration, train, test, name=name, seed=seed, recurrent=recurrent)
    if budget:
        result.budget = budget
    return result
