"""The training step on a Cortex-M: cross-compiled, run in QEMU, its flash, RAM and instructions measured.

    build_train_cortexm(c_dir, source, core)     arm-none-eabi-gcc -Os (-O2 with DSP kernels built for
                                                 speed), as build.py: the training
                                                 program alone (entries: <m>_train_step, _predict,
                                                 _weights_export/_import) and the QEMU firmware
    run_train_qemu(build, commands)              the command stream of deploy/c/train_host.py through
                                                 firmware/train_harness.c: answers, instructions and
                                                 stack of every train step and prediction
    measure_train_cortexm(...)                   both, as one TrainCortexMReport

RAM = .data (the trainable part's initial values) + .bss (the training arena) + stack + the
caller's input buffer; flash = .text + .rodata + .ARM.exidx/.extab + .data.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.deploy.c.train import TrainSource
from pocketml.deploy.c.train_host import Commands
from pocketml.deploy.cortexm.build import (
    KERNEL_OPT,
    OPT_FLAGS,
    WARN_FLAGS,
    CortexMBuild,
    _callgraph,
    _deepest,
    _run,
    elf_sections,
)
from pocketml.deploy.cortexm.qemu import CALIB_INSNS, EXIT_CODES, INSNS_PER_TICK, qemu_command
from pocketml.deploy.cortexm.toolchain import core_target, require_tool
from pocketml.errors import PocketMLError

ENTRIES = ("train_step", "predict", "weights_export", "weights_import")


def build_train_cortexm(c_dir: str | Path, source: TrainSource, core: str = "cortex-m4f",
                        work: str | Path | None = None) -> CortexMBuild:
    """Cross-compile the training program in ``c_dir`` for ``core``: the program alone and the QEMU firmware."""
    c_dir = Path(c_dir)
    target = core_target(core)
    opt = KERNEL_OPT.get(source.kernels, "-Os")  # as model.c: -O2 for DSP kernels built for speed
    gcc = require_tool("arm-none-eabi-gcc")
    work = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="pocketml-train-m-"))
    work.mkdir(parents=True, exist_ok=True)
    firmware_dir = resources.files("pocketml.deploy.cortexm") / "firmware"
    script = work / "mps2_an386.ld"
    script.write_text((firmware_dir / "mps2_an386.ld").read_text())
    objects = []
    for name in source.sources:
        obj = work / f"{Path(name).stem}.o"
        _run([gcc, *target.cpu_flags, opt, *OPT_FLAGS, *WARN_FLAGS, "-fstack-usage", "-fcallgraph-info=su",
              f"-I{c_dir}", "-c", str(c_dir / name), "-o", str(obj)], f"compiling {name} for {core}")
        objects.append(obj)
    p = source.prefix
    link = [gcc, *target.cpu_flags, opt, "-nostartfiles", "-Wl,--gc-sections", f"-T{script}"]
    keep = [f"-Wl,-u,{p}_{e}" for e in ENTRIES]
    model_elf = work / "train.elf"
    _run([*link, f"-Wl,-e,{p}_train_step", *keep, *map(str, objects), "-lc", "-lgcc", "-o", str(model_elf)],
         f"linking the training step for {core}")
    harness = work / "train_harness.c"
    harness.write_text((firmware_dir / "train_harness.c").read_text().replace("@P@", p.upper()).replace("@p@", p))
    harness_obj = work / "train_harness.o"
    _run([gcc, *target.cpu_flags, opt, *OPT_FLAGS, "-Wall", "-Wextra", "-Werror", f"-I{c_dir}",
          f"-I{firmware_dir}", "-c", str(harness), "-o", str(harness_obj)],
         f"compiling the QEMU training harness for {core}")
    firmware = work / "firmware.elf"
    _run([*link, str(harness_obj), *map(str, objects), "-lc", "-lgcc", "-o", str(firmware)],
         f"linking the QEMU training firmware for {core}")
    frames, edges, dynamic = _callgraph(work)
    bounds = [_deepest(f"{p}_{e}", frames, edges) for e in ENTRIES]
    bound = None if dynamic or any(b is None for b in bounds) else max(bounds)
    in_bytes = int(_macro(c_dir / "train.h", f"{p.upper()}_TRAIN_INPUT_BYTES"))
    return CortexMBuild(core, target.cpu_flags, opt, source.kernels, p, in_bytes, 0, firmware, model_elf,
                        elf_sections(model_elf), bound, frames)


def _macro(header: Path, name: str) -> str:
    for line in header.read_text().splitlines():
        if line.startswith(f"#define {name} "):
            return line.split()[2].strip("()")
    raise PocketMLError(f"{header} does not define {name}", "regenerate the training step's C")


@dataclass(frozen=True)
class TrainQemuRun:
    """The answers of a command stream in QEMU, and each train step's and prediction's counts."""

    replies: list[np.ndarray]
    step_instructions: np.ndarray  # [train steps]
    predict_instructions: np.ndarray  # [predictions]
    stack_bytes: int  # deepest stack of any call (painted)


def run_train_qemu(build: CortexMBuild, commands: Commands, timeout: float = 900.0) -> TrainQemuRun:
    """Run ``commands`` through the training firmware in QEMU (Cortex-M4 model)."""
    kinds = [part[:1] for part in commands.parts]
    with tempfile.TemporaryDirectory(prefix="pocketml-qemu-train-") as tmp:
        folder = Path(tmp)
        (folder / "inputs.bin").write_bytes(commands.payload())
        try:
            proc = subprocess.run(qemu_command(build.firmware), cwd=folder, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PocketMLError(f"QEMU did not finish {len(kinds)} training commands in {timeout:.0f} s",
                                "send fewer commands, or raise the timeout") from exc
        if proc.returncode != 0:
            why = EXIT_CODES.get(proc.returncode, f"QEMU exited with status {proc.returncode}")
            raise PocketMLError(f"{why}: {proc.stderr.strip()[:1500]}", "this is a pocketml bug: please report it")
        answer = (folder / "outputs.bin").read_bytes()
        stats = np.fromfile(folder / "stats.bin", dtype="<u4").reshape(-1, 2)
        calib = np.fromfile(folder / "calib.bin", dtype="<u4")
    ratio = float(calib[0] - calib[1]) * INSNS_PER_TICK / CALIB_INSNS
    if not 0.98 < ratio < 1.02:
        raise PocketMLError(f"QEMU's instruction-count scale is off ({ratio:.3f}x)",
                            "check the qemu-system-arm version (7.2 was used here)")
    timed = [k for k in kinds if k in (b"T", b"P")]
    if len(stats) != len(timed):
        raise PocketMLError(f"the firmware timed {len(stats)} of {len(timed)} calls", "this is a pocketml bug")
    insns = stats[:, 0].astype(np.int64) * INSNS_PER_TICK
    is_step = np.array([k == b"T" for k in timed], bool)
    return TrainQemuRun(commands.split(answer), insns[is_step], insns[~is_step],
                        int(stats[:, 1].max()) if len(stats) else 0)


@dataclass(frozen=True)
class TrainCortexMReport:
    """Flash, RAM and instructions of the training program on a Cortex-M core."""

    core: str
    cpu_flags: str
    flash_bytes: int
    ram_bytes: int
    sections: dict[str, int]
    stack_bytes: int
    stack_bound_bytes: int | None
    stack_measured_bytes: int | None
    input_bytes: int
    instructions_per_step: int | None = None
    instructions_per_predict: int | None = None
    qemu_steps: int = 0
    kernels: str = "portable"  # the frozen layers' kernels (TrainSource.kernels)
    opt: str = "-Os"

    def to_dict(self) -> dict[str, Any]:
        return {"core": self.core, "cpu_flags": self.cpu_flags, "flash_bytes": self.flash_bytes,
                "ram_bytes": self.ram_bytes, "sections_bytes": self.sections, "stack_bytes": self.stack_bytes,
                "stack_bound_bytes": self.stack_bound_bytes, "stack_measured_bytes": self.stack_measured_bytes,
                "input_buffer_bytes": self.input_bytes,
                "instructions_per_step": self.instructions_per_step,
                "instructions_per_predict": self.instructions_per_predict, "qemu_steps": self.qemu_steps,
                "kernels": self.kernels, "opt": self.opt,
                "ram_method": ".data (the trainable part's initial values) + .bss (training arena) + stack "
                              "(max of the static bound and the stack painted in QEMU) + the caller's input buffer; "
                              "the training program linked alone (train.c, pocketml_train.c, kernels)",
                "instructions_method": "QEMU mps2-an386 -icount shift=0 instruction count per call (not cycles)"}


def measure_train_cortexm(c_dir: str | Path, source: TrainSource, core: str, commands: Commands | None = None,
                          *, keep: str | Path | None = None) -> tuple[TrainCortexMReport, TrainQemuRun | None]:
    """Build for ``core``; run ``commands`` in QEMU when the core runs there. Returns the report and the run."""
    folder = Path(keep) if keep is not None else Path(tempfile.mkdtemp(prefix="pocketml-train-m-"))
    try:
        build = build_train_cortexm(c_dir, source, core, folder)
        run = None
        if commands is not None and core_target(core).runs_in_qemu:
            require_tool("qemu-system-arm")
            run = run_train_qemu(build, commands)
        measured = run.stack_bytes if run is not None else None
        candidates = [s for s in (build.stack_bound_bytes, measured) if s is not None]
        if not candidates:
            raise PocketMLError("the training step's stack could not be bounded nor measured",
                                "run it in QEMU (a Cortex-M4 or M0+ board)")
        stack = max(candidates)
        ram = build.ram_bytes(stack)  # devices/footprint.py: .data + .bss + stack + the input buffer
        steps = run.step_instructions if run is not None else np.zeros(0)
        predicts = run.predict_instructions if run is not None else np.zeros(0)
        return TrainCortexMReport(
            core, " ".join(build.cpu_flags), build.flash_bytes, ram, dict(build.sections), stack,
            build.stack_bound_bytes, measured, build.input_bytes,
            int(round(float(np.mean(steps)))) if len(steps) else None,
            int(round(float(np.mean(predicts)))) if len(predicts) else None, len(steps), build.kernels,
            build.opt), run
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
