"""Split-inference figures for BENCHMARKS.md: every cut of ds-cnn and resnet8 over BLE and LoRa.

    nice .venv/bin/python bench/ondevice_split.py [--models ds-cnn,resnet8] [--radios ble,lora]
                                                  [--device nucleo_l476rg] [--samples 32] [--out out/bench-split]

Each model is shrunk for the board (seed 0; its OUT folder under ``--out``), then ``measure_split``
verifies every cut on ``--samples`` test inputs (the device part's C against the reference at the
cut; the end-to-end output against the whole model's reference, byte for byte), counts the device
part's instructions in QEMU (Cortex-M4) and prices each cut per radio, raw and entropy-coded:
device energy, gateway time (Raspberry Pi 4, cost-model estimate) and end-to-end latency.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pocketml.ondevice.split import measure_split
from pocketml.pipeline import shrink_builtin


def table(rep, coded) -> list[str]:
    doc = rep.to_json()
    lines = ["| cut | after | sent B | coded B | device instructions | device mJ | radio mJ | gateway ms | "
             "latency ms | exact | chosen |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in doc["cuts"]:
        mark = "+".join(m for m, key in (("E", "min_device_energy_cut"), ("L", "min_latency_cut"))
                        if doc[key] == c["after"])
        lines.append(f"| {c['after']} | {c['last_op']} | {c['raw_bytes']:,} | "
                     f"{'-' if c['coded_bytes'] is None else format(c['coded_bytes'], ',.0f')} | "
                     f"{c['device_instructions']:,.0f} | {1e3 * c['device_joules']:.3f} | "
                     f"{1e3 * c['radio_joules']:.3f} | "
                     f"{1e3 * c['gateway_seconds']:.2f} | {1e3 * c['latency_seconds']:.1f} | "
                     f"{'yes' if c['exact'] else 'NO'} | {mark} |")
    return lines


def _cell(s: dict) -> str:
    cut = "-" if s["cut"] is None else str(s["cut"])
    latency = "-" if s["latency_seconds"] is None else f"{1e3 * s['latency_seconds']:.1f}"
    return f"{cut} / {1e3 * s['device_joules']:.3f} / {latency}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="ds-cnn,resnet8")
    ap.add_argument("--radios", default="ble,lora")
    ap.add_argument("--device", default="nucleo_l476rg")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--out", type=Path, default=Path("out/bench-split"))
    args = ap.parse_args()
    for name in args.models.split(","):
        t = time.perf_counter()
        out = args.out / name
        shrink_builtin(name, args.device, out, progress=False, force=True)
        measured = measure_split(out, samples=args.samples)
        secs = time.perf_counter() - t
        for radio in args.radios.split(","):
            raw, coded = measured.report(radio), measured.report(radio, entropy=True)
            print(f"### {name} on {args.device} over {radio} to rpi4 ({measured.samples} samples verified per cut, "
                  f"{secs:.0f} s for shrink + every cut)\n")
            print("\n".join(table(raw, coded)))
            print()
            print("Chosen cuts (E: least device energy, L: least end-to-end latency), raw int8 vs entropy-coded, "
                  "and the offloading cascade of shrink over the same radio:\n")
            print("| strategy | raw: cut / device mJ / latency ms | coded: cut / device mJ / latency ms | accuracy |")
            print("|---|---|---|---|")
            for a, b in zip(raw.strategies(), coded.strategies(), strict=True):
                acc = "-" if a["accuracy"] is None else f"{100 * a['accuracy']:.1f}%"
                print(f"| {a['strategy']} | {_cell(a)} | {_cell(b)} | {acc} |")
            print()


if __name__ == "__main__":
    main()
