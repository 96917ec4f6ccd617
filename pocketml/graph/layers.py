"""Float layers: a captured model in NHWC, float32, each layer named after the op it will become.

What ``graph/capture.py`` builds from a PyTorch model and ``compress/quantize.py`` turns into a
:class:`~pocketml.graph.ir.QuantGraph`. A layer's ``kind`` is the kind of the quantized op it
becomes (``"conv2d"``, ``"fully_connected"``, ``"reshape"``, ...: the registry's keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FloatLayer:
    """One layer of the captured model, NHWC, float32, with its fused activation.

    ``source`` names the ATen node whose output is this layer's output (after fusion): the
    quantizer observes that node's values during calibration. ``inputs`` names the layers (or
    ``"input"``) it reads; empty means "the layer before it" (a chain).
    """

    kind: str  # the op it becomes: a key of pocketml.ops.registry.SPECS (conv2d, fully_connected, ...)
    name: str
    source: str
    out_shape: tuple[int, ...]  # per sample, NHWC
    weight: np.ndarray | None = None  # conv2d: OHWI; depthwise: [C_out, KH, KW, 1]; fully_connected: [out, in]
    bias: np.ndarray | None = None
    activation: str = "none"
    attrs: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    module: str = ""  # the user's layer it came from: "features.3.0 (Conv2d)" (for messages)


@dataclass
class FloatGraph:
    """A captured model: its input, its layers in a valid execution order, how to re-run it."""

    name: str
    input_shape: tuple[int, ...]  # per sample, NHWC
    input_source: str
    layers: list[FloatLayer]
    program: Any  # torch.export.ExportedProgram
    output: str = ""  # the layer holding the model's output ("" = the last layer)

    def observe(self, x):
        """Run the exported program on a batch (a torch.Tensor), returning every layer source's value.

        A helper layer that no FX node holds (the ``x · scale`` half of an unfused batch norm, SiLU's
        sigmoid) carries ``attrs["observe"] = (fx_node, fn)``: its value is ``fn`` of that node's. A
        layer whose op needs the range of a value inside it (an LSTM's cell state) carries
        ``attrs["observe_extra"] = {key: fn}``, ``fn(layer, xs, weight, bias)`` of its input values:
        seen as ``"<source>#<key>"`` (here and in the compression stages' mirror, ``compress/mirror.py``),
        its calibrated range reaches ``from_float`` as ``attrs["ranges"][key]`` (``compress/quantize.py``).
        """
        import torch

        derived = {ly.source: ly.attrs["observe"] for ly in self.layers if "observe" in ly.attrs}
        wanted = {self.input_source, *(layer.source for layer in self.layers), *(fx for fx, _ in derived.values())}
        seen = _run_exported(self.program, x, wanted)
        with torch.no_grad():
            for source, (fx, fn) in derived.items():
                seen[source] = fn(seen[fx])
            source_of, prev = {"input": self.input_source}, "input"
            for ly in self.layers:
                xs = [seen[source_of[name]] for name in (ly.inputs or (prev,))]
                for key, fn in ly.attrs.get("observe_extra", {}).items():
                    bias = None if ly.bias is None else torch.as_tensor(ly.bias)
                    seen[f"{ly.source}#{key}"] = fn(ly, xs, None, bias)
                source_of[ly.name], prev = ly.source, ly.name
        return seen


def _run_exported(program: Any, x, wanted: set[str]) -> dict:
    """Interpret the exported graph on ``x``, keeping the values of the ``wanted`` nodes."""
    import torch

    sig = program.graph_signature
    consts = {**sig.inputs_to_parameters, **sig.inputs_to_buffers,
              **getattr(sig, "inputs_to_lifted_tensor_constants", {})}
    state, extra = program.state_dict, program.constants
    args = []
    for node in program.graph.nodes:
        if node.op != "placeholder":
            continue
        key = consts.get(node.name)
        args.append(x if key is None else (state[key] if key in state else extra[key]))
    seen: dict[str, torch.Tensor] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            if "batch_axis" in n.meta:  # made for the example's batch (a GRU's zero state): make it for this one
                size = list(n.args[0])
                size[n.meta["batch_axis"]] = len(x)
                value = n.target(size, **n.kwargs)
            else:
                value = super().run_node(n)
            if n.name in wanted:  # an op returning several values (max with indices): its first
                seen[n.name] = (value[0] if isinstance(value, (tuple, list)) else value).detach()
            return value

    with torch.no_grad():
        Recorder(program.graph_module).run(*args)
    return seen


def nhwc_axis(dim: int, rank: int) -> int:
    """A PyTorch axis of a ``rank``-axis tensor (batch included) as the graph's per-sample NHWC axis:
    (N, C, H, W): C→2, H→0, W→1; (N, C, W): C→2, W→1; (N, F): F→0."""
    dim = dim % rank
    if dim == 0:
        raise ValueError("the batch axis")
    return {4: {1: 2, 2: 0, 3: 1}, 3: {1: 2, 2: 1}}.get(rank, {d: d - 1 for d in range(1, rank)})[dim]
