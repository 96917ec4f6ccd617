"""``verify``: run an OUT folder's artifact in every runtime and compare each with the reference.

    reference          the numpy integer reference (``QuantGraph.run``) on OUT/verify/graph.npz
    c                  OUT/c built on the host, run through its stdin/stdout harness
    tflm               OUT/model.tflite in TFLite Micro
    litert             OUT/model.tflite in LiteRT, both resolvers (XNNPACK default; BUILTIN_REF)
    qemu               OUT/c cross-compiled for a Cortex-M4 and run in QEMU (deploy/cortexm)

Per runtime: samples compared, samples whose output differs from the reference in any byte,
the largest difference (int8 steps), arena/RAM, flash and latency. A model with several outputs
is compared on all of them (packed in order, as ``<prefix>_invoke`` writes them), with the
mismatching samples also counted per output. ``layers=True`` also cuts
the .tflite after every layer (each op's output becomes a model output) and names, for each
pair of runtimes, the first layer where they differ and how many of its elements do.

The contract is TFLite Micro's arithmetic: reference, C, TFLM and QEMU must agree exactly.
LiteRT is not bit-exact with TFLM by design (other kernels, other rounding in places); its
agreement is measured and reported, never required.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.deploy.c.build import build_host, measure_sections, model_sources, run_host
from pocketml.deploy.c.emit import CFLAGS
from pocketml.deploy.tflite import write_tflite
from pocketml.deploy.tflite.runtimes import check_tflite, run_tflite, smallest_tflm_arena
from pocketml.deploy.verify.bundle import SOURCE_FILE, Bundle, load_bundle
from pocketml.deploy.verify.latency import time_c, time_side_by_side
from pocketml.deploy.verify.probe import distinct_outputs, weak_evidence
from pocketml.devices.footprint import footprint
from pocketml.errors import PocketMLError
from pocketml.graph.ir import PER_INFERENCE
from pocketml.graph.planner import plan_memory

RUNTIMES = ("reference", "c", "tflm", "litert", "qemu")
DEFAULT_RUNTIMES = ("reference", "c", "tflm", "litert")
LITERT = ("litert-xnnpack", "litert-reference")
TIME_SAMPLES = 50  # inputs timed per pass (the first ones of the test split)


@dataclass(frozen=True)
class RuntimeCheck:
    """One runtime against the reference; None where a figure does not apply or was not measured."""

    runtime: str
    available: bool
    samples: int = 0
    mismatching_samples: int | None = None
    max_abs_diff: int | None = None
    arena_bytes: int | None = None
    ram_bytes: int | None = None
    flash_bytes: int | None = None
    latency_us: float | None = None
    note: str = ""
    per_output: tuple[int, ...] | None = None  # mismatching samples of each model output, in order

    def to_dict(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "available": self.available, "samples": self.samples,
                "mismatching_samples": self.mismatching_samples, "max_abs_diff": self.max_abs_diff,
                "mismatching_samples_per_output": None if self.per_output is None else list(self.per_output),
                "arena_bytes": self.arena_bytes, "ram_bytes": self.ram_bytes, "flash_bytes": self.flash_bytes,
                "latency_us": None if self.latency_us is None else round(self.latency_us, 3), "note": self.note}


@dataclass(frozen=True)
class LayerDiff:
    """How two runtimes differ at one layer (over every sample)."""

    layer: str
    kind: str
    elements: int
    elements_differing: int
    samples_differing: int
    max_abs_diff: int

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "kind": self.kind, "elements": self.elements,
                "elements_differing": self.elements_differing, "samples_differing": self.samples_differing,
                "max_abs_diff": self.max_abs_diff}


@dataclass(frozen=True)
class PairDivergence:
    """The first layer where runtimes ``a`` and ``b`` differ (None: they agree everywhere)."""

    a: str
    b: str
    first: LayerDiff | None
    per_layer: tuple[LayerDiff, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "first_divergence": self.first.to_dict() if self.first else None,
                "layers": [d.to_dict() for d in self.per_layer]}


@dataclass(frozen=True)
class VerifyReport:
    model: str
    samples: int
    checks: tuple[RuntimeCheck, ...]
    planned_arena_bytes: int
    tflm_arena_bytes: int | None  # smallest working arena (probed) or TFLM's own record
    tflm_arena_method: str
    layers: tuple[PairDivergence, ...] | None = None
    latency_method: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    latency_ratio: float | None = None  # C / TFLM: median of the interleaved rounds' ratios
    source_tflm_arena_bytes: int | None = None  # TFLM's arena on OUT/source.tflite (compile's input file)
    distinct_outputs: int | None = None  # different reference outputs (byte for byte) over the samples

    def check(self, runtime: str) -> RuntimeCheck | None:
        return next((c for c in self.checks if c.runtime == runtime), None)

    @property
    def exact(self) -> bool:
        """Every available bit-exact runtime (all but LiteRT) matches the reference on every sample."""
        return all(c.mismatching_samples == 0 for c in self.checks
                   if c.available and not c.runtime.startswith("litert"))

    def to_dict(self) -> dict[str, Any]:
        ratio = (self.planned_arena_bytes / self.tflm_arena_bytes) if self.tflm_arena_bytes else None
        c, t = self.check("c"), self.check("tflm")
        lat = (c.latency_us / t.latency_us) if c and t and c.latency_us and t.latency_us else None
        lat = self.latency_ratio if self.latency_ratio is not None else lat
        return {"model": self.model, "samples": self.samples, "exact": self.exact,
                "distinct_outputs": self.distinct_outputs,
                "weak_evidence": (None if self.distinct_outputs is None
                                  else weak_evidence(self.distinct_outputs, self.samples)),
                "runtimes": {ck.runtime: ck.to_dict() for ck in self.checks},
                "arena": {"planned_bytes": self.planned_arena_bytes, "tflm_bytes": self.tflm_arena_bytes,
                          "tflm_method": self.tflm_arena_method,
                          "ratio": None if ratio is None else round(ratio, 3),
                          "tflm_source_bytes": self.source_tflm_arena_bytes,
                          "ratio_source": (round(self.planned_arena_bytes / self.source_tflm_arena_bytes, 3)
                                           if self.source_tflm_arena_bytes else None)},
                "latency": {"c_over_tflm": None if lat is None else round(lat, 4), "method": self.latency_method},
                "layers": None if self.layers is None else [p.to_dict() for p in self.layers],
                "notes": list(self.notes)}


def _compare(got: np.ndarray, want: np.ndarray) -> tuple[int, int]:
    # int64: differences of int16 (16x8 layers) or int32 outputs must not wrap
    got, want = got.reshape(len(want), -1).astype(np.int64), want.reshape(len(want), -1).astype(np.int64)
    diff = np.abs(got - want)
    return int(np.sum(np.any(diff != 0, axis=1))), int(diff.max(initial=0))


def per_output_mismatches(got: np.ndarray, want: np.ndarray, sizes: list[int]) -> tuple[int, ...]:
    """Mismatching samples of each output, on packed [N, sum(sizes)] outputs."""
    got, want = got.reshape(len(want), -1), want.reshape(len(want), -1)
    edges = np.cumsum([0, *sizes])
    return tuple(int(np.sum(np.any(got[:, a:b] != want[:, a:b], axis=1)))
                 for a, b in zip(edges[:-1], edges[1:], strict=True))


def packed(outputs: tuple[np.ndarray, ...], n: int) -> np.ndarray:
    """A runtime's per-output arrays as one [N, output bytes] array, outputs in order (bytes read as int8)."""
    return np.concatenate([np.ascontiguousarray(o).reshape(n, -1).view(np.int8) for o in outputs], axis=1)


