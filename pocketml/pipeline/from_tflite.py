"""``compile``: an existing int8 ``.tflite`` in, the same verified C artifact ``shrink`` writes out.

    read (deploy/tflite/reader.py: every operator checked before anything is written)
    ─▶ the source .tflite run in TFLite Micro on random int8 inputs, compared with the reference
    ─▶ deploy (pipeline/deploy.py, shared with shrink): plan ─▶ emit C ─▶ build + run ─▶ Cortex-M
       ─▶ verify (reference, C, TFLite Micro on the rewritten model.tflite) ─▶ fit ─▶ Result

There are no labels, so the accuracy keys of ``result.json`` are null; what is proven is that the
C, the numpy reference and TFLite Micro running the user's own file agree byte for byte on
``samples`` random int8 inputs (``verify.source_tflm``). The source file is kept as
``OUT/source.tflite``; ``OUT/model.tflite`` is pocketml's rewrite of the same graph, which is
what ``pocketml verify OUT --layers`` cuts layer by layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.deploy.c.dsp import check_optimize
from pocketml.deploy.tflite.reader import SUPPORTED_TEXT, OperatorCheck, TFLiteImport, read_tflite
from pocketml.deploy.tflite.runtimes import run_tflite
from pocketml.deploy.verify.bundle import SOURCE_FILE
from pocketml.deploy.verify.compare import per_output_mismatches
from pocketml.deploy.verify.probe import INPUT_KINDS, distinct_outputs, make_inputs
from pocketml.devices import Device, find_device, load_catalogue
from pocketml.errors import PocketMLError
from pocketml.graph.ir import PER_INFERENCE, STREAMING
from pocketml.outputs import OutputFolder, write_atomic
from pocketml.pipeline.deploy import Progress, TestRun, deploy
from pocketml.pipeline.plans import check_memory
from pocketml.result import Result, SourceCheck, Stage

DEFAULT_SAMPLES = 200


@dataclass(frozen=True)
class CompileCheck:
    """``compile --check``: would this .tflite compile, operator by operator."""

    model: str
    compiles: bool
    operators: tuple[OperatorCheck, ...]
    input: dict[str, Any] | None
    output: dict[str, Any] | None  # the first output's edge (the only one for most models)
    supported: str = SUPPORTED_TEXT
    outputs: tuple[dict[str, Any], ...] = ()  # every output's edge, in the model's order

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "compiles": self.compiles, "input": self.input, "output": self.output,
                "outputs": list(self.outputs), "operators": [c.to_dict() for c in self.operators],
                "supported": self.supported}


def _edge_dict(edge) -> dict[str, Any] | None:
    if edge is None:
        return None
    return {"dtype": edge.dtype, "shape": list(edge.shape), "scale": edge.quant.scale,
            "zero_point": edge.quant.zero_point}


def check_tflite_model(model: str | Path) -> CompileCheck:
    """What would and would not compile, without building or writing anything."""
    imp = read_tflite(model, strict=False)
    return CompileCheck(Path(model).name, imp.graph is not None, imp.operators,
                        _edge_dict(imp.input), _edge_dict(imp.output),
                        outputs=tuple(_edge_dict(e) for e in imp.outputs))


def random_inputs(imp: TFLiteImport, samples: int, seed: int) -> np.ndarray:
    """``samples`` uniform random inputs of the graph's input shape and type (int8, or uint8), fixed ``seed``;
    a model with several inputs gets them packed back to back as raw bytes ([N, input_bytes] int8)."""
    return make_inputs(imp.graph.input_infos, samples, seed, "uniform")


def probe_inputs(imp: TFLiteImport, samples: int, seed: int) -> np.ndarray:
    """``samples`` probe inputs (around the input zero point, smooth, a realistic spread:
    ``deploy/verify/probe.py``), packed as ``random_inputs``."""
    return make_inputs(imp.graph.input_infos, samples, seed, "probe")


def source_inputs(imp: TFLiteImport, x_q: np.ndarray):
    """Graph inputs as the source .tflite takes them (``TFLiteImport.source_inputs``)."""
    return imp.source_inputs(x_q)


def run_source_in_tflm(path: str | Path, imp: TFLiteImport, x_q: np.ndarray, reset_state: bool = False) -> np.ndarray:
    """The source .tflite in TFLite Micro on int8 inputs, as int8 [N, output bytes]: every output
    flattened and packed in order (``QuantGraph.run_flat``, what the C's ``<prefix>_invoke`` writes).

    At a float edge the int8 sample is dequantized before the model's own QUANTIZE (which gives
    the same int8 back) and a float output is quantized with its DEQUANTIZE's parameters (which
    inverts it exactly), so the comparison stays byte for byte. ``reset_state``: TFLite Micro's
    variable tensors are reset before every sample (a model whose state resets per inference).
    """
    run = run_tflite(path, source_inputs(imp, x_q), "tflm", n_outputs=len(imp.outputs), reset_state=reset_state)
    outs = []
    for edge, out, info in zip(imp.outputs, run.outputs, imp.graph.output_infos, strict=True):
        if edge.dtype == "float32":
            out = edge.quant.quantize(out, info.dtype)  # int8, or int16 behind a 16x8 model's DEQUANTIZE
        outs.append(np.ascontiguousarray(out).reshape(len(x_q), -1).view(np.int8))  # a uint8 output's bytes
    return np.concatenate(outs, axis=1)


def compile_tflite(model: str | Path, device: str | Device, out: str | Path, *, name: str | None = None,
                   samples: int = DEFAULT_SAMPLES, seed: int = 0, devices: str | Path | None = None,
                   report: bool = True, force: bool = False, on_stage: Progress | None = None,
                   optimize: str | None = None, memory: str = "speed", inputs: str = "probe",
                   max_latency_ms: float | None = None, state: str = STREAMING) -> Result:
    """Compile an int8 ``.tflite`` to verified C for ``device`` into ``out`` (as ``shrink`` does).

    Parameters
    ----------
    model : path to the .tflite (TFLite converter output: int8 weights and activations, float32 or
        int8 input/output). Anything the project cannot run raises a PocketMLError naming the
        operator index, op name and option values, before anything is written.
    device : a board id from the catalogue (``pocketml devices``) or a ``Device``.
    out : the output folder, written whole or not at all (same layout and result.json keys as shrink);
        an existing one must be empty or a pocketml output (only pocketml's own files are replaced).
    name : the model's name and C prefix (default: the file's stem).
    samples : inputs compared across the C, the reference and TFLite Micro (default 200).
    seed : seed of those inputs.
    inputs : ``"probe"`` (default: smooth inputs around the input zero point with a realistic spread,
        ``pocketml.deploy.verify.probe``) or ``"uniform"`` (uniform random over the int8 range). The
        number of distinct outputs they produce is reported, with a warning when it is too few to
        tell models apart (``verify.source_tflm.distinct_outputs`` / ``weak_evidence``).
    devices : an extra TOML file of boards.
    report : also write report.html.
    force : write into a non-empty ``out`` that is not a pocketml output (your files there are kept).
    on_stage : called with each stage's name as it starts (the CLI shows it).
    optimize : ``"speed"`` or ``"size"`` for a board with the DSP extension (default: speed when it has
        room); see ``pocketml.pipeline.shrink``.
    memory : ``"speed"`` (default), ``"ram"`` (the smallest-RAM memory plan) or ``"balanced"`` (the
        smallest RAM within a latency budget: each candidate plan built for the board and run in
        QEMU; ``pipeline/plans.py``, docs/memory.md).
    max_latency_ms : with ``memory="balanced"``: the latency budget in ms (default: the speed plan's + 10%).
    state : what the recurrent state of the model's LSTMs means, which a .tflite cannot say:
        ``"streaming"`` (default, TFLite Micro's semantics: it persists from one invoke to the next,
        a model fed one frame per invoke) or ``"per-inference"`` (each invoke is one whole sequence
        from the reset state, a sequence classifier: the C resets it at every invoke, and TFLite
        Micro is reset before every sample when verified). SVDF's memory is always streaming: a
        model with one refuses ``"per-inference"``. See docs/compile.md, "Ops with memory".
    """
    path = Path(model)
    if samples < 1:
        raise PocketMLError(f"samples must be >= 1, got {samples}", "pass --samples 200 (or more)")
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
    check_optimize(optimize)
    check_memory(memory, max_latency_ms)
    if inputs not in INPUT_KINDS:
        raise PocketMLError(f"inputs {inputs!r} is not one of {', '.join(INPUT_KINDS)}",
                            "pass --inputs probe (the default) or --inputs uniform")
    folder = OutputFolder(out, force=force, command="compile")
    folder.check()
    t = time.perf_counter()
    imp = read_tflite(path, name)  # raises, naming every unsupported operator, before any output
    graph = imp.graph.with_state(state)  # raises on a state SVDF cannot have, before any output
    name = graph.name
    semantics = graph.state_semantics()
    reset = semantics == PER_INFERENCE
    read_stage = Stage("read-tflite", time.perf_counter() - t, {
        "source": path.name, "source_bytes": path.stat().st_size, "operators": len(imp.operators),
        "ops": len(graph.ops), "input": _edge_dict(imp.input), "output": _edge_dict(imp.output),
        "outputs": [_edge_dict(e) for e in imp.outputs], "state": semantics})

    x_q = make_inputs(graph.input_infos, samples, seed, inputs)
    chunk = len(x_q) if semantics == STREAMING else 100  # a streaming model's samples are one sequence
    ref_out = np.concatenate([graph.run_flat(x_q[i:i + chunk]) for i in range(0, len(x_q), chunk)])  # bounded memory
    t = time.perf_counter()
    say = on_stage or (lambda stage: None)
    say(f"run {path.name} in TFLite Micro on {samples} inputs")
    tflm_out = run_source_in_tflm(path, imp, x_q, reset_state=reset)
    diff = np.abs(tflm_out.astype(np.int16) - ref_out.astype(np.int16))
    kinds = "/".join(sorted({i.dtype for i in graph.input_infos}))
    source = SourceCheck(len(x_q), int(np.sum(np.any(diff != 0, axis=1))),
                         tuple(per_output_mismatches(tflm_out, ref_out, [info.nbytes for info in graph.output_infos])),
                         int(diff.max(initial=0)), f"{inputs} {kinds}, seed {seed}", distinct_outputs(ref_out))
    source_stage = Stage("source-tflm", time.perf_counter() - t, {
        "samples": source.samples, "mismatching_samples": source.mismatching_samples,
        "distinct_outputs": source.distinct_outputs})
    with folder.stage() as work:
        write_atomic(work / SOURCE_FILE, path.read_bytes())
        return deploy(graph, work, board, name=name, test=TestRun(x_q, ref_out, None, None, None),
                      size_float=4 * graph.param_count(), stages=[read_stage, source_stage], report=report,
                      source=source, extra_files={"source_tflite": SOURCE_FILE}, on_stage=on_stage,
                      command="compile", optimize=optimize, memory=memory, max_latency_ms=max_latency_ms)
