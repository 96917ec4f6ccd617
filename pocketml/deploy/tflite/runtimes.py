"""Run a ``.tflite`` in TFLite Micro and LiteRT, and find TFLite Micro's smallest working arena.

Every run happens in a child process (``worker.py``): a corrupt model or a too-small arena can
crash TFLite Micro, and a crash must become a clear error here, never take the caller down.

Runtimes:
    tflm               TFLite Micro's Python interpreter (``tflite-micro``), reference kernels
    litert-xnnpack     LiteRT (``ai-edge-litert``) with its default resolver (XNNPACK delegate)
    litert-reference   LiteRT with ``OpResolverType.BUILTIN_REF`` (its reference kernels)

Timing: the worker wraps ``interpreter.invoke()`` alone with ``time.perf_counter_ns`` (setting
the input and reading the output are outside), one sample at a time, after a warm-up pass; the
figure is the mean per inference, median over the passes. It includes the Python binding's
call overhead (well under a microsecond per call).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketml.deploy.process import child_failure
from pocketml.errors import PocketMLError

TFLITE_RUNTIMES = ("tflm", "litert-xnnpack", "litert-reference")
WORKER = Path(__file__).with_name("worker.py")
GENEROUS_ARENA = 4 << 20  # bytes: for runs that are not about the arena


@dataclass(frozen=True)
class TFLiteRun:
    """One runtime's outputs on a batch of samples, with its timing and (TFLM) arena record."""

    runtime: str
    outputs: tuple[np.ndarray, ...]  # one [N, ...] int8 array per model output
    seconds_per_inference: float | None
    arena_used_bytes: int | None = None  # TFLM's RecordingMicroAllocator total (head + tail)
    arena_head_bytes: int | None = None  # the non-persistent part: activations and scratch


@dataclass(frozen=True)
class ArenaProbe:
    """TFLite Micro's smallest arena that loads and runs the model, found by bisection."""

    smallest_bytes: int
    reported_bytes: int  # what TFLM's allocation record says it used
    probes: int  # arena sizes tried
    processes: int  # child processes started (one per failed probe, plus one)


TFLITE_FIX = "the .tflite may be corrupt or truncated: regenerate it with `pocketml shrink` (OUT/model.tflite)"


def _crash_message(what: str, returncode: int, stderr: str, model_path: Path) -> PocketMLError:
    return PocketMLError(f"{child_failure(what, returncode, stderr)} on {model_path}", TFLITE_FIX)


def check_tflite(model_path: Path) -> None:
    """Walk the flatbuffer's tables (identifier, subgraph, tensors, operators, buffers) before any
    runtime sees it: a truncated or corrupt file becomes a PocketMLError naming it."""
    from pocketml.formats.tflite import Model

    try:
        data = Path(model_path).read_bytes()
    except OSError as exc:
        raise PocketMLError(f"cannot read {model_path}: {exc.strerror}", "pass an existing .tflite file") from exc
    fix = TFLITE_FIX
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise PocketMLError(f"{model_path} is not a TFLite flatbuffer (no TFL3 identifier)", fix)
    try:
        model = Model.Model.GetRootAs(data, 0)
        if model.SubgraphsLength() < 1:
            raise ValueError("no subgraph")
        graph = model.Subgraphs(0)
        n_buffers = model.BuffersLength()
        for i in range(graph.TensorsLength()):
            tensor = graph.Tensors(i)
            tensor.ShapeAsNumpy(), tensor.Name()
            if tensor.Buffer() >= n_buffers:
                raise ValueError(f"tensor {i} points at buffer {tensor.Buffer()} of {n_buffers}")
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            op.InputsAsNumpy(), op.OutputsAsNumpy()
            if op.OpcodeIndex() >= model.OperatorCodesLength():
                raise ValueError(f"operator {i} has opcode index {op.OpcodeIndex()}")
        for i in range(n_buffers):
            model.Buffers(i).DataLength()
    except Exception as exc:  # flatbuffers raises struct.error, IndexError, ... on damaged input
        raise PocketMLError(f"{model_path} is a damaged TFLite flatbuffer ({type(exc).__name__}: {exc})", fix) from exc


