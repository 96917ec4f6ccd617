"""Every intermediate tensor of a third-party .tflite: TFLite Micro on the original file vs pocketml's reference.

    .venv/bin/python bench/tflm_layers.py --mirrors DIR [--samples 100] [--only NAME ...]

Where a model's final output says little (``bench/third_party.py`` flags few distinct outputs, e.g.
TFLite Micro's ``keyword_scrambled`` benchmark models, whose random weights drive the classifier to
one answer), the layers before it can still be compared. TFLite Micro runs the **original file**
with ``kPreserveAllTensors`` on the same probe inputs as ``third_party.py`` (seed 0), one interpreter
invoked on the samples in order (so ops with memory, e.g. SVDF, carry their state from one sample to
the next, as the reference's batch run does); after each invoke every op's output tensor is read
back and compared with the reference's, byte for byte, and so is the memory of an op that keeps one
(SVDF's variable tensor, ``<op>/memory``). Per tensor: the op's kind, how many distinct values it
took over the samples, and in how many samples TFLite Micro and the reference differ.
Models are read from the manifest ``third_party_models.toml`` (the same files, blob ids checked).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from third_party import extract, load_manifest  # noqa: E402 - the bench folder's manifest reader


def tensor_index(name: str) -> int | None:
    """The .tflite tensor index of a graph tensor read from a file (``t<index>:<name>``), else None."""
    head = name.split(":", 1)[0]
    return int(head[1:]) if head.startswith("t") and head[1:].isdigit() else None


def compare_layers(path: Path, samples: int) -> list[tuple[str, str, int, int]]:
    """(op, kind, distinct values of its output, samples where TFLite Micro differs) per op of the graph."""
    from tflite_micro.python.tflite_micro import runtime

    from pocketml.deploy.tflite.reader import read_tflite
    from pocketml.pipeline.from_tflite import probe_inputs, source_inputs

    imp = read_tflite(path)
    graph = imp.graph
    x_q = probe_inputs(imp, samples, seed=0)
    ref = graph.run_layers(x_q)
    xs = source_inputs(imp, x_q)
    xs = xs if isinstance(xs, list) else [xs]
    interp = runtime.Interpreter.from_bytes(path.read_bytes(), arena_size=4 << 20,
                                            intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    checked = {op.name: (op.kind, tensor_index(op.output), ref[op.output]) for op in graph.ops
               if tensor_index(op.output) is not None}  # ops the reader added have no tensor of the file
    checked.update(_memories(path, graph, ref))
    differ = dict.fromkeys(checked, 0)
    for i in range(samples):
        for k, x in enumerate(xs):
            interp.set_input(x[i:i + 1], k)
        interp.invoke()
        for name, (_, index, want) in checked.items():
            got = np.asarray(interp.GetTensor(index, 0)["tensor_data"]).reshape(-1)
            if got.shape != want[i].reshape(-1).shape or not np.array_equal(got.astype(np.int64),
                                                                            want[i].reshape(-1).astype(np.int64)):
                differ[name] += 1
    return [(name, kind, int(len(np.unique(want.reshape(samples, -1), axis=0))), differ[name])
            for name, (kind, _, want) in checked.items()]


def _memories(path: Path, graph, ref: dict) -> dict:
    """An op with memory (SVDF): its variable tensor after each sample, as the reference computes it,
    under the name ``<op>/memory`` (the operator's fifth input in the file)."""
    import tflite

    sub = tflite.Model.GetRootAs(path.read_bytes(), 0).Subgraphs(0)
    out = {}
    for op, data in zip(graph.ops, graph.op_data, strict=True):
        if not hasattr(op, "sequence"):
            continue
        index = int(op.name[2:].split("_", 1)[0])  # op<operator index>_<kind>
        memory = int(sub.Operators(index).Inputs(4))
        out[f"{op.name}/memory"] = (f"{op.kind} memory", memory, op.sequence(data, ref[op.inputs[0]])[1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True, help="folder of git repositories (as third_party.py)")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--only", action="append", default=[], help="run only models whose name contains this")
    args = parser.parse_args()
    entries = [e for e in load_manifest() if not args.only or any(s in e.name for s in args.only)]
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-layers-") as tmp:
        for entry, path in zip(entries, extract(entries, args.mirrors, Path(tmp)), strict=True):
            rows = compare_layers(path, args.samples)
            print(f"\n{entry.name} ({entry.repo} `{entry.commit[:10]}` {entry.path}), {args.samples} probe inputs, "
                  "seed 0, TFLite Micro on the original file\n")
            print("| tensor | kind | distinct values | samples where TFLM differs |\n|---|---|---|---|")
            for name, kind, distinct, differ in rows:
                print(f"| {name} | {kind} | {distinct} | {differ} |")
            print(f"\n{sum(d == 0 for *_, d in rows)} of {len(rows)} tensors identical in every sample", flush=True)


if __name__ == "__main__":
    main()
