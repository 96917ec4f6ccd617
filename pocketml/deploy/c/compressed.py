"""The compression side of ``shrink``: run a recipe (or pick one for a flash budget) and size decoders.

Lives in deploy because sizing a candidate for ``--target-flash`` and counting decoder code both
need the emitter and the compiler; the recipe itself runs in ``pocketml.compress``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from torch import nn

from pocketml.compress.budget import choose_recipe, parse_bytes
from pocketml.compress.encoding import EncodedWeights
from pocketml.compress.recipe import get_recipe
from pocketml.compress.runner import Compressed, run_recipe
from pocketml.data.dataset import Split, check_inputs
from pocketml.deploy.c.build import measure_sections
from pocketml.deploy.c.emit import emit_c
from pocketml.deploy.c.weights import decoder_files
from pocketml.errors import PocketMLError
from pocketml.graph.planner import plan_memory


def decoder_code_bytes(c_dir: Path, weights: dict[str, EncodedWeights]) -> int:
    """Compiled size (.text + .rodata + .data, host gcc -Os) of the weight decoders the model uses."""
    files = decoder_files(weights)
    if not files:
        return 0
    s = measure_sections(Path(c_dir), files)
    return s["text"] + s["rodata"] + s["data"]


def measure_flash(qgraph, weights: dict[str, EncodedWeights], name: str = "candidate") -> int:
    """Emit and compile ``qgraph`` with ``weights``; its flash (.text + .rodata + .data, host -Os)."""
    source = emit_c(qgraph, plan_memory(qgraph), name, weights=weights)
    with tempfile.TemporaryDirectory(prefix="pocketml-size-") as tmp:
        for fname, text in source.files.items():
            (Path(tmp) / fname).write_text(text)
        s = measure_sections(Path(tmp), [f for f in source.files if f.endswith(".c") and f != "main.c"])
    return s["text"] + s["rodata"] + s["data"]


def run_compression(model: nn.Module, calibration: np.ndarray, train, test: Split, name: str,
                    recipe=None, target_flash=None, seed: int = 0) -> Compressed:
    """Validate, choose (for a budget) and run the recipe; errors come before any training."""
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
            choice = choose_recipe(budget_bytes, model, calibration, name, lambda q, w: measure_flash(q, w, name))
            chosen = choice.recipe
            budget = {"budget": budget_bytes, "chosen": chosen.name, "estimates": choice.estimates}
        budget = budget or {"budget": budget_bytes, "chosen": chosen.name, "estimates": {}}
    else:
        chosen = get_recipe(recipe)
    if chosen.needs_labels and train is None:
        raise PocketMLError(f"recipe '{chosen.name}' trains ({chosen.describe()}) "
                            "but no labelled training data was given",
                            "pass train=(x, y) (or y_train in the .npz), or use --recipe int8")
    result = run_recipe(chosen, model, calibration, train, test, name=name, seed=seed)
    if budget:
        result.budget = budget
    return result
