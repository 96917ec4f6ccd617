"""``shrink(..., trainable=...)``: emit the training step beside the model, check it, measure it.

    plan_training (graph/training.py) ─▶ emit_train (OUT/c/train.c, train.h, pocketml_train.c/.h)
    ─▶ host build (-Werror) ─▶ the same batches through the numpy reference and the C: equal bit for bit
    ─▶ Cortex-M build (the board's core, with the board's kernels: on a core with the DSP extension
       train.c is emitted again into the board's C folder, its frozen layers on the DSP kernels):
       flash, RAM; in QEMU (M0+/M3/M4): the same batches, equal, and instructions per train step

``check_training`` is also what ``bench/ondevice.py`` runs on every test batch.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pocketml.deploy.c.dsp import PORTABLE, KernelTarget
from pocketml.deploy.c.train import TrainSource, emit_train
from pocketml.deploy.c.train_host import Commands, build_train_host, run_train_host
from pocketml.errors import PocketMLError
from pocketml.graph.training import TrainPlan, plan_training
from pocketml.outputs import write_atomic

if TYPE_CHECKING:
    from pocketml.deploy.cortexm.train import TrainCortexMReport

CHECK_BATCHES = 2  # batches of the test split shrink checks (bench/ondevice.py checks them all)
CHECK_BATCH = 16
CHECK_LR = 0.01


@dataclass(frozen=True)
class TrainCheck:
    """The C training step against the numpy reference, batch by batch (the state after each batch)."""

    batches: int
    samples: int
    mismatching_batches: int  # batches whose exported state differs from the reference in any bit
    max_abs_diff: float
    runtime: str  # "host" or "qemu"

    @property
    def exact(self) -> bool:
        return self.mismatching_batches == 0

    def to_dict(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "batches": self.batches, "samples": self.samples,
                "mismatching_batches": self.mismatching_batches, "max_abs_diff": self.max_abs_diff,
                "exact": self.exact}


def batch_commands(plan: TrainPlan, x_q: np.ndarray, labels: np.ndarray, lr: float, batch: int
                   ) -> tuple[Commands, list[np.ndarray]]:
    """Commands that train on ``x_q`` in order and export after every ``batch`` samples, and the reference's
    exported values at those points (computed by ``TrainPlan.step``)."""
    state = plan.initial_state()
    cmd = Commands(plan).load(plan.to_flat(state))
    expected = []
    for start in range(0, len(x_q), batch):
        for i in range(start, min(start + batch, len(x_q))):
            state = plan.step(state, x_q[i], int(labels[i]), lr)
            cmd.step(x_q[i], int(labels[i]), lr)
        cmd.export()
        expected.append(plan.to_flat(state))
    return cmd, expected


def compare(replies: list[np.ndarray], expected: list[np.ndarray], samples: int, runtime: str) -> TrainCheck:
    bad = sum(not np.array_equal(np.asarray(r, np.float32).view(np.uint32), e.view(np.uint32))
              for r, e in zip(replies, expected, strict=True))
    diff = max((float(np.max(np.abs(r.astype(np.float64) - e))) for r, e in zip(replies, expected, strict=True)),
               default=0.0)
    return TrainCheck(len(expected), samples, bad, diff, runtime)


def write_train_files(source: TrainSource, c_dir: Path, *, folder: str = "c") -> list[str]:
    """Write the training files into ``c_dir`` (atomically); a file already there must be the same (a shared
    kernel). Returns the files written, as ``<folder>/<name>``."""
    written = []
    for name, text in source.files.items():
        path = c_dir / name
        if path.exists():
            if path.read_text() != text:
                raise PocketMLError(f"{path} differs from the training step's copy", "this is a pocketml bug")
            continue
        write_atomic(path, text)
        written.append(f"{folder}/{name}")
    return written


def check_training(plan: TrainPlan, source: TrainSource, c_dir: Path, x_q: np.ndarray, labels: np.ndarray, *,
                   lr: float = CHECK_LR, batch: int = CHECK_BATCH, cflags: str | None = None) -> TrainCheck:
    """Build the training step on the host and compare it with the reference on ``x_q`` (batches of ``batch``)."""
    cmd, expected = batch_commands(plan, x_q, labels, lr, batch)
    with tempfile.TemporaryDirectory(prefix="pocketml-train-") as tmp:
        binary = build_train_host(c_dir, source.prefix, source.sources, tmp, cflags=cflags)
        replies = run_train_host(binary, cmd)
    return compare(replies, expected, len(x_q), "host")


@dataclass(frozen=True)
class TrainingReport:
    """``shrink(..., trainable=...)``'s training step: the plan, the files, the checks, the Cortex-M build."""

    plan: TrainPlan
    prefix: str
    files: tuple[str, ...]
    checks: tuple[TrainCheck, ...]
    cortexm: TrainCortexMReport | None = None  # None: not a Cortex-M board, or no toolchain
    inference_ram_bytes: int | None = None
    lr_checked: float = CHECK_LR

    @property
    def exact(self) -> bool:
        return all(c.exact for c in self.checks)

    @property
    def entry_points(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}_{e}" for e in ("train_step", "predict", "weights_export", "weights_import"))

    def to_dict(self) -> dict[str, Any]:
        cortexm = None
        if self.cortexm is not None:
            cortexm = {**self.cortexm.to_dict(), "inference_ram_bytes": self.inference_ram_bytes}
        return {**self.plan.to_dict(), "files": list(self.files), "lr_checked": self.lr_checked,
                "check": [c.to_dict() for c in self.checks], "exact": self.exact,
                "entry_points": list(self.entry_points), **({"cortexm": cortexm} if cortexm else {})}