def run_tflite(model_path: str | Path, inputs: np.ndarray, runtime: str, *, n_outputs: int = 1,
               repeats: int = 0, time_samples: int | None = None, arena_bytes: int = GENEROUS_ARENA,
               timeout: float = 1800, reset_state: bool = False) -> TFLiteRun:
    """Run every sample of ``inputs`` (int8, or float32 for a float-input model; [N, *shape] without
    batch) through ``runtime``. ``reset_state``: reset the variable tensors before every sample (a
    model whose state resets per inference, ``QuantGraph.state_semantics``); else they persist.

    ``repeats`` timed passes over the first ``time_samples`` inputs (default all) give
    ``seconds_per_inference``; with 0 it is None.
    """
    if runtime not in TFLITE_RUNTIMES:
        raise PocketMLError(f"unknown .tflite runtime {runtime!r}", f"choose from {', '.join(TFLITE_RUNTIMES)}")
    model_path = Path(model_path)
    check_tflite(model_path)
    names = {"tflm": "TFLite Micro", "litert-xnnpack": "LiteRT (XNNPACK)",
             "litert-reference": "LiteRT (BUILTIN_REF)"}
    with tempfile.TemporaryDirectory(prefix="pocketml-tflite-") as tmp:
        out_path = Path(tmp) / "out.npz"
        x_path = save_inputs(Path(tmp) / "x", inputs)  # the worker runs x[i:i+1]
        n = len(inputs[0]) if isinstance(inputs, (tuple, list)) else len(inputs)
        cmd = [sys.executable, str(WORKER), "run", runtime, str(model_path), str(x_path), str(out_path),
               str(arena_bytes), str(repeats), str(n_outputs), str(time_samples or len(inputs)), str(int(reset_state))]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not out_path.exists():
            raise _crash_message(names[runtime], proc.returncode, proc.stderr, model_path)
        with np.load(out_path) as z:
            outputs = tuple(z[f"out{j}"].reshape(n, -1) for j in range(n_outputs))
            seconds = float(z["seconds"])
    used = _allocation(proc.stderr, "total")
    head = _allocation(proc.stderr, "head")
    return TFLiteRun(runtime, outputs, None if np.isnan(seconds) else seconds, used, head)


def save_inputs(stem: Path, inputs) -> Path:
    """Write the batch(es) the worker reads: ``stem.npy`` for one input, ``stem.npz`` (in0, in1, ...) for
    a tuple of several. int8 unless given float32 (a float input the model QUANTIZEs), uint8 or int16."""
    def typed(x):
        x = np.asarray(x)
        return np.ascontiguousarray(x, dtype=x.dtype if x.dtype in (np.float32, np.uint8, np.int16) else np.int8)

    if isinstance(inputs, (tuple, list)):
        path = stem.with_suffix(".npz")
        np.savez(path, **{f"in{k}": typed(x) for k, x in enumerate(inputs)})
    else:
        path = stem.with_suffix(".npy")
        np.save(path, typed(inputs))
    return path


def _allocation(stderr: str, part: str) -> int | None:
    match = re.search(rf"Arena allocation {part} (\d+) bytes", stderr)
    return int(match.group(1)) if match else None


