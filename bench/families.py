"""Op set, planner and families figures for BENCHMARKS.md (issue 4, part A).

    .venv/bin/python bench/families.py [--n-test 200] [--device esp32s3]

For each MLPerf Tiny-shaped built-in family (on its seeded synthetic data, see
pocketml/data/synthetic.py): parameters, MACs, the op kinds used, the static arena planned three
ways (greedy placement in capture order without in-place ops, as TFLite Micro's greedy planner
would place the same tensors; + in-place element-wise ops; + operator reordering), and shrink's
C-vs-reference mismatches on the test samples. Every number is computed in this run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from pocketml import shrink
from pocketml.compress.quantize import quantize
from pocketml.data.dataset import Split
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory
from pocketml.models import get_builtin

FAMILIES = ("digits-cnn", "ds-cnn", "resnet8", "fc-autoencoder")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--device", default="esp32s3", help="board for shrink (esp32s3: host C only, no QEMU)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in FAMILIES:
            spec = get_builtin(name)
            t = time.perf_counter()
            model, data = spec.trained(seed=0, progress=False)
            build_s = time.perf_counter() - t
            n = min(args.n_test, len(data.test))
            test = Split(data.test.x[:n], data.test.y[:n] if spec.has_labels else None)
            t = time.perf_counter()
            result = shrink(model, data.train.x[:256], test, args.device, Path(tmp) / name, name=name,
                            report=False)
            shrink_s = time.perf_counter() - t
            qgraph = quantize(capture(model, torch.as_tensor(data.train.x[:1]), name), data.train.x[:256])
            plain = plan_memory(qgraph, reorder=False, in_place=False).arena_bytes
            in_place = plan_memory(qgraph, reorder=False).arena_bytes
            full = plan_memory(qgraph)
            a = result.accuracy
            acc = "n/a" if a["c"] is None else f"{a['float']:.3f} / {a['c']:.3f}"
            rows.append((name, qgraph.param_count(), result.macs, len(qgraph.ops),
                         ", ".join(sorted({op.kind for op in qgraph.ops})), plain, in_place, full.arena_bytes,
                         f"{full.arena_bytes / plain:.2f}", n, result.c_mismatches, acc, f"{build_s:.1f}",
                         f"{shrink_s:.1f}"))
    print("| family | params | MACs | ops | op kinds | arena B: greedy, capture order | + in-place | + reorder "
          "(planned) | planned / greedy | test samples | C mismatches | acc float / C (synthetic) | build s "
          "| shrink s |")
    print("|" + "---|" * 14)
    for row in rows:
        print("| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
