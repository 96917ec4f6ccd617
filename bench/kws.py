"""Benchmark of the keyword spotter: the figures in BENCHMARKS.md ("Keyword spotting").

    .venv/bin/python bench/kws.py [--seeds 0 1 2] [--out out/bench-kws] [--cache DIR] [train options]

For each training seed, ``pocketml kws train --seed S --json`` (same data: data seed 0, so the
voices and clips are generated once and read from the cache afterwards) trains the DS-CNN, QAT
int8s and shrinks it, emits the whole C program, checks C == Python on every test clip and
stream (and in QEMU), and measures it on the Cortex-M4. This script prints markdown tables:

1. 12-class accuracy on held-out espeak-ng voices and on Festival voices, per seed, mean ± std;
2. streams: false rejections and false accepts per hour at the chosen threshold, per voice set,
   and the detection-error trade-off curve (pooled over seeds);
3. C == Python: front end on every test clip, program on every stream, QEMU;
4. the front end's fixed-point error against the float definition;
5. Cortex-M4: the board's program (OUT/kws_c-dsp, the model's DSP kernels, when the board has them) and
   the portable one: instructions per frame / per inference / per second of audio, flash, RAM, and the
   duty cycle and CR2032 life listening continuously (pocketml.energy), also at other inference
   intervals (derived from the same measured instruction counts);
6. longer streams (``--long-streams N --long-minutes M``: ``pocketml kws evaluate OUT/seedS --streams N
   --minutes M --stream-seed 200 --no-synthetic --json``, streams the training run did not check),
   false rejections and false accepts per hour at the threshold and the DET curve, pooled over seeds;
7. the whole program with the model's portable kernels (OUT/kws_c, what ``kws train`` measures) and
   with the board's DSP kernels (OUT/c-dsp swapped in: ``cortexm.board_program``), side by side in
   QEMU on the same ``--m4-seconds`` of a held-out stream, both checked against Python's detections.
Writes OUT/summary.json. Slow (hours on 2 busy cores); ``--per-class`` and ``--epochs`` shrink it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

POCKETML = [sys.executable, "-m", "pocketml.cli"]
TRAIN_OPTIONS = ("width", "blocks", "epochs", "qat_epochs", "freq_mask", "every", "smooth", "threshold", "streams",
                 "minutes", "qemu_seconds", "per_class", "device")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default="out/bench-kws")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--width", type=int)
    ap.add_argument("--blocks", type=int)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--qat-epochs", type=int)
    ap.add_argument("--freq-mask", type=int)
    ap.add_argument("--every", type=int)
    ap.add_argument("--smooth", type=int)
    ap.add_argument("--threshold", type=float)
    ap.add_argument("--streams", type=int)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--qemu-seconds", type=float)
    ap.add_argument("--per-class")
    ap.add_argument("--device")
    ap.add_argument("--intervals", type=int, nargs="+", default=[5, 10, 15, 25, 50],
                    help="inference intervals (frames) for the derived duty-cycle table")
    ap.add_argument("--long-streams", type=int, default=0, help="more test streams per voice set and seed (0: none)")
    ap.add_argument("--long-minutes", type=float, default=10.0, help="length of each of the --long-streams")
    ap.add_argument("--m4-seconds", type=float, default=20.0,
                    help="seconds of a held-out stream for the portable vs DSP-kernel program comparison (0: skip)")
    ap.add_argument("--report-only", action="store_true",
                    help="read OUT/seed*/kws.json of earlier runs (e.g. seeds run in parallel) instead of training")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    if args.report_only:
        for seed in args.seeds:
            doc = json.loads((out / f"seed{seed}" / "kws.json").read_text())
            doc["bench_seconds"] = sum(doc["seconds"].values())
            runs[seed] = doc
        report(runs, args.intervals)
        _long_streams(out, runs, args.long_streams, args.long_minutes)
        _board_kernels(out, runs, args.m4_seconds)
        return
    for seed in args.seeds:
        cmd = [*POCKETML, "kws", "train", "--seed", str(seed), "--out", str(out / f"seed{seed}"), "--json"]
        if args.cache:
            cmd += ["--cache", args.cache]
        for opt in TRAIN_OPTIONS:
            v = getattr(args, opt)
            if v is not None:
                cmd += [f"--{opt.replace('_', '-')}", str(v)]
        print("$ pocketml " + " ".join(cmd[3:]), file=sys.stderr, flush=True)
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"seed {seed} failed:\n{proc.stderr[-4000:]}")
        runs[seed] = json.loads(proc.stdout)
        runs[seed]["bench_seconds"] = time.perf_counter() - t
    (out / "summary.json").write_text(json.dumps({str(k): v for k, v in runs.items()}, indent=1, default=str))
    report(runs, args.intervals)
    _long_streams(out, runs, args.long_streams, args.long_minutes)
    _board_kernels(out, runs, args.m4_seconds)


def _ms(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.4g} ± {v.std():.2g}" if len(v) > 1 else f"{v[0]:.4g}"


def report(runs: dict, intervals: list[int]) -> None:
    seeds = sorted(runs)
    first = runs[seeds[0]]
    s = first["settings"]
    print(f"### Keyword spotting: DS-CNN width {s['train']['width']}, {s['train']['blocks']} blocks, QAT int8, "
          f"{s['device']}; seeds {', '.join(map(str, seeds))} (data seed {s['data']['seed']})\n")
    splits = first["data"]["splits"]
    parts = [f"{k} {v['clips']} clips / {v['speakers']} voices" for k, v in splits.items()]
    print(f"Data: {', '.join(parts)}.\n")
    print("| seed | espeak-ng test (held-out voices) | Festival (another synthesizer) | float model, test | "
          "minutes |\n|---|---|---|---|---|")
    for seed in seeds:
        r = runs[seed]
        print(f"| {seed} | {r['accuracy']['test']['accuracy']:.2%} | {r['accuracy']['festival']['accuracy']:.2%} | "
              f"{r['training']['float_test_accuracy']:.2%} | {r['bench_seconds'] / 60:.0f} |")
    print(f"| mean ± std | {_ms([100 * runs[k]['accuracy']['test']['accuracy'] for k in seeds])} % | "
          f"{_ms([100 * runs[k]['accuracy']['festival']['accuracy'] for k in seeds])} % | "
          f"{_ms([100 * runs[k]['training']['float_test_accuracy'] for k in seeds])} % | |\n")
    groups = list(first["accuracy"]["test"].get("by_noise", {}))
    if groups:
        print("By added noise (mean over seeds):\n")
        print("| clips | espeak-ng test | Festival |\n|---|---|---|")
        for g in groups:
            cells = []
            for split in ("test", "festival"):
                vals = [runs[k]["accuracy"][split]["by_noise"].get(g, {}).get("accuracy") for k in seeds]
                vals = [v for v in vals if v is not None]
                cells.append(_ms([100 * v for v in vals]) + " %" if vals else "")
            print(f"| {g} | " + " | ".join(cells) + " |")
        print()
    det = first["streams"]["detector"]
    print(f"Streams (model every {det['every_frames']} frames = {det['every_frames'] * 20} ms, {det['smooth']} "
          f"inferences averaged, threshold {det['threshold']}, refractory {det['refractory_s']} s):\n")
    print("| seed | voices | minutes | keywords | false rejections | false accepts | per hour |")
    print("|---|---|---|---|---|---|---|")
    for seed in seeds:
        for engine, sc in runs[seed]["streams"]["at_threshold"].items():
            print(f"| {seed} | {engine} | {sc['hours'] * 60:.0f} | {sc['keywords']} | {sc['false_rejection_rate']:.1%} "
                  f"| {sc['false_accepts']} | {sc['false_accepts_per_hour']:.1f} |")
    print()
    _det_table(runs, seeds)
    _exactness(runs, seeds)
    _cortexm(runs, seeds, intervals)


def _det_table(runs: dict, seeds: list[int]) -> None:
    engines = list(runs[seeds[0]]["streams"]["det_curve"])
    print("Detection-error trade-off (mean over seeds; FRR / false accepts per hour):\n")
    print("| threshold | " + " | ".join(engines) + " |\n|---|" + "---|" * len(engines))
    curve0 = runs[seeds[0]]["streams"]["det_curve"][engines[0]]
    for i in range(0, len(curve0), 2):
        cells = []
        for e in engines:
            frr = np.mean([runs[k]["streams"]["det_curve"][e][i]["false_rejection_rate"] for k in seeds])
            fa = np.mean([runs[k]["streams"]["det_curve"][e][i]["false_accepts_per_hour"] for k in seeds])
            cells.append(f"{frr:.1%} / {fa:.1f}")
        print(f"| {curve0[i]['threshold']:.3f} | " + " | ".join(cells) + " |")
    print()


def _exactness(runs: dict, seeds: list[int]) -> None:
    print("| seed | front end C == numpy (clips) | program C == Python (streams) | QEMU M4 == Python | "
          "model C / TFLite Micro == reference |\n|---|---|---|---|---|")
    for seed in seeds:
        r = runs[seed]
        f, m4 = r["frontend"], r["cortexm"] or {}
        n_streams = len(r["streams"]["streams"])
        exact = sum(bool(x.get("c_exact")) for x in r["streams"]["streams"])
        print(f"| {seed} | {f['c_clips'] - f['c_mismatching_clips']}/{f['c_clips']} | {exact}/{n_streams} "
              f"({sum(x['seconds'] for x in r['streams']['streams']) / 60:.0f} min) | "
              f"{m4.get('qemu_exact')} ({m4.get('seconds', 0):g} s, {m4.get('qemu_events', 0)} events) | "
              f"{r['model']['c_mismatches'] == 0} / {r['model']['verify'].get('exact')} |")
    f = runs[seeds[0]]["frontend"]["splits"]
    print("\nFront end, fixed point vs the float definition (MFCC units):\n")
    print("| split | clips | mean abs error | p99 | max | SNR dB | int8 features differing |")
    print("|---|---|---|---|---|---|---|")
    for name, v in f.items():
        print(f"| {name} | {v['clips']} | {v['abs_error_mean']:.2e} | {v['abs_error_p99']:.2e} | "
              f"{v['abs_error_max']:.2e} | {v['snr_db']:.1f} | {v['int8_features_differing']:.3%} |")
    print()


def _cortexm(runs: dict, seeds: list[int], intervals: list[int]) -> None:
    m4 = runs[seeds[0]]["cortexm"]
    if not m4 or "flash_bytes" not in m4:
        print("Cortex-M4: not measured (no toolchain).")
        return
    e = runs[seeds[0]]["energy"] or {}
    print(f"Cortex-M4 in QEMU ({m4['board']}, {m4['core']}; instruction counts, not cycles):\n")
    print("| seed | program (build) | front end / frame | model + smoother / inference | per second of audio | "
          "flash B | RAM B |\n|---|---|---|---|---|---|---|")
    for seed in seeds:
        c = runs[seed]["cortexm"]
        rows = [(f"{c.get('program', 'kws_c')} ({c.get('build', '-Os, portable model kernels')})", c)]
        if c.get("portable"):
            rows.append((f"kws_c ({c['portable']['build']})", c["portable"]))
        for name, r in rows:
            print(f"| {seed} | {name} | {r['frontend_instructions_per_frame']:,} | "
                  f"{r['model_instructions_per_inference']:,} | {r['instructions_per_second_of_audio']:,.0f} | "
                  f"{r['flash_bytes']:,} | {r['ram_bytes']:,} |")
    if e:
        print(f"\nListening continuously (estimate, pocketml.energy; seed {seeds[0]}): duty cycle "
              f"{e['duty_cycle']:.1%}, average {e['average_watts'] * 1e3:.3g} mW, CR2032 life "
              f"{e['lifetime_days']:.1f} days ({'; '.join(e['warnings'])}).\n")
    from pocketml.devices import find_device, load_catalogue
    from pocketml.energy import energy_budget
    from pocketml.errors import PocketMLError

    board = find_device(m4["board"], load_catalogue())
    print("Other inference intervals (same measured instruction counts; estimate):\n")
    print("| model every | instructions / s | duty cycle | CR2032 days |\n|---|---|---|---|")
    for n in intervals:
        hz = 50.0 / n
        cycles = n * m4["frontend_instructions_per_frame"] + m4["model_instructions_per_inference"]
        try:
            b = energy_budget(board, cycles, "QEMU instructions", hz, messages_per_inference=min(1.0, 10 / 3600 / hz),
                              result_bytes=4)
            print(f"| {n * 20} ms | {cycles * hz:,.0f} | {b.duty_cycle:.1%} | {b.lifetime_days:.1f} |")
        except PocketMLError:  # a rate the board cannot keep up with
            print(f"| {n * 20} ms | {cycles * hz:,.0f} | over 100% | none: {cycles / board.clock_mhz / 1e3:.0f} ms "
                  f"of work every {1000 / hz:.0f} ms |")


def _long_streams(out: Path, runs: dict, n: int, minutes: float) -> None:
    """``pocketml kws evaluate`` on ``n`` more streams of ``minutes`` per voice set and seed (stream seeds 200+)."""
    if n <= 0:
        return
    paths = {seed: out / f"seed{seed}" / f"streams-{n}x{minutes:g}.json" for seed in sorted(runs)}
    procs = {}
    for seed, path in paths.items():  # evaluated once per trained folder (delete the file to redo), seeds at once
        if not path.is_file():
            cmd = [*POCKETML, "kws", "evaluate", str(out / f"seed{seed}"), "--streams", str(n), "--minutes",
                   str(minutes), "--stream-seed", "200", "--no-synthetic", "--json"]
            print("$ pocketml " + " ".join(cmd[3:]), file=sys.stderr, flush=True)
            procs[seed] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for seed, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"seed {seed}: kws evaluate failed:\n{stderr[-4000:]}")
        paths[seed].write_text(stdout)
    docs = {seed: json.loads(path.read_text())["streams"] for seed, path in paths.items()}
    det = docs[min(docs)]["detector"]
    print(f"\nLonger streams: {n} × {minutes:g} min per voice set and seed, stream seeds 200+ (`pocketml kws evaluate "
          f"OUT --streams {n} --minutes {minutes:g} --stream-seed 200 --no-synthetic`), threshold "
          f"{det['threshold']}:\n")
    print("| seed | voices | minutes | keywords | false rejections | false accepts | per hour | C == Python |")
    print("|---|---|---|---|---|---|---|---|")
    pooled: dict[str, list[float]] = {}
    for seed, d in docs.items():
        for engine, sc in d["at_threshold"].items():
            print(f"| {seed} | {engine} | {sc['hours'] * 60:.0f} | {sc['keywords']} | {sc['false_rejection_rate']:.1%} "
                  f"| {sc['false_accepts']} | {sc['false_accepts_per_hour']:.1f} | {d['c_exact']} |")
            p = pooled.setdefault(engine, [0, 0, 0, 0.0])
            p[0], p[1], p[2], p[3] = p[0] + sc["keywords"], p[1] + sc["misses"], p[2] + sc["false_accepts"], \
                p[3] + sc["hours"]
    for engine, (kw, miss, fa, hours) in pooled.items():
        print(f"| all | {engine} | {hours * 60:.0f} | {kw} | {miss / max(kw, 1):.1%} | {fa} | "
              f"{fa / max(hours, 1e-9):.1f} | |")
    print()
    _det_table({k: {"streams": v} for k, v in docs.items()}, sorted(docs))


def _board_kernels(out: Path, runs: dict, seconds: float) -> None:
    """The program with portable vs DSP model kernels, measured side by side in QEMU on the same audio."""
    import tempfile

    from pocketml.apps.kws.artifact import KwsArtifact
    from pocketml.apps.kws.cortexm import board_program, measure_program
    from pocketml.apps.kws.dataset import split_voices
    from pocketml.apps.kws.settings import data_spec_from_dict
    from pocketml.apps.kws.streams import StreamSpec, generate_stream
    from pocketml.deploy.cortexm.toolchain import toolchain_available
    from pocketml.devices import find_device, load_catalogue
    from pocketml.energy import energy_budget
    from pocketml.errors import PocketMLError

    if seconds <= 0 or not toolchain_available(need_qemu=True):
        return
    print(f"\nThe whole program with the model's portable vs DSP kernels (QEMU, the same {seconds:g} s of a "
          "held-out stream; instruction counts; energy estimate at 10 detections per hour):\n")
    print("| seed | model kernels, build | front end / frame | model + smoother / inference | per second of audio | "
          "flash B | RAM B | == Python | duty cycle | CR2032 days |\n|---|---|---|---|---|---|---|---|---|---|")
    for seed in sorted(runs):
        folder = out / f"seed{seed}"
        art = KwsArtifact.load(folder)
        board = find_device(runs[seed]["settings"]["device"], load_catalogue())
        core = runs[seed]["cortexm"]["core"]
        voices = split_voices(data_spec_from_dict(art.data)).voices("test")
        stream = generate_stream(StreamSpec(minutes=seconds / 60, seed=100), voices, art.labels[2:],
                                 tuple(art.data["unknown_words"]), tuple(art.data["babble_words"]))
        python = [(e.frame, e.label, e.score) for e in art.streaming().run(stream.pcm).events]
        every, frames = art.detector.every_frames, art.frontend.n_frames
        with tempfile.TemporaryDirectory(prefix="bench-kws-") as tmp:
            dsp = board_program(folder, Path(tmp) / "kws_c_dsp")
            programs = {"portable -Os (OUT/kws_c)": (folder / "kws_c", "-Os"),
                        "portable -O2": (folder / "kws_c", "-O2"), "DSP -O2 (OUT/c-dsp)": (dsp, "-O2")}
            for name, (program, opt) in programs.items():
                rep = measure_program(program, core, stream.pcm, every, frames, art.frontend.hop_samples, opt)
                hz = 1000.0 / art.frontend.frame_ms / every
                cycles = every * rep.frontend_instructions_per_frame + rep.model_instructions_per_inference
                try:
                    b = energy_budget(board, cycles, "QEMU instructions", hz, result_bytes=4,
                                      messages_per_inference=min(1.0, 10 / 3600 / hz))
                    life = f"{b.duty_cycle:.1%} | {b.lifetime_days:.1f}"
                except PocketMLError:  # the board cannot keep up with this program at this rate
                    life = (f"over 100% | none: {cycles / board.clock_mhz / 1e3:.0f} ms of work every "
                            f"{1000 / hz:.0f} ms")
                print(f"| {seed} | {name} | {rep.frontend_instructions_per_frame:,} | "
                      f"{rep.model_instructions_per_inference:,} | "
                      f"{rep.instructions_per_second(every, art.frontend.frame_ms):,.0f} | {rep.flash_bytes:,} | "
                      f"{rep.ram_bytes:,} | {rep.events == python} ({len(python)} events) | {life} |", flush=True)


if __name__ == "__main__":
    main()
