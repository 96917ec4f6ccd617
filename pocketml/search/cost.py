"""What a candidate costs on a board, known exactly before any training.

Bytes do not depend on the weights' values, only on the shapes, so each candidate is costed
with *random* weights: build it, capture it, quantize it on a tiny calibration batch, plan its
memory (``graph/planner.py``) and emit its C (``deploy/c/emit.py``). That gives

* ``arena_bytes`` and ``const_bytes`` exactly (the planner's arena, the emitter's constant arrays;
  int4 layers are packed two weights per byte and decoded into one scratch buffer, counted in RAM,
  exactly as ``shrink`` emits them);
* ``ram_bytes`` and ``flash_bytes`` by the same measurement ``shrink`` makes: the emitted
  ``model.c`` and kernels compiled with host ``gcc -Os`` (``.bss + .data`` + the caller's input
  and output buffers; ``.text + .rodata + .data``). Constant data is exact; code size is the host
  ISA's, so flash is an estimate of a board build, and labelled so;
* latency and energy from ``devices/cost.py`` (estimates).

Flash and RAM follow the one rule of ``devices/footprint.py`` (on an 8-bit AVR the constant
bytes count in RAM too), so ``match`` and ``shrink`` always agree on whether a model fits.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pocketml.compress.quantize import quantize
from pocketml.compress.runner import weight_storage
from pocketml.deploy.c import emit_c
from pocketml.deploy.c.build import measure_sections
from pocketml.devices import Device, estimate_cost
from pocketml.devices.footprint import footprint
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory
from pocketml.search.space import Architecture, build, layer_bits, resize

COST_SEED = 0  # the random weights used for costing; bytes do not depend on them


@dataclass(frozen=True)
class Budget:
    """What a deployed model may use: the board's SRAM and flash, optional latency/energy caps."""

    ram_bytes: int
    flash_bytes: int
    latency_ms: float | None = None
    energy_uj: float | None = None

    @classmethod
    def for_device(cls, device: Device, *, max_ram: int | None = None, max_flash: int | None = None,
                   max_latency_ms: float | None = None, max_energy_uj: float | None = None) -> Budget:
        ram = device.sram_bytes if max_ram is None else min(max_ram, device.sram_bytes)
        flash = device.flash_bytes if max_flash is None else min(max_flash, device.flash_bytes)
        return cls(ram, flash, max_latency_ms, max_energy_uj)

    def misses(self, ram: int, flash: int, latency_ms: float, energy_uj: float) -> dict[str, float]:
        """Each budget exceeded → how far over it is, as a fraction (0.5 = 50 % over)."""
        over = {}
        for key, need, have in (("ram", ram, self.ram_bytes), ("flash", flash, self.flash_bytes),
                                ("latency", latency_ms, self.latency_ms), ("energy", energy_uj, self.energy_uj)):
            if have is not None and need > have:
                over[key] = need / have - 1 if have > 0 else float("inf")
        return over

    def to_dict(self) -> dict:
        return {"ram_bytes": self.ram_bytes, "flash_bytes": self.flash_bytes,
                "latency_ms": self.latency_ms, "energy_uj": self.energy_uj}


@dataclass(frozen=True)
class CandidateCost:
    """The deployed cost of one candidate on one board (bytes measured, time/energy estimated)."""

    arena_bytes: int
    const_bytes: int
    ram_bytes: int
    flash_bytes: int
    macs: int
    latency_ms: float
    energy_uj: float
    misses: dict[str, float]

    @property
    def fits(self) -> bool:
        return not self.misses

    def miss_text(self) -> str:
        if not self.misses:
            return "fits"
        return "; ".join(f"{k} over by {100 * v:.0f}%" for k, v in sorted(self.misses.items()))

    def to_dict(self) -> dict:
        return {"arena_bytes": self.arena_bytes, "const_bytes": self.const_bytes, "ram_bytes": self.ram_bytes,
                "flash_bytes": self.flash_bytes, "macs": self.macs, "latency_ms": round(self.latency_ms, 4),
                "energy_uj": round(self.energy_uj, 3), "fits": self.fits,
                "misses": {k: round(v, 4) for k, v in self.misses.items()}}


def measure_cost(arch: Architecture, calibration: np.ndarray, n_classes: int, device: Device,
                 budget: Budget) -> CandidateCost:
    """Cost ``arch`` on ``device`` without training (random weights, ``calibration`` in native size)."""
    calib = resize(calibration, arch.resolution)
    with torch.random.fork_rng():
        torch.manual_seed(COST_SEED)
        model = build(arch, calib.shape[1], n_classes).eval()
    graph = capture(model, torch.as_tensor(calib[:1]), "candidate")
    bits = layer_bits(arch, graph)
    qgraph = quantize(graph, calib, weight_bits=bits)
    plan = plan_memory(qgraph)
    # dense packing only: sparse storage depends on the trained weights' zeros, which can only shrink it
    source = emit_c(qgraph, plan, "candidate", weights=weight_storage(qgraph, bits, ("dense",)))
    kernels = tuple(sorted(f for f in source.files if f.endswith(".c") and f not in ("main.c", "model.c")))
    with tempfile.TemporaryDirectory(prefix="pocketml-cost-") as tmp:
        for fname, text in source.files.items():
            (Path(tmp) / fname).write_text(text)
        sections = measure_sections(Path(tmp), ["model.c"])
    kernel = _kernel_sections(kernels)
    sections = {k: sections[k] + kernel[k] for k in sections}
    fp = footprint(sections, device.core, io_bytes=qgraph.input_info.nbytes + qgraph.output_bytes)
    flash, ram = fp.flash_bytes, fp.ram_bytes
    outputs = sum(int(np.prod(qgraph.tensors[op.output].shape)) for op in qgraph.ops)
    est = estimate_cost(qgraph.macs(), outputs, device)
    return CandidateCost(plan.arena_bytes, source.const_bytes, ram, flash, qgraph.macs(), est.latency_ms,
                         est.energy_uj, budget.misses(ram, flash, est.latency_ms, est.energy_uj))


@functools.cache
def _kernel_sections(kernels: tuple[str, ...]) -> dict[str, int]:
    """Sections of the runtime kernels a model uses (the same for every model; measured once)."""
    from importlib import resources

    from pocketml.ops.registry import SPECS, kernel_source

    runtime = resources.files("pocketml.deploy.c") / "runtime"
    with tempfile.TemporaryDirectory(prefix="pocketml-kernels-") as tmp:
        for entry in runtime.iterdir():
            if entry.name.endswith((".c", ".h")):
                (Path(tmp) / entry.name).write_text(entry.read_text())
        for kind, spec in SPECS.items():
            if spec.c_kernel is not None:
                for fname in (spec.c_kernel, f"{kind}.h"):
                    (Path(tmp) / fname).write_text(kernel_source(kind, fname).read_text())
        return measure_sections(Path(tmp), list(kernels))


_UNITS_MS = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_latency_ms(text: str | float | None) -> float | None:
    """``"10ms"``, ``"500us"``, ``"0.2s"`` or a bare number of milliseconds → milliseconds."""
    if text is None or isinstance(text, (int, float)):
        return None if text is None else float(text)
    raw = text.strip().lower()
    for unit in sorted(_UNITS_MS, key=len, reverse=True):
        if raw.endswith(unit):
            number, scale = raw[: -len(unit)], _UNITS_MS[unit]
            break
    else:
        number, scale = raw, 1.0
    try:
        value = float(number) * scale
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise PocketMLError(f"cannot read the latency budget '{text}'",
                            "give a positive duration such as 10ms, 500us or 0.2s")
    return value
