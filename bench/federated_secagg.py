"""Flower's SecAgg+ against plain FedAvg on the same fleet (issue #7): rerun with

    nice -n 10 .venv/bin/python bench/federated_secagg.py [--clients 10] [--rounds 3]

digits-cnn, IID, every client every round, the same seeds and local training. Prints, for plain
FedAvg (Message API) and SecAgg+ (legacy workflow, in-process LocalFleet): accuracy after each
round, uplink/downlink bytes as Flower serializes the messages, wall time; and the largest
|secure − plain| difference of the aggregated weights after round 1 next to the quantization
bound. Writes out/bench/federated_secagg.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pocketml.federated import run
from pocketml.federated.builtin import client_indices
from pocketml.federated.secagg import run_secagg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("out/bench/federated_secagg.json"))
    args = parser.parse_args()
    spec = dict(clients=args.clients, local_epochs=1, batch_size=32, seed=0)
    one_secure, one_plain = run_secagg(**spec, rounds=1), run(**spec, rounds=1)
    worst = max(float(np.abs(one_secure.final_arrays[k] - one_plain.final_arrays[k]).max())
                for k in one_plain.final_arrays)
    bound = one_secure.settings.error_bound([len(i) for i in client_indices("digits", args.clients, "iid", 0)])
    secure, plain = run_secagg(**spec, rounds=args.rounds), run(**spec, rounds=args.rounds)
    rows = [("FedAvg (plain)", plain.accuracy, plain.total_bytes_up, plain.total_bytes_down, plain.wall_time_s),
            ("FedAvg + SecAgg+", secure.accuracy, sum(secure.bytes_up), sum(secure.bytes_down), secure.wall_time_s)]
    print(f"\n### Secure aggregation (SecAgg+): digits, {args.clients} clients (all per round), IID, "
          f"{args.rounds} rounds\n")
    print("| aggregation | accuracy per round | bytes up | bytes down | wall s |")
    print("|---|---|---|---|---|")
    for name, acc, up, down, wall in rows:
        print(f"| {name} | {' / '.join(f'{a:.2%}' for a in acc)} | {up:,} | {down:,} | {wall:.1f} |")
    print(f"\nRound 1 aggregate: max |secure − plain| = {worst:.2e} per weight (bound {bound:.2e}, "
          f"quantization step {one_secure.settings.step:.2e}).")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"round1_max_abs_diff": worst, "round1_bound": bound,
                               "plain": plain.to_json(), "secagg": secure.to_json()}, indent=2, default=str))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