class _ProbeSession:
    """Asks a child process whether an arena size works; a new child after a crash."""

    def __init__(self, model_path: Path, x_path: Path) -> None:
        self.model_path, self.x_path = model_path, x_path
        self.proc: subprocess.Popen | None = None
        self.probes = self.processes = 0

    def works(self, size: int) -> bool:
        if self.proc is None:
            self.proc = subprocess.Popen([sys.executable, str(WORKER), "probe", str(self.model_path), str(self.x_path)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True)
            self.processes += 1
        self.probes += 1
        try:
            self.proc.stdin.write(f"{size}\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline().split()
        except BrokenPipeError:
            answer = []
        if not answer:  # the child crashed on this size: it fails, and the next probe gets a new child
            self.close()
            return False
        return answer == [str(size), "ok"]

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            self.proc.wait(timeout=60)
            self.proc = None

    def works_fresh(self, size: int) -> bool:
        """The same question in a new child (used to confirm the final answer)."""
        self.close()
        ok = self.works(size)
        self.close()
        return ok


def smallest_tflm_arena(model_path: str | Path, sample: np.ndarray, reported: int | None = None,
                        window: int = 256) -> ArenaProbe:
    """Bisect the smallest arena (bytes) with which TFLite Micro loads ``model_path`` and runs ``sample``.

    Starts from TFLM's own allocation record (``reported``, measured if not given), which
    works; checks that ``reported - window`` fails (else widens the window), then bisects to the
    byte. Assumes that a larger arena never fails where a smaller one works. The answer is
    confirmed in two fresh processes (it works; one byte less does not).
    """
    model_path = Path(model_path)
    first = tuple(x[:1] for x in sample) if isinstance(sample, (tuple, list)) else sample[:1]
    if reported is None:
        reported = run_tflite(model_path, first, "tflm").arena_used_bytes
        if reported is None:
            raise PocketMLError("TFLite Micro did not report its arena use", "upgrade tflite-micro")
    with tempfile.TemporaryDirectory(prefix="pocketml-arena-") as tmp:
        x_path = save_inputs(Path(tmp) / "x", first)
        session = _ProbeSession(model_path, x_path)
        try:
            hi = reported
            while not session.works(hi):
                hi *= 2
                if hi > 1 << 30:
                    raise PocketMLError(f"TFLite Micro did not run {model_path} with any arena up to 1 GiB",
                                        "check the model with `pocketml verify --runtimes tflm`")
            lo = max(hi - window, 0)
            while lo > 0 and session.works(lo):
                hi, lo = lo, max(lo - 2 * (hi - lo), 0)
            while hi - lo > 1:  # invariant: lo fails (or is 0), hi works
                mid = (lo + hi) // 2
                if session.works(mid):
                    hi = mid
                else:
                    lo = mid
            if not session.works_fresh(hi) or (hi > 1 and session.works_fresh(hi - 1)):
                raise PocketMLError(f"TFLite Micro's arena needs for {model_path} are not repeatable "
                                    f"around {hi} bytes", "rerun; if it persists, report it")
        finally:
            session.close()
    return ArenaProbe(hi, reported, session.probes, session.processes)


@dataclass(frozen=True)
class BatchRun:
    """One model of :func:`run_tflm_batch`: its outputs, or why TFLite Micro did not run it."""

    outputs: np.ndarray | None  # [N, output bytes] of the first output
    error: str | None = None  # TFLite Micro's refusal (an exception), or "crashed"


def run_tflm_batch(models: list[tuple[bytes, np.ndarray]], timeout: float = 600) -> list[BatchRun]:
    """Run many small models (each with its int8 inputs, [N, *shape]) in TFLite Micro in one child process.

    Much faster than a process per model (a fuzz test runs hundreds); a model that crashes the
    process is recorded as ``"crashed"`` and the next process starts after it.
    """
    with tempfile.TemporaryDirectory(prefix="pocketml-tflm-batch-") as tmp:
        folder = Path(tmp)
        for k, (model, x) in enumerate(models):
            (folder / f"model_{k:06d}.tflite").write_bytes(model)
            np.save(folder / f"inputs_{k:06d}.npy", np.ascontiguousarray(x, dtype=np.int8))
        start, crashed = 0, set()
        while start < len(models):
            proc = subprocess.run([sys.executable, str(WORKER), "batch", str(folder), str(start)],
                                  capture_output=True, text=True, timeout=timeout)
            started = len(list(folder.glob("started_*")))
            if proc.returncode != 0:
                crashed.add(started - 1)
            elif started < len(models):
                raise PocketMLError(f"the TFLite Micro batch stopped after {started} of {len(models)} models",
                                    "this is a pocketml bug: please report it")
            start = started
        runs = []
        for k in range(len(models)):
            out, err = folder / f"out_{k:06d}.npy", folder / f"error_{k:06d}.txt"
            if k in crashed:
                runs.append(BatchRun(None, "crashed"))
            else:
                runs.append(BatchRun(np.load(out)) if out.exists() else BatchRun(None, err.read_text()))
        return runs
