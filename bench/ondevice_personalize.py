"""Personalisation figures for BENCHMARKS.md: per-device adaptation in C with 10/50/100 local samples.

    nice .venv/bin/python bench/ondevice_personalize.py [--devices 5] [--seeds 0,1,2] [--samples 10,50,100]
                                                        [--trainable last,last+bias] [--epochs 10] [--lr 0.01]

Per seed, digits-cnn is trained on the clean digits; each device sees the validation and test images
through its own rotation, stroke width, gain and noise (pocketml.data.device_shift). The device
adapts with N of its own labelled samples by running the emitted C training step (host harness,
bit-exact with the Cortex-M4 build: bench/ondevice_train.py); the host baseline fine-tunes every
layer of the float model on the same N samples (Adam). Every method is scored on the same 300
held-out samples of each device. Prints the summary table (mean ± sd over devices x seeds) and the
per-device gains.
"""

from __future__ import annotations

import argparse

from pocketml.ondevice.personalize import PersonalizeSettings, personalize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=5)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--samples", default="10,50,100")
    ap.add_argument("--trainable", default="last,last+bias")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.01)
    args = ap.parse_args()
    settings = PersonalizeSettings(devices=args.devices, seeds=tuple(int(s) for s in args.seeds.split(",")),
                                   samples=tuple(int(n) for n in args.samples.split(",")),
                                   trainable=tuple(args.trainable.split(",")), epochs=args.epochs, lr=args.lr)
    result = personalize(settings)
    doc = result.to_json()
    clean = ", ".join(f"seed {k}: {100 * v:.1f}%" for k, v in doc["clean_accuracy"].items())
    print(f"### digits-cnn, {args.devices} devices x {len(settings.seeds)} seeds, held-out {settings.holdout} samples "
          f"per device ({doc['seconds']:.0f} s)\n")
    print(f"Base model on the clean test split: {clean}.\n")
    print("| method | N | runs | held-out accuracy % (mean ± sd) | gain, points (mean ± sd) | gain min..max |")
    print("|---|---|---|---|---|---|")
    for r in doc["summary"]:
        if r["method"] == "before" and r["samples"] != settings.samples[0]:
            continue
        n = "-" if r["method"] == "before" else r["samples"]
        print(f"| {r['method']} | {n} | {r['runs']} | {100 * r['mean']:.1f} ± {100 * r['std']:.1f} | "
              f"{100 * r['gain_mean']:+.1f} ± {100 * r['gain_std']:.1f} | "
              f"{100 * r['gain_min']:+.1f}..{100 * r['gain_max']:+.1f} |")
    print()
    for name, note in doc["methods"].items():
        print(f"- **{name}**: {note}")


if __name__ == "__main__":
    main()
