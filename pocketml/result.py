"""Result: what ``shrink`` did and measured, the one thing reports render and tests read.

``Result.to_json()`` is a public contract (README, "result.json"): keys are only ever added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pocketml.devices.cost import CostEstimate
from pocketml.devices.device import Device


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class LayerRow:
    """One op of the deployed graph, for the per-layer table and chart."""

    name: str
    kind: str
    out_shape: tuple[int, ...]
    macs: int
    stored_bytes: int  # int8 weights + int32 biases
    float_bytes: int  # the same parameters as float32

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "out_shape": list(self.out_shape),
                "macs": self.macs, "stored_bytes": self.stored_bytes, "float_bytes": self.float_bytes}


@dataclass(frozen=True)
class Stage:
    """What one pipeline stage did: its name, wall time and its own figures."""

    name: str
    seconds: float
    figures: dict[str, Any]

    def to_dict(self) -> dict:
        return {"name": self.name, "seconds": round(self.seconds, 3), **self.figures}


@dataclass
class Result:
    device: Device
    model: str
    n_test: int
    accuracy: dict[str, float]  # float, int8, c
    size_bytes: dict[str, int]  # float32, int8
    arena_bytes: int
    ram_bytes: int
    flash_bytes: int
    flash_method: str
    c_mismatches: int
    fits: bool
    fit_reason: str
    input: TensorSpec
    output: TensorSpec
    macs: int
    cost: CostEstimate
    layers: list[LayerRow]
    memory: dict[str, Any]  # {"buffers": [...], "live_bytes": [...], "ops": [...]}
    stages: list[Stage] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    cortexm: dict[str, Any] | None = None  # the Cortex-M cross build and QEMU run (deploy/cortexm), if any
    energy: dict[str, Any] | None = None  # energy budget estimate at the default rate/radio/battery (energy/)
    compression: dict[str, Any] = field(default_factory=dict)  # recipe, weight storage, notes (compress/)
    verify: dict[str, Any] | None = None  # the artifact checked in other runtimes (deploy/verify)
    outputs: list[TensorSpec] | None = None  # every model output in order (``output`` is the first)
    training: dict[str, Any] | None = None  # the on-device training step (deploy/training.py), if emitted

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device.id,
            "device_name": self.device.name,
            "model": self.model,
            "n_test": self.n_test,
            "accuracy": self.accuracy,
            "size_bytes": self.size_bytes,
            "arena_bytes": self.arena_bytes,
            "ram_bytes": self.ram_bytes,
            "flash_bytes": self.flash_bytes,
            "flash_method": self.flash_method,
            "c_mismatches": self.c_mismatches,
            "fits": self.fits,
            "fit_reason": self.fit_reason,
            "input": self.input.to_dict(),
            "output": self.output.to_dict(),
            "outputs": [o.to_dict() for o in (self.outputs or [self.output])],
            "macs": self.macs,
            "estimate": self.cost.to_dict(),
            "layers": [row.to_dict() for row in self.layers],
            "memory": self.memory,
            "stages": [s.to_dict() for s in self.stages],
            "files": self.files,
            "cortexm": self.cortexm,
            "energy": self.energy,
            "verify": self.verify,
            **({"compression": self.compression} if self.compression else {}),
            **({"training": self.training} if self.training else {}),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)
