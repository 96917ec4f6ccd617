"""Runs a .tflite in TFLite Micro or LiteRT in a child process (a bad model or arena can crash it).

Run as a script, not imported: it needs only numpy and the runtime, so it starts in a fraction
of a second. The parent (``runtimes.py``) reads what it writes:

    worker.py run RUNTIME MODEL INPUTS.npy|INPUTS.npz OUT.npz ARENA REPEATS N_OUTPUTS TIME_SAMPLES [RESET]
        (several model inputs: INPUTS.npz holds in0, in1, ..., one batch each; RESET 1: the variable
        tensors are reset before every sample, for a model whose state resets per inference)
        runs every sample (batch 1) and saves outputs out0, out1, ... and ``seconds``, the mean
        time of one ``invoke()`` over the first TIME_SAMPLES inputs (perf_counter around invoke
        only, median over REPEATS passes, after the untimed pass that collects the outputs);
        for TFLite Micro it then prints the allocation record (C-level stderr).
    worker.py batch FOLDER START
        runs FOLDER/model_K.tflite on FOLDER/inputs_K.npy in TFLite Micro for every K from the
        START-th on, writing out_K.npy (one output, [N, bytes]) or error_K.txt, and touching
        started_K first: if a model crashes the process, the parent starts again after it.
    worker.py probe MODEL INPUTS.npy
        reads arena sizes from stdin, one a line, and answers ``SIZE ok`` or ``SIZE fail``. An
        allocation that fails cleanly (RuntimeError) leaves the process usable (checked: the
        answers match fresh processes); one far too small can crash it, and the parent restarts.
"""

import sys
import time

import numpy as np


def _tflm(model: bytes, arena: int):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model, arena_size=arena)


def _litert(model: bytes, runtime_name: str):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = {"litert-xnnpack": OpResolverType.AUTO, "litert-reference": OpResolverType.BUILTIN_REF}
    interp = Interpreter(model_content=model, experimental_op_resolver_type=resolver[runtime_name])
    interp.allocate_tensors()
    return interp


def _inputs(path: str) -> list:
    """The batch of each model input: INPUTS.npy (one input) or INPUTS.npz with in0, in1, ..."""
    data = np.load(path)
    if isinstance(data, np.ndarray):
        return [data]
    with data:
        return [data[f"in{k}"] for k in range(len(data.files))]


class _Batches:
    """Several inputs' batches sliced together: ``xs[i:j]`` is the list of each input's samples i..j."""

    def __init__(self, xs: list) -> None:
        self.xs = xs

    def __len__(self) -> int:
        return len(self.xs[0])

    def __getitem__(self, s):
        return [x[s] for x in self.xs]


def run(runtime_name: str, model_path: str, inputs_path: str, out_path: str, arena: int, repeats: int,
        n_out: int, time_samples: int, reset: int = 0) -> None:
    model = open(model_path, "rb").read()
    x = _Batches(_inputs(inputs_path))
    if runtime_name == "tflm":
        interp = _tflm(model, arena)

        def set_input(samples):
            if reset:
                interp.reset()
            for k, sample in enumerate(samples):
                interp.set_input(sample, k)

        def outputs():
            return [interp.get_output(i).copy() for i in range(n_out)]
    else:
        interp = _litert(model, runtime_name)
        in_index = [d["index"] for d in interp.get_input_details()]
        out_index = [d["index"] for d in interp.get_output_details()]

        def set_input(samples):
            if reset:
                interp.reset_all_variables()
            for k, sample in enumerate(samples):
                interp.set_tensor(in_index[k], sample)

        def outputs():
            return [interp.get_tensor(i).copy() for i in out_index]

    results = []
    for i in range(len(x)):
        set_input(x[i:i + 1])
        interp.invoke()
        results.append(outputs())
    passes = []
    timed = _Batches(x[:time_samples])
    for _ in range(repeats):
        total = 0
        for i in range(len(timed)):
            set_input(timed[i:i + 1])
            t0 = time.perf_counter_ns()
            interp.invoke()
            total += time.perf_counter_ns() - t0
        passes.append(total / max(len(timed), 1) / 1e9)
    arrays = {f"out{j}": np.concatenate([r[j] for r in results]) for j in range(len(results[0]))} if results else {}
    np.savez(out_path, seconds=np.float64(np.median(passes)) if passes else np.float64(np.nan), **arrays)
    if runtime_name == "tflm":
        sys.stdout.flush()
        interp.print_allocations()


def probe(model_path: str, inputs_path: str) -> None:
    model = open(model_path, "rb").read()
    samples = [x[:1] for x in _inputs(inputs_path)]
    for line in sys.stdin:
        size = int(line)
        try:
            interp = _tflm(model, size)
            for k, sample in enumerate(samples):
                interp.set_input(sample, k)
            interp.invoke()
        except RuntimeError:
            print(size, "fail", flush=True)
            continue
        print(size, "ok", flush=True)
        del interp


def batch(folder: str, start: int) -> None:
    from pathlib import Path

    base = Path(folder)
    for model in sorted(base.glob("model_*.tflite"))[start:]:
        k = model.stem.split("_", 1)[1]
        (base / f"started_{k}").touch()
        try:
            interp = _tflm(model.read_bytes(), 1 << 20)
            outs = []
            for sample in np.load(base / f"inputs_{k}.npy"):
                interp.set_input(sample[None], 0)
                interp.invoke()
                outs.append(interp.get_output(0).copy().reshape(-1))
            np.save(base / f"out_{k}.npy", np.stack(outs))
        except Exception as exc:  # noqa: BLE001 - TFLite Micro refusing the model is an answer, not a crash
            (base / f"error_{k}.txt").write_text(f"{type(exc).__name__}: {exc}"[:300])


if __name__ == "__main__":
    if sys.argv[1] == "batch":
        batch(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "run":
        run(*sys.argv[2:6], *map(int, sys.argv[6:11]))
    elif sys.argv[1] == "probe":
        probe(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}")
