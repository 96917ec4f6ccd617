"""Federated figures for BENCHMARKS.md: a Flower fleet whose clients train in C, against Python clients.

    nice .venv/bin/python bench/ondevice_federated.py [--clients 10] [--rounds 10] [--compress none,int8]
                                                      [--trainable last] [--device nano33ble] [--seed 0]

digits-cnn (trained on clean digits, int8) on a fleet of devices each with its own sensor shift;
the classifier (``--trainable``) is federated with FedAvg. The C clients run the emitted training
step (host harness, bit-exact with the Cortex-M4 build); the Python clients train the same part in
PyTorch autograd with the same samples, order and lr. Per round: accuracy of both on the shifted
test split, uplink bytes (Flower wire bytes and the payload a device sends) and the devices' energy
(QEMU instructions per train step x steps / clock x active power, plus the radio sending the
payload; estimates). One run per codec.
"""

from __future__ import annotations

import argparse

from pocketml.ondevice.federate import FederateInCSettings, federate_in_c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--compress", default="none,int8")
    ap.add_argument("--trainable", default="last")
    ap.add_argument("--device", default="nano33ble")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for codec in args.compress.split(","):
        s = FederateInCSettings(clients=args.clients, rounds=args.rounds, compress=codec, trainable=args.trainable,
                                device=args.device, seed=args.seed)
        doc = federate_in_c(s).to_json()
        c, py = doc["c_clients"], doc["python_clients"]
        print(f"### {args.clients} clients (all per round), IID, shifted devices, trainable {args.trainable}, "
              f"uplink codec {codec}, {doc['radio']} on {args.device} ({doc['seconds']:.0f} s)\n")
        print(f"Before round 1: {100 * c['initial_accuracy']:.2f}%. Largest |C − Python| accuracy gap over the rounds: "
              f"{100 * doc['accuracy_gap']:.2f} points; final C {100 * doc['final_accuracy_c']:.2f}% vs Python "
              f"{100 * doc['final_accuracy_python']:.2f}%. Trainable part {doc['trainable_part_bytes']:,} B as float32 "
              f"vs the whole float model {doc['full_model_bytes']:,} B. {doc['instructions_per_step']:,.0f} "
              f"instructions per train step ({doc['instructions_method']}).\n")
        print("| round | accuracy C % | accuracy Python % | uplink wire B | payload B | train steps | compute J | "
              "radio J | device J |")
        print("|---|---|---|---|---|---|---|---|---|")
        for i, e in enumerate(doc["energy_per_round"]):
            print(f"| {e['round']} | {100 * c['accuracy'][i]:.2f} | {100 * py['accuracy'][i]:.2f} | "
                  f"{c['bytes_up_per_round'][i]:,} | {e['payload_bytes']:,} | {e['train_steps']:,} | "
                  f"{e['compute_joules']:.3f} | {e['radio_joules']:.4f} | {e['joules']:.3f} |")
        print()


if __name__ == "__main__":
    main()
