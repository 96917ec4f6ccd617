"""Result: what ``shrink`` (or ``compile``) did and measured, the one thing reports render and tests read.

Every sub-result is a typed object (``Accuracy``, ``SizeBytes``, ``MemoryReport``, ``EnergyReport``,
``Verification``, the ``CortexMReport``, the ``Compressed`` recipe); dicts appear only in
``to_json()``, which is a public contract (README, "result.json"): keys are only ever added.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pocketml.devices.cost import CostEstimate
from pocketml.devices.device import Device, find_device, load_catalogue
from pocketml.energy.budget import InferenceProfile
from pocketml.errors import PocketMLError

if TYPE_CHECKING:  # the types of the sub-results; importing them is not needed to hold or render one
    from pocketml.compress.runner import Compressed
    from pocketml.deploy.cortexm.measure import CortexMReport
    from pocketml.deploy.training import TrainingReport
    from pocketml.deploy.verify.compare import VerifyReport
    from pocketml.energy.budget import EnergyBudget
    from pocketml.energy.offload import OffloadCascade
    from pocketml.graph.planner import Buffer, MemoryPlan


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


class Record:
    """A typed sub-result that also reads like the dict result.json holds for it (``result.accuracy["c"]``
    is ``result.accuracy.c``), so code written against the dicts keeps working. Subclasses define
    ``to_dict`` (their result.json entry)."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()


@dataclass(frozen=True)
class Accuracy(Record):
    """Fractions on the test split: float PyTorch, the int8 numpy reference, the compiled C (None without labels)."""

    float32: float | None
    int8: float | None
    c: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"float": self.float32, "int8": self.int8, "c": self.c}


@dataclass(frozen=True)
class SizeBytes(Record):
    """Weights and biases as float32, as int8 (int32 biases), and every byte the emitted C stores."""

    float32: int
    int8: int
    deployed: int

    def to_dict(self) -> dict[str, Any]:
        return {"float32": self.float32, "int8": self.int8, "deployed": self.deployed}


@dataclass(frozen=True)
class MemoryReport(Record):
    """The static memory plan of the board's build (``build``: which C runs it): execution order,
    arena bytes live at each step, every buffer, the arena's size, and the bytes of memory kept
    between invokes outside the arena (an SVDF's state)."""

    ops: tuple[str, ...]
    live_bytes: tuple[int, ...]
    buffers: tuple[Buffer, ...]
    arena_bytes: int = 0
    build: str = ""  # e.g. "c-dsp/ (the board's C), memory plan ram"
    state_bytes: int = 0  # memory the ops keep between invokes (SVDF): static arrays outside the arena

    @classmethod
    def from_plan(cls, graph, plan: MemoryPlan, build: str = "") -> MemoryReport:
        return cls(tuple(graph.ops[i].name for i in plan.order), tuple(plan.live_bytes()), tuple(plan.buffers),
                   plan.arena_bytes, build, graph.state_bytes())

    def to_dict(self) -> dict[str, Any]:
        return {"build": self.build, "arena_bytes": self.arena_bytes, "ops": list(self.ops),
                "live_bytes": list(self.live_bytes), "state_bytes": self.state_bytes,
                "buffers": [{"tensors": list(b.tensors), "offset": b.offset, "size": b.size, "first_op": b.first_op,
                             "last_op": b.last_op, "location": b.location} for b in self.buffers]}


@dataclass(frozen=True)
class EnergyReport(Record):
    """The energy budget at the default rate, radio and battery, and the offloading cascades (or why none)."""

    budget: EnergyBudget | None
    cascades: tuple[OffloadCascade, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.budget is None:
            return {"estimate": True, "error": self.error}
        doc = self.budget.to_dict()
        if self.cascades:
            doc["cascades"] = [c.to_dict() for c in self.cascades]
        return doc


@dataclass(frozen=True)
class SourceCheck(Record):
    """``compile``: the user's own .tflite run in TFLite Micro against the reference."""

    samples: int
    mismatching_samples: int
    mismatching_samples_per_output: tuple[int, ...]
    max_abs_diff: int
    inputs: str
    distinct_outputs: int | None = None  # different outputs (byte for byte) the samples produced

    @property
    def exact(self) -> bool:
        return self.mismatching_samples == 0

    @property
    def weak_evidence(self) -> bool:
        """Too few distinct outputs for agreement to tell two models apart (deploy/verify/probe.py)."""
        from pocketml.deploy.verify.probe import weak_evidence

        return self.distinct_outputs is not None and weak_evidence(self.distinct_outputs, self.samples)

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "mismatching_samples": self.mismatching_samples,
                "mismatching_samples_per_output": list(self.mismatching_samples_per_output),
                "max_abs_diff": self.max_abs_diff, "inputs": self.inputs,
                "distinct_outputs": self.distinct_outputs, "weak_evidence": self.weak_evidence,
                "note": "the source .tflite in TFLite Micro vs the numpy reference (the C is checked against the "
                        "reference in deploy-c)"}


@dataclass(frozen=True)
class Verification(Record):
    """The artifact checked in other runtimes (deploy/verify), or why it could not be."""

    report: VerifyReport | None
    error: str | None = None
    fix: str | None = None
    source: SourceCheck | None = None
    command: str = "pocketml verify OUT --runtimes reference,c,tflm,litert,qemu --layers"

    @property
    def exact(self) -> bool | None:
        if self.report is None:
            return None
        return self.report.exact and (self.source is None or self.source.exact)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = ({"error": self.error, "fix": self.fix} if self.report is None
                               else {**self.report.to_dict(), "command": self.command})
        if self.source is not None:
            doc["source_tflm"] = self.source.to_dict()
        if self.report is not None or self.source is not None:
            doc["exact"] = bool(self.exact)
        return doc