def deploy_training(qgraph, c_dir: Path, core: str, *, name: str, trainable: str, bias_layers: int,
                    x_q: np.ndarray, labels: np.ndarray | None, inference_ram: int | None,
                    board_dir: Path | None = None, kernels: KernelTarget = PORTABLE) -> TrainingReport:
    """Plan, emit, check on the host and (when the board is a Cortex-M) in QEMU: result.json's ``training``.

    ``board_dir`` / ``kernels``: the folder of the C the board runs and its kernels (pipeline/deploy.py's
    ``board_c``); with DSP kernels the training step is emitted there too and that build is the one
    checked in QEMU and measured."""
    from pocketml.deploy.cortexm import is_cortexm, toolchain_available
    from pocketml.deploy.cortexm.toolchain import core_target
    from pocketml.deploy.cortexm.train import measure_train_cortexm

    if labels is None:
        raise PocketMLError("trainable needs labelled test data (the training step is checked on labelled batches)",
                            "pass test labels (a classification model), or drop trainable")
    plan = plan_training(qgraph, trainable, bias_layers)
    source = emit_train(plan, name)
    files = write_train_files(source, c_dir)
    board_source, board_c = source, c_dir
    if kernels.dsp and board_dir is not None:
        board_source, board_c = emit_train(plan, name, kernels=kernels), board_dir
        files += write_train_files(board_source, board_dir, folder=board_dir.name)
    n = min(len(x_q), CHECK_BATCHES * CHECK_BATCH)
    checks = [check_training(plan, source, c_dir, x_q[:n], labels[:n])]
    report = None
    if is_cortexm(core) and toolchain_available(need_qemu=core_target(core).runs_in_qemu):
        cmd, expected = batch_commands(plan, x_q[:n], labels[:n], CHECK_LR, CHECK_BATCH)
        report, run = measure_train_cortexm(board_c, board_source, core, cmd)
        if run is not None:
            checks.append(compare(run.replies, expected, n, "qemu"))
    return TrainingReport(plan, source.prefix, tuple(sorted(files)), tuple(checks), report, inference_ram)
