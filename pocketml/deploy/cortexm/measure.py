"""One call for the pipeline and the bench: cross-build, run in QEMU, compare, and report the figures.

``measure_cortexm(c_dir, core, inputs, reference)`` returns a ``CortexMReport``: flash and RAM of
the model alone from the toolchain's own section sizes, the stack (static bound and measured),
and, where the core's code runs on QEMU's Cortex-M4 model, outputs compared with the reference
byte for byte and the instruction count per inference (the cycle estimate, labelled as such).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.deploy.cortexm.build import CortexMBuild, build_cortexm
from pocketml.deploy.cortexm.qemu import QemuRun, run_qemu
from pocketml.deploy.cortexm.toolchain import QEMU_MACHINE, core_target
from pocketml.errors import PocketMLError

INSTRUCTION_METHOD = ("instruction count, not cycles: QEMU mps2-an386 (Cortex-M4) with -icount shift=0, "
                      "SysTick ticks x 40 around each invoke call (resolution 40 instructions); "
                      "used as the cycle estimate (real Cortex-M4 cycles are higher: loads, taken branches "
                      "and flash wait states take more than one cycle)")


@dataclass(frozen=True)
class CortexMReport:
    """Flash, RAM and stack of the cross-compiled model; QEMU's comparison and instruction count."""

    core: str
    cpu_flags: str
    flash_bytes: int
    ram_bytes: int
    sections: dict[str, int]
    io_bytes: int
    stack_bytes: int
    stack_bound_bytes: int | None
    stack_measured_bytes: int | None
    qemu_samples: int = 0
    qemu_mismatches: int | None = None
    instructions_per_inference: int | None = None
    instructions_min: int | None = None
    instructions_max: int | None = None
    qemu_note: str = ""
    opt: str = "-Os"
    kernels: str = "portable"
    layers: tuple[dict[str, Any], ...] = ()  # per-layer instructions (profile build, one input): profile.py
    cycles: dict[str, Any] | None = None  # the cycle estimate from the instruction mix (cycles.py), if made

    @property
    def flash_method(self) -> str:
        return (f"arm-none-eabi-gcc {self.cpu_flags} {self.opt}, model and {self.kernels} kernels linked alone "
                "with --gc-sections "
                "(plus the libgcc/newlib routines they call; no harness or startup): "
                ".text + .rodata + .ARM.exidx + .data from arm-none-eabi-size -A")

    @property
    def ram_method(self) -> str:
        return ("same ELF: .data + .bss (arena) + stack + input and output buffers; stack = max(static bound "
                "from -fcallgraph-info=su frames, stack measured by painting in QEMU)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "core": self.core, "cpu_flags": self.cpu_flags, "opt": self.opt, "kernels": self.kernels,
            "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
            "sections_bytes": self.sections, "io_buffer_bytes": self.io_bytes,
            "stack_bytes": self.stack_bytes, "stack_bound_bytes": self.stack_bound_bytes,
            "stack_measured_bytes": self.stack_measured_bytes,
            "flash_method": self.flash_method, "ram_method": self.ram_method,
            "qemu_machine": QEMU_MACHINE if self.qemu_samples else None,
            "qemu_samples": self.qemu_samples, "qemu_mismatches": self.qemu_mismatches,
            "instructions_per_inference": self.instructions_per_inference,
            "instructions_min": self.instructions_min, "instructions_max": self.instructions_max,
            "instructions_method": INSTRUCTION_METHOD if self.qemu_samples else None,
            "estimate": True if self.qemu_samples else None,
            "note": self.qemu_note,
            **({"layers": list(self.layers)} if self.layers else {}),
            **({"cycles_estimate": self.cycles} if self.cycles else {}),
        }