@dataclass
class Result:
    """What ``shrink`` / ``compile`` did and measured. Sub-results are typed; ``to_json`` is the contract."""

    device: Device
    model: str
    n_test: int
    accuracy: Accuracy
    size_bytes: SizeBytes
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
    cost: CostEstimate  # the one latency/energy estimate of this model (devices/cost.py; method named)
    layers: list[LayerRow]
    memory: MemoryReport
    stages: list[Stage] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    cortexm: CortexMReport | None = None  # the Cortex-M cross build and QEMU run (deploy/cortexm), if any
    energy: EnergyReport | None = None  # energy budget at the default rate/radio/battery (energy/)
    compression: Compressed | None = None  # recipe, weight storage, notes (compress/)
    verify: Verification | None = None  # the artifact checked in other runtimes (deploy/verify)
    outputs: list[TensorSpec] | None = None  # every model output in order (``output`` is the first)
    command: str = "shrink"  # what produced it: shrink (a float model quantized here) or compile (a .tflite)
    training: TrainingReport | None = None  # the on-device training step (deploy/training.py), if emitted

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "device": self.device.id,
            "device_name": self.device.name,
            "model": self.model,
            "n_test": self.n_test,
            "accuracy": self.accuracy.to_dict(),
            "size_bytes": self.size_bytes.to_dict(),
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
            "memory": self.memory.to_dict(),
            "stages": [s.to_dict() for s in self.stages],
            "files": self.files,
            "cortexm": None if self.cortexm is None else self.cortexm.to_dict(),
            "energy": None if self.energy is None else self.energy.to_dict(),
            "verify": None if self.verify is None else self.verify.to_dict(),
            **({"compression": self.compression.summary(self.flash_bytes, self.size_bytes.deployed)}
               if self.compression is not None else {}),
            **({"training": self.training.to_dict()} if self.training is not None else {}),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def profile(self) -> InferenceProfile:
        """What the energy budget needs: the one cost estimate, the bytes sent, the MACs."""
        outputs = self.outputs or [self.output]
        return InferenceProfile(self.device, self.cost.cycles, self.cost.method, math.prod(self.input.shape),
                                sum(math.prod(o.shape) for o in outputs), self.size_bytes.int8, self.macs)


def read_result_json(out: str | Path) -> dict[str, Any]:
    """``OUT/result.json`` parsed, or a PocketMLError saying what is wrong with it."""
    path = Path(out) / "result.json"
    if not path.is_file():
        raise PocketMLError(f"{path} does not exist", "pass the --out folder of `pocketml shrink` or `compile`")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PocketMLError(f"{path} is not valid JSON ({exc})", "re-run `pocketml shrink` to rewrite it") from exc


def profile_from_json(doc: dict[str, Any], devices: str | Path | None = None) -> InferenceProfile:
    """The :class:`InferenceProfile` of a parsed result.json (the contract's keys: see README).

    A result with a ``streaming`` section (``pocketml kws train``: a program listening continuously)
    gives the program's profile instead (:func:`streaming_profile`).
    """
    if doc.get("streaming"):
        return streaming_profile(doc, devices)
    try:
        board = find_device(doc["device"], load_catalogue(devices))
        estimate = doc["estimate"]
        outputs = doc.get("outputs") or [doc["output"]]  # every output is sent (int8, one byte each)
        return InferenceProfile(board, float(estimate["cycles"]), str(estimate.get("method", "")),
                                math.prod(doc["input"]["shape"]), sum(math.prod(o["shape"]) for o in outputs),
                                int(doc["size_bytes"]["int8"]), int(doc["macs"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PocketMLError(f"result.json lacks {exc} needed for the energy budget",
                            "pass a folder written by `pocketml shrink` (regenerate it with this version)") from exc


def streaming_profile(doc: dict[str, Any], devices: str | Path | None = None) -> InferenceProfile:
    """One "inference" = one period of the program's schedule: ``every_frames`` front-end frames and one
    model inference (QEMU instruction counts), ``inferences_per_second`` of them; a ``message_bytes``
    message per detection (``detections_per_hour``), not per period."""
    s = doc["streaming"]
    try:
        board = find_device(doc["device"], load_catalogue(devices))
        hz = float(s["inferences_per_second"])
        workload = {k: s[k] for k in ("frame_ms", "every_frames", "inferences_per_second",
                                      "frontend_instructions_per_frame", "model_instructions_per_inference",
                                      "instructions_per_second_of_audio", "detections_per_hour") if k in s}
        return InferenceProfile(
            board, float(s["instructions_per_inference_period"]),
            "QEMU instruction count of the whole program (front end every frame, the model every period) at 1 "
            "instruction per cycle (a lower bound on cycles)", math.prod(doc["input"]["shape"]),
            int(s.get("message_bytes", 4)), int(doc["size_bytes"]["int8"]), int(doc["macs"]), rate_hz=hz,
            messages_per_inference=min(1.0, float(s.get("detections_per_hour", 0.0)) / 3600.0 / hz),
            workload=workload, notes=("microphone and ADC power are not included",))
    except (KeyError, TypeError, ValueError) as exc:
        raise PocketMLError(f"result.json's streaming section lacks {exc}",
                            "regenerate the folder with `pocketml kws train`") from exc
