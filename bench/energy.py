"""Energy figures for BENCHMARKS.md (issue 8): digits-cnn on the Nano 33 BLE Sense.

    nice .venv/bin/python bench/energy.py [--out out/bench-energy] [--region FRA] [--reuse]

``--reuse`` skips training and shrink and reads an existing ``--out`` folder written by this script
(result.json, c/run_model, verify/inputs.npy): the budget and cascade are recomputed from it.

1. trains digits-cnn (seed 0) inside codecarbon's offline tracker (training CO2e, an estimate),
2. shrinks it for nano33ble (Cortex-M4F build run in QEMU: the instruction count per inference),
3. prints the energy budget at 1 inference per minute on a CR2032 and on 2xAA (BLE, LoRa),
   the send-raw vs compute-locally comparison for every radio, and the harvesting margins,
4. runs the offloading cascade on the whole test split: the device model answers when its
   softmax confidence is at least the threshold, else the raw input goes over the radio to a
   bigger model (an RBF SVM, gamma="scale", on the server, trained on the same train split), and writes the
   energy/accuracy curve into OUT/energy.html.
Every figure is an estimate from the constants in docs/energy.md.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from sklearn.svm import SVC

from pocketml import shrink
from pocketml.data.digits import load_digits
from pocketml.deploy.c import run_host
from pocketml.energy import budget_for, offload_cascade, track_emissions
from pocketml.models import get_builtin
from pocketml.report.energy import energy_section_html
from pocketml.result import profile_from_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/bench-energy")
    parser.add_argument("--region", default="FRA", help="ISO 3166 alpha-3 region for the carbon intensity")
    parser.add_argument("--reuse", action="store_true", help="reuse --out from an earlier run (no training)")
    args = parser.parse_args()
    out = Path(args.out)

    print("## Energy: digits-cnn on the Arduino Nano 33 BLE Sense (estimates)\n")
    print(f"Command: `nice .venv/bin/python bench/energy.py --region {args.region}{' --reuse' if args.reuse else ''}` "
          f"({time.strftime('%Y-%m-%d', time.gmtime())}). Every figure is an estimate from the constants "
          "in docs/energy.md.\n")
    data = load_digits()
    if not args.reuse:
        with track_emissions("train", args.region) as carbon:
            model, data = get_builtin("digits-cnn").trained(seed=0, progress=False)
        t = time.perf_counter()
        shrink(model, data.train.x, data.test, "nano33ble", out, name="digits-cnn")
        shrink_s = time.perf_counter() - t
        c = carbon.value
        print(f"- training (30 epochs, CPU): {c.seconds:.1f} s, {c.energy_kwh * 1e3:.4f} Wh, "
              f"{c.kg_co2e * 1e3:.5f} g CO2e in {c.region} ({c.method}); shrink took {shrink_s:.0f} s")
    doc = json.loads((out / "result.json").read_text())
    cm = doc["cortexm"] or {}
    print(f"- Cortex-M4F build: {cm.get('instructions_per_inference'):,} instructions per inference "
          f"(QEMU, {cm.get('qemu_samples')} test inputs, {cm.get('qemu_mismatches')} mismatches); "
          f"the model's one estimate: {doc['estimate']['cycles']:,} cycles ({doc['estimate']['method']})\n")

    print("| rate | radio | battery | J per inference | radio J per result | sleep W | average W | battery J "
          "| lifetime days |")
    print("|---|---|---|---|---|---|---|---|---|")
    budgets = {}
    profile = profile_from_json(doc)
    for radio, battery in (("ble", "cr2032"), ("lora", "cr2032"), ("ble", "2xaa"), ("lora", "2xaa")):
        b = budget_for(profile, "1/min", radio=radio, battery=battery)
        budgets[radio, battery] = b
        print(f"| 1/min | {radio} | {battery} | {b.joules_per_inference:.4e} | {b.joules_per_message:.4e} | "
              f"{b.sleep_watts:.2e} | {b.average_watts:.3e} | {b.battery_joules:,.0f} | {b.lifetime_days:,.1f} |")
    b = budgets["ble", "cr2032"]
    print(f"\nCycles: {b.cycles_method}. Sanity band: {b.sanity['nanojoules_per_mac']:.3g} nJ/MAC vs "
          f"{b.sanity['reference_nanojoules_per_mac']:.3g} nJ/MAC for MLPerf Tiny's DS-CNN reference "
          f"(ratio {b.sanity['ratio']:.2f}, {'inside' if b.sanity['plausible'] else 'OUTSIDE'} the 10x band).")
    for w in budgets["lora", "cr2032"].warnings:
        print(f"Warning (LoRa on CR2032): {w}")

    print(f"\nSend the raw input ({b.send_vs_compute[0]['raw_bytes']} B int8) vs compute here and send the "
          f"result ({b.bytes_per_message} B), per inference; federated update = the int8 weights "
          f"({doc['size_bytes']['int8']:,} B):\n")
    print("| radio | send raw J | compute + send result J | cheaper | raw / local | federated update J |")
    print("|---|---|---|---|---|---|")
    for r in b.send_vs_compute:
        print(f"| {r['radio']} | {r['send_raw_j']:.4e} | {r['compute_and_send_result_j']:.4e} | "
              f"{'compute locally' if r['local_wins'] else 'send raw'} | {r['ratio_raw_over_local']:.3g} | "
              f"{r['send_update_j']:.4e} |")
    print("\nHarvesting (daily need at 1/min with BLE: "
          f"{b.daily_joules:.4g} J):\n\n| harvester | J/day | sustains | margin |\n|---|---|---|---|")
    for h in b.harvest:
        print(f"| {h['harvester']} | {h['joules_per_day']:.4g} | {h['sustains']} | {h['margin']:.3g}x |")

    # --- offloading cascade on the whole test split ---
    # the device model's outputs: the deployed C (== reference, 0 mismatches) on the saved test inputs
    x_q = np.load(out / "verify" / "inputs.npy")
    q = run_host(out / "c" / "run_model", x_q, math.prod(doc["output"]["shape"])).astype(np.float64)
    logits = doc["output"]["scale"] * (q - doc["output"]["zero_point"])
    server = SVC(gamma="scale", C=10.0).fit(data.train.x.reshape(len(data.train.x), -1), data.train.y)
    server_pred = server.predict(data.test.x.reshape(len(data.test.x), -1))
    raw = math.prod(doc["input"]["shape"])
    sections = []
    for radio in ("lora", "ble"):
        casc = offload_cascade(profile, logits, data.test.y, server_pred, server="RBF SVM", radio=radio)
        points, chosen = casc.points, casc.chosen
        print(f"\nCascade over {radio} on {len(logits)} test samples (local = device model + sending its result; "
              f"offload = send the raw {raw} B + the answer, server model: RBF SVM): target accuracy = the "
              f"better extreme ({casc.target_accuracy:.4f})\n")
        print("| point | threshold | accuracy | mJ per inference | offloaded |\n|---|---|---|---|---|")
        for p in points:
            mark = " **chosen**" if p is chosen else ""
            thr = "-" if p.threshold is None else f"{p.threshold:.2f}"
            print(f"| {p.label}{mark} | {thr} | {p.accuracy:.4f} | {p.joules_per_inference * 1e3:.4g} | "
                  f"{p.offloaded_fraction:.3f} |")
        if chosen is not None:
            print(f"\nchosen threshold {chosen.threshold}: accuracy {chosen.accuracy:.4f} at "
                  f"{chosen.joules_per_inference * 1e3:.4g} mJ; beats all-local on accuracy: "
                  f"{chosen.accuracy > points[0].accuracy}; beats all-offloaded on energy: "
                  f"{chosen.joules_per_inference < points[-1].joules_per_inference} "
                  f"({points[-1].joules_per_inference / chosen.joules_per_inference:.2f}x less energy)")
        sections.append(energy_section_html(budget_for(profile, "1/min", radio=radio), (casc,)))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>energy: digits-cnn on nano33ble</title>"
            f"</head><body>{''.join(sections)}</body></html>")
    tmp = out / "energy.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out / "energy.html")
    print(f"\nCurve and tables: {out / 'energy.html'} (also the energy section of {out / 'report.html'}).\n")


if __name__ == "__main__":
    main()
