"""Load a user's model from a file: an ONNX model (``.onnx``) or a ``torch.export`` program (``.pt2``).

Trust: an ``.onnx`` file is data (a protobuf read by ``pocketml.models.onnx_file``, no code
runs). A ``.pt2`` file is code: ``torch.export.load`` unpickles parts of the archive, so loading
one runs whatever its author put there. Load ``.pt2`` files only from people you would let run
programs on this machine; take ONNX from anyone else (``docs/security.md``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from pocketml.errors import PocketMLError


def load_model_file(path: str | Path) -> nn.Module:
    """Load an ONNX model (``.onnx``: safe from anyone) or a ``torch.export`` program (``.pt2``: runs
    its author's code; saved with ``torch.export.save(torch.export.export(model, (x,)), path)``)."""
    path = Path(path)
    if not path.is_file():
        raise PocketMLError(f"model file {path} does not exist",
                            "pass an .onnx file (torch.onnx.export), a .pt2 file (torch.export.save), "
                            "or a built-in name")
    if path.suffix == ".onnx":
        from pocketml.models.onnx_file import load_onnx

        return load_onnx(path)
    if path.suffix != ".pt2":
        raise PocketMLError(f"model file {path} is neither .onnx nor .pt2",
                            "export the model with torch.onnx.export(model, (x,), 'model.onnx')")
    quiet = logging.getLogger("torch.export")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # torch logs its own warning before raising; ours says it better
    try:
        program = torch.export.load(str(path))
    except Exception as exc:  # a corrupt or foreign file: torch's reasons vary by version
        raise PocketMLError(f"model file {path} could not be read ({type(exc).__name__}: {str(exc)[:200]})",
                            "re-save it with torch.export.save; the file may be truncated or not a .pt2") from exc
    finally:
        quiet.setLevel(level)
    user_inputs = [n for n in program.graph.nodes if n.op == "placeholder"
                   and n.name in program.graph_signature.user_inputs]
    batch = user_inputs[0].meta["val"].shape[0] if len(user_inputs) == 1 else None
    if isinstance(batch, int) and batch != 1:
        raise PocketMLError(f"model file {path} was exported for a fixed batch of {batch}",
                            "export with a batch of 1, or a dynamic batch: torch.export.export(model, (x,), "
                            "dynamic_shapes={'x': {0: torch.export.Dim('batch')}})")
    model = ExportedModel(program.module(), static_batch=isinstance(batch, int))
    model.source_program = program  # its nodes name the user's layers (nn_module_stack): for messages
    return model


def example_input(path: str | Path) -> torch.Tensor:
    """Zeros of the input shape a ``.pt2`` was exported with (batch 1): an example for ``shrink --check``."""
    program = torch.export.load(str(path))
    user_inputs = [n for n in program.graph.nodes if n.op == "placeholder"
                   and n.name in program.graph_signature.user_inputs]
    if len(user_inputs) != 1:
        raise PocketMLError(f"model file {path} takes {len(user_inputs)} inputs; pocketml supports one",
                            "wrap the model so forward() takes a single tensor")
    shape = [1, *(int(d) for d in user_inputs[0].meta["val"].shape[1:])]
    return torch.zeros(shape, dtype=user_inputs[0].meta["val"].dtype)


class ExportedModel(nn.Module):
    """A loaded ``.pt2`` program as an ordinary module.

    An exported program is frozen in the mode it was exported in and refuses ``.train()`` /
    ``.eval()``; this wrapper makes those calls no-ops so the rest of pocketml needs no special case.
    """

    def __init__(self, program_module: nn.Module, static_batch: bool = False) -> None:
        super().__init__()
        self.program_module = program_module
        self.static_batch = static_batch  # exported for batch 1: run a batch one sample at a time

    def forward(self, x):
        if self.static_batch and x.shape[0] != 1:
            return torch.cat([self.program_module(sample) for sample in x.split(1)])
        return self.program_module(x)

    def train(self, mode: bool = True) -> ExportedModel:
        return self