def parse_runtimes(runtimes: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if runtimes is None:
        return DEFAULT_RUNTIMES
    names = [r.strip() for r in runtimes.split(",")] if isinstance(runtimes, str) else list(runtimes)
    bad = [r for r in names if r not in RUNTIMES]
    if bad or not names:
        raise PocketMLError(f"unknown runtime(s): {', '.join(bad) or '(none given)'}",
                            f"choose from {','.join(RUNTIMES)} (comma-separated)")
    return tuple(dict.fromkeys(["reference", *names]))  # the reference is what everything is compared with


def verify(out: str | Path, runtimes: str | tuple[str, ...] | None = None, *, layers: bool = False,
           probe_arena: bool = True, latency: bool = True, passes: int = 3) -> VerifyReport:
    """Check OUT's artifact in ``runtimes`` (default reference,c,tflm,litert); see the module docstring.

    Parameters
    ----------
    out : an OUT folder written by ``shrink`` (model.tflite, c/, verify/).
    runtimes : names from ``RUNTIMES``, a tuple or a comma-separated string; "reference" is always run.
    layers : also find the first layer where each pair of runtimes diverges (default False).
    probe_arena : bisect TFLite Micro's smallest working arena in child processes (default True);
        otherwise report TFLM's own allocation record.
    latency : time the C and the TFLite runtimes on the first ``TIME_SAMPLES`` inputs (default True).
    passes : timed passes (the median is reported, default 3).
    """
    names = parse_runtimes(runtimes)
    bundle = load_bundle(out)
    return _verify(bundle, names, layers=layers, probe_arena=probe_arena, latency=latency, passes=passes)


def _verify(bundle: Bundle, names: tuple[str, ...], *, layers: bool, probe_arena: bool, latency: bool,
            passes: int) -> VerifyReport:
    graph, x = bundle.graph, bundle.inputs
    if any(name in names for name in ("tflm", "litert")):  # a damaged model.tflite is named before any runtime
        check_tflite(bundle.tflite)
    n = len(x)
    ref = graph.run_flat(x)
    sizes = [info.nbytes for info in graph.output_infos]
    n_out = len(sizes)
    plan = bundle.plan or plan_memory(graph)
    checks = [RuntimeCheck("reference", True, n, 0, 0, plan.arena_bytes, note="numpy integer reference",
                           per_output=(0,) * n_out)]
    outputs: dict[str, np.ndarray] = {"reference": ref}
    repeats = passes if latency else 0
    tflm_arena, arena_method, source_arena = None, "not measured (tflm not run)", None
    tflite_bytes = bundle.tflite.stat().st_size
    # C and TFLM both run: time them interleaved in one process (latency.py), not one after the other
    tx = graph.split_inputs(x) if len(graph.inputs) > 1 else x  # what the .tflite runtimes are given
    reset = graph.state_semantics() == PER_INFERENCE  # the .tflite runtimes reset their state per sample
    side = (time_side_by_side(bundle.c_dir, bundle.tflite, x[:TIME_SAMPLES], rounds=passes, n_outputs=n_out,
                              reset_state=reset)
            if latency and "c" in names and "tflm" in names and len(graph.inputs) == 1 else None)

    if "c" in names:
        got = bundle.c_outputs if bundle.c_outputs is not None else run_host(build_host(bundle.c_dir), x,
                                                                             graph.output_bytes)
        host = bundle.c_footprint
        if host is None:
            host = footprint(measure_sections(bundle.c_dir, model_sources(bundle.c_dir)), "host",
                             io_bytes=graph.input_bytes + graph.output_bytes)
        lat = None
        if latency:
            lat = 1e6 * (side.c_median if side else time_c(bundle.c_dir, x[:TIME_SAMPLES], passes))
        checks.append(RuntimeCheck("c", True, n, *_compare(got, ref), plan.arena_bytes, host.ram_bytes,
                                   host.flash_bytes, lat,
                                   "host cc; RAM = .bss+.data+I/O buffers, flash = .text+.rodata+.data (host ISA)",
                                   per_output_mismatches(got, ref, sizes)))
        outputs["c"] = got

    if "tflm" in names:
        run = run_tflite(bundle.tflite, tx, "tflm", n_outputs=n_out, repeats=0 if side else repeats,
                         time_samples=TIME_SAMPLES, reset_state=reset)
        got = packed(run.outputs, n)
        tflm_arena = run.arena_used_bytes
        arena_method = "TFLite Micro's allocation record (RecordingMicroAllocator total)"
        note = (f"arena head (activations) {run.arena_head_bytes} B; "
                "flash = the .tflite only (interpreter code not counted)")
        if probe_arena:
            probe = smallest_tflm_arena(bundle.tflite, tx, reported=run.arena_used_bytes)
            tflm_arena = probe.smallest_bytes
            arena_method = (f"smallest working arena, bisected to the byte in child processes "
                            f"({probe.probes} probes; allocation record {probe.reported_bytes} B)")
        source_arena = _source_arena(bundle, x, probe_arena)
        checks.append(RuntimeCheck("tflm", True, n, *_compare(got, ref), tflm_arena, None,
                                   tflite_bytes, _us(side.tflm_median if side else run.seconds_per_inference), note,
                                   per_output_mismatches(got, ref, sizes)))
        outputs["tflm"] = got

    if "litert" in names:
        for rt in LITERT:
            try:
                run = run_tflite(bundle.tflite, tx, rt, n_outputs=n_out, repeats=repeats, time_samples=TIME_SAMPLES,
                                 reset_state=reset)
            except PocketMLError as exc:  # reported, not required: e.g. LiteRT has no int8-memory SVDF and crashes
                checks.append(RuntimeCheck(rt, False, note=f"failed on this model: {exc.problem}"[:300]))
                continue
            got = packed(run.outputs, n)
            checks.append(RuntimeCheck(rt, True, n, *_compare(got, ref), None, None, tflite_bytes,
                                       _us(run.seconds_per_inference),
                                       "not bit-exact with TFLite Micro by design: agreement reported, not required",
                                       per_output_mismatches(got, ref, sizes)))
            outputs[rt] = got

    if "qemu" in names:
        checks.append(_qemu(bundle, x, ref, sizes))

    pairs = _layer_divergence(bundle, [r for r in ("tflm", *LITERT) if r in outputs]) if layers else None
    return VerifyReport(
        graph.name, n, tuple(checks), plan.arena_bytes, tflm_arena, arena_method, pairs,
        latency_method=_latency_method(side, passes, min(n, TIME_SAMPLES)) if latency else "not measured",
        latency_ratio=side.ratio if side else None, source_tflm_arena_bytes=source_arena,
        distinct_outputs=distinct_outputs(ref))


def _source_arena(bundle: Bundle, x: np.ndarray, probe: bool) -> int | None:
    """TFLite Micro's arena on the user's own file (OUT/source.tflite, written by ``compile``): the fair
    comparison, since pocketml's model.tflite spreads per-tensor scales into per-channel ones and can
    need more TFLM memory. Bisected like model.tflite's when ``probe``, else TFLM's allocation record."""
    from pocketml.deploy.tflite.reader import read_tflite

    source = bundle.out / SOURCE_FILE
    if not source.is_file():
        return None
    sample = read_tflite(source).source_inputs(x[:1])
    if probe:
        return smallest_tflm_arena(source, sample).smallest_bytes
    return run_tflite(source, sample, "tflm").arena_used_bytes


def _latency_method(side, passes: int, samples: int) -> str:
    litert = ("LiteRT: its own process, perf_counter around interpreter.invoke(), median over "
              f"{passes} passes of the first {samples} inputs")
    if side is None:
        return (f"host, one process per runtime, seconds per inference = median over {passes} passes of the "
                f"first {samples} inputs; C: clock_gettime around <prefix>_invoke, built {CFLAGS}; "
                "TFLite: perf_counter around interpreter.invoke() (the wheels' own builds)")
    return (f"host; C and TFLite Micro side by side in one process, interleaved over {passes} rounds of the "
            f"first {samples} inputs after a warm-up pass each (medians; ratio = median of the rounds' "
            f"ratios); C: clock_gettime around <prefix>_invoke, built {side.cflags}; TFLite Micro: "
            f"perf_counter around interpreter.invoke() (the wheel's own optimised build); {litert}")


def _us(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e6


def _qemu(bundle: Bundle, x: np.ndarray, ref: np.ndarray, sizes: list[int]) -> RuntimeCheck:
    try:
        from pocketml.deploy.cortexm import build_cortexm, run_qemu, toolchain_available
    except ImportError:
        return RuntimeCheck("qemu", False, note="pocketml.deploy.cortexm is not available")
    if not toolchain_available(need_qemu=True):
        return RuntimeCheck("qemu", False, note="arm-none-eabi-gcc / qemu-system-arm missing: `make cortexm-toolchain`")
    board = bundle.out / "c-dsp"  # the C for a board with the DSP extension, when OUT has one
    c_dir = board if (board / "model.c").is_file() else bundle.c_dir
    with tempfile.TemporaryDirectory(prefix="pocketml-verify-qemu-") as tmp:
        build = build_cortexm(c_dir, "cortex-m4f", tmp)
        run = run_qemu(build, x)
        stack = max([s for s in (build.stack_bound_bytes, int(run.stack_bytes.max())) if s is not None])
        return RuntimeCheck("qemu", True, len(x), *_compare(run.outputs, ref), None, build.ram_bytes(stack),
                            build.flash_bytes, None,
                            f"Cortex-M4 (mps2-an386), {c_dir.name}/ ({build.kernels} kernels, {build.opt}); "
                            f"{run.instructions_per_inference} instructions per inference (QEMU -icount: an estimate "
                            "of cycles)",
                            per_output_mismatches(run.outputs, ref, sizes))


def _layer_divergence(bundle: Bundle, tflite_runtimes: list[str]) -> tuple[PairDivergence, ...]:
    """Cut the model after every layer and compare every pair of runtimes layer by layer."""
    graph, x = bundle.graph, bundle.inputs
    names = [op.output for op in graph.ops]
    per_runtime = {"reference": graph.run_layers(x)}
    per_runtime["reference"] = {k: per_runtime["reference"][k].reshape(len(x), -1) for k in names}
    with tempfile.TemporaryDirectory(prefix="pocketml-layers-") as tmp:
        cut = Path(tmp) / "cut.tflite"
        cut.write_bytes(write_tflite(graph, outputs=names))
        for rt in tflite_runtimes:
            run = run_tflite(cut, graph.split_inputs(x) if len(graph.inputs) > 1 else x, rt, n_outputs=len(names),
                             reset_state=graph.state_semantics() == PER_INFERENCE)
            per_runtime[rt] = dict(zip(names, run.outputs, strict=True))
    pairs = []
    for a, b in itertools.combinations(per_runtime, 2):
        diffs = []
        for op, name in zip(graph.ops, names, strict=True):
            d = np.abs(per_runtime[a][name].astype(np.int64) - per_runtime[b][name].astype(np.int64))
            diffs.append(LayerDiff(op.name, op.kind, int(d.size), int(np.count_nonzero(d)),
                                   int(np.sum(np.any(d != 0, axis=1))), int(d.max(initial=0))))
        first = next((d for d in diffs if d.elements_differing), None)
        pairs.append(PairDivergence(a, b, first, tuple(diffs)))
    return tuple(pairs)


SHRINK_RUNTIMES = ("reference", "c", "tflm")


def verify_new_artifact(bundle: Bundle, runtimes: tuple[str, ...] = SHRINK_RUNTIMES) -> VerifyReport:
    """What ``shrink`` and ``compile`` run on the artifact still in memory (``bundle`` carries the plan, the
    C's outputs and footprint they computed): ``runtimes`` quickly, no arena probing, no timing
    (``pocketml verify OUT`` does both; TFLM's arena is its own allocation record)."""
    return _verify(bundle, parse_runtimes(",".join(runtimes)), layers=False, probe_arena=False, latency=False,
                   passes=0)
