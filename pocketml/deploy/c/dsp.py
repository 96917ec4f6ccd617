"""Which kernels the emitter writes for a board: the portable C, or the DSP kernels for speed or size.

A board whose core has the Armv7E-M DSP extension (Cortex-M4/M7/M33: ``simd = "armv7e-m-dsp"`` in
the catalogue) gets each op's DSP kernel where its folder has one (``OpSpec.dsp_params``,
``pocketml/ops/dsp.py``) and that layer's constants allow it; the emitter (``emit.py``) does the
rest. Built for speed, weights are int16 and every layer gets its own function that inlines its
kernel with its constant parameters (``-O2``); built for size, int8 weights and one out-of-line
copy per kernel (``-Os``). ``docs/dsp.md`` has the details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pocketml.errors import PocketMLError

OPTIMIZE = ("speed", "size")
DSP_SIMD = "armv7e-m-dsp"


def check_optimize(optimize: str | None) -> None:
    """``--optimize`` is None (choose), ``speed`` or ``size``; anything else is refused before any work."""
    if optimize is not None and optimize not in OPTIMIZE:
        raise PocketMLError(f"--optimize must be one of {', '.join(OPTIMIZE)}, got {optimize!r}",
                            "pass --optimize speed (fewer instructions) or --optimize size (less flash)")


@dataclass(frozen=True)
class KernelTarget:
    """Which kernels the emitter writes: the portable C, or the DSP kernels built for speed or size."""

    dsp: bool = False
    optimize: str = "speed"

    def __post_init__(self) -> None:
        check_optimize(self.optimize)

    @property
    def label(self) -> str:
        """``portable``, ``dsp-speed`` or ``dsp-size``: what ``model.h``'s ``<PREFIX>_KERNELS`` says."""
        return f"dsp-{self.optimize}" if self.dsp else "portable"

    @property
    def wide(self) -> bool:
        """int16 weights (speed) rather than int8 (size)."""
        return self.optimize == "speed"


PORTABLE = KernelTarget()


def has_dsp(device: Any) -> bool:
    """The board's core runs the DSP kernels (Armv7E-M / Armv8-M Main with the DSP extension)."""
    return getattr(device, "simd", "none") == DSP_SIMD and str(getattr(device, "core", "")).startswith("cortex-m")
