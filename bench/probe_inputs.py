"""Do probe inputs tell models apart better than uniform ones? Distinct outputs per model, both kinds.

    .venv/bin/python bench/probe_inputs.py --mirrors DIR [--samples 100] [--max-bytes 600000]

For every model of ``bench/third_party_models.toml`` that ``pocketml compile --check`` accepts (and
whose file is at most ``--max-bytes``), the numpy integer reference runs ``--samples`` inputs of each
kind (``pocketml.deploy.verify.probe``: ``uniform`` over the int8 range, and ``probe``, seed 0) and
the script prints how many distinct outputs (byte for byte) and distinct top-1 indices of the first
output each kind produced, and whether ``compile`` would call the evidence weak. More distinct
outputs = a comparison that can see more of the model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from third_party import extract, load_manifest  # noqa: E402

from pocketml.deploy.tflite.reader import read_tflite  # noqa: E402
from pocketml.deploy.verify.probe import distinct_outputs, make_inputs, weak_evidence  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True, help="as bench/third_party.py")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--max-bytes", type=int, default=600_000, help="skip larger files (time)")
    args = parser.parse_args()
    entries = [e for e in load_manifest() if e.bytes <= args.max_bytes]
    print(f"### Distinct outputs on {args.samples} inputs of each kind (seed 0), numpy reference; "
          f"models of the manifest up to {args.max_bytes:,} B that compile\n")
    print("| model | outputs (first) | uniform: distinct outputs | uniform: distinct top-1 | probe: distinct outputs "
          "| probe: distinct top-1 |")
    print("|---|---|---|---|---|---|", flush=True)
    more = same = fewer = weak_u = weak_p = 0
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-probe-") as tmp:
        for entry, path in zip(entries, extract(entries, args.mirrors, Path(tmp)), strict=True):
            imp = read_tflite(path, strict=False)
            if imp.graph is None:
                continue
            graph = imp.graph
            first = graph.output_infos[0].nbytes
            row = []
            for kind in ("uniform", "probe"):
                x = make_inputs(graph.input_infos, args.samples, 0, kind)
                out = np.concatenate([graph.run_flat(x[i:i + 20]) for i in range(0, len(x), 20)])
                n = distinct_outputs(out)
                top = len(np.unique(np.argmax(out[:, :first], axis=1)))
                row.append((n, top, weak_evidence(n, args.samples)))
            (nu, tu, wu), (np_, tp, wp) = row
            more, same, fewer = more + (np_ > nu), same + (np_ == nu), fewer + (np_ < nu)
            weak_u, weak_p = weak_u + wu, weak_p + wp
            flag = lambda w: " (weak)" if w else ""  # noqa: E731
            print(f"| {entry.name} | {first} | {nu}{flag(wu)} | {tu} | {np_}{flag(wp)} | {tp} |", flush=True)
    print(f"\nprobe inputs gave more distinct outputs on {more} models, as many on {same}, fewer on {fewer}; "
          f"weak evidence: uniform {weak_u}, probe {weak_p}")


if __name__ == "__main__":
    main()