def measure_cortexm(c_dir: str | Path, core: str, inputs: np.ndarray | None = None,
                    reference: np.ndarray | None = None, *, work: str | Path | None = None,
                    keep: bool = False) -> CortexMReport:
    """Cross-compile ``c_dir`` for ``core`` and measure it; run ``inputs`` in QEMU if the core allows.

    ``reference`` (int8, [N, output_bytes]) are the expected outputs of ``inputs``; mismatching
    samples are counted byte for byte. ``keep`` leaves the build folder (``work``) in place.
    """
    target = core_target(core)
    folder = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="pocketml-cortexm-"))
    try:
        build = build_cortexm(c_dir, core, folder)
        run: QemuRun | None = None
        note = ""
        if inputs is not None and len(inputs) and target.runs_in_qemu:
            run = run_qemu(build, inputs)
        elif inputs is not None and not target.runs_in_qemu:
            note = (f"{core} code uses instructions QEMU's Cortex-M4 model (mps2-an386) lacks: "
                    "cross-compiled and measured, not run")
        return _report(build, run, reference, note)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _report(build: CortexMBuild, run: QemuRun | None, reference: np.ndarray | None, note: str) -> CortexMReport:
    measured = int(run.stack_bytes.max()) if run is not None else None
    candidates = [s for s in (build.stack_bound_bytes, measured) if s is not None]
    if not candidates:
        raise PocketMLError("the stack of the model could not be bounded (a dynamic frame or recursion) and "
                            "was not measured", "run it in QEMU (a Cortex-M4 or M0+ board) to measure the stack")
    stack = max(candidates)
    mismatches = None
    if run is not None and reference is not None:
        ref = np.asarray(reference, dtype=np.int8).reshape(len(run.outputs), -1)
        mismatches = int(np.sum(np.any(run.outputs != ref, axis=1)))
    return CortexMReport(
        core=build.core, cpu_flags=" ".join(build.cpu_flags), flash_bytes=build.flash_bytes,
        ram_bytes=build.ram_bytes(stack), sections=dict(build.sections),
        io_bytes=build.io_bytes, stack_bytes=stack,
        stack_bound_bytes=build.stack_bound_bytes, stack_measured_bytes=measured,
        qemu_samples=len(run.outputs) if run is not None else 0, qemu_mismatches=mismatches,
        instructions_per_inference=run.instructions_per_inference if run is not None else None,
        instructions_min=int(run.instructions.min()) if run is not None else None,
        instructions_max=int(run.instructions.max()) if run is not None else None,
        qemu_note=note, opt=build.opt, kernels=build.kernels,
    )


QEMU_INSTRUCTION_BUDGET = 2_000_000_000  # about 20 s of QEMU per shrink; bench/cortexm.py runs every sample


def measure_for_device(c_dir: str | Path, core: str, inputs: np.ndarray, reference: np.ndarray,
                       *, budget: int = QEMU_INSTRUCTION_BUDGET, layers: list[tuple[str, str, int]] | None = None,
                       board: Any = None) -> CortexMReport | None:
    """``shrink``'s Cortex-M step: None unless ``core`` is a Cortex-M and the toolchain is installed.

    QEMU first runs one input to learn the instruction count, then as many test inputs as fit
    in ``budget`` instructions (all of them for small models); ``qemu_samples`` says how many.
    ``layers`` ((name, kind, MACs) of every op, by index): also profile each layer on the first
    input (profile.py), with a cycle estimate at ``board``'s clock and flash wait states.
    """
    from pocketml.deploy.cortexm.toolchain import is_cortexm, toolchain_available

    if not is_cortexm(core) or not toolchain_available(need_qemu=core_target(core).runs_in_qemu):
        return None
    if not core_target(core).runs_in_qemu:
        return measure_cortexm(c_dir, core, inputs[:1])
    with tempfile.TemporaryDirectory(prefix="pocketml-cortexm-") as tmp:
        build = build_cortexm(c_dir, core, tmp)
        first = run_qemu(build, inputs[:1])
        n = int(min(len(inputs), max(1, budget // max(1, first.instructions_per_inference))))
        run = run_qemu(build, inputs[:n]) if n > 1 else first
        note = "" if n == len(inputs) else (f"QEMU ran the first {n} of {len(inputs)} test inputs "
                                            f"(budget {budget:,} instructions); bench/cortexm.py runs all")
        report = _report(build, run, np.asarray(reference)[:n], note)
        if layers is None:
            return report
        from dataclasses import replace

        from pocketml.deploy.cortexm.profile import cycles_summary, layers_table, profile_layers

        wait_states = getattr(board, "flash_wait_states", None)
        profile = profile_layers(c_dir, core, inputs[:1], layers, wait_states, reuse=build)
        clock = getattr(board, "clock_mhz", None)
        return replace(report, layers=tuple(layers_table(profile)),
                       cycles=cycles_summary(profile, clock, wait_states) if clock else None)
