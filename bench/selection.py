"""Benchmark for edge data selection (issue 6): the figures in BENCHMARKS.md, "Data selection".

    .venv/bin/python bench/selection.py --seeds 5

1. Active learning on digits (pool = the 1,078-sample training split, test = its 360-sample test
   split): every strategy vs random, budgets 10-50% of the pool, mean ± std over seeds. Learner:
   scikit-learn LogisticRegression (C=10, lbfgs) on the 64 raw pixels, refitted every 20 labels.
2. Label noise: 10% of the training labels flipped (a new draw per seed); suspects from cleanlab,
   negative KNN-Shapley (on the clean validation split) and both; precision, recall and the share
   of the lost accuracy that removing them recovers.
3. KNN-Shapley: max |recursion − brute force| on sets of ≤ 10 points, and the wall time on
   10,000 train × 1,000 test points (64 features, 10 classes, synthetic Gaussian).
4. A byte budget: the Arduino Uno's flash (32 KB, float32 samples + a label byte), each strategy.
5. Removal curves (seed 0): clean labels, and 10% flipped.

Writes bench/results/selection.html (the plots) and prints markdown tables.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from pocketml.data import load_digits
from pocketml.data.selection import (
    brute_force_shapley,
    compare_strategies,
    default_learner,
    flip_labels,
    knn_shapley,
    noise_report,
    removal_curve,
    select,
)
from pocketml.data.selection.learners import accuracy, fit_clone
from pocketml.devices import find_device, load_catalogue
from pocketml.report.selection import write_selection_html

STRATEGIES = ("random", "least-confidence", "margin", "entropy", "kcenter", "hybrid")


def pm(values, scale=100.0, digits=2) -> str:
    v = np.asarray(values, dtype=float) * scale
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def active_learning(data, seeds):
    x, y = data.train.x.reshape(len(data.train.x), -1), data.train.y
    test = (data.test.x.reshape(len(data.test.x), -1), data.test.y)
    t = time.perf_counter()
    comp = compare_strategies(x, y, test, strategies=STRATEGIES, seeds=seeds,
                              progress=lambda what: print(f"  ... {what}", flush=True))
    seconds = time.perf_counter() - t
    full = float(np.mean(comp.full_accuracy))
    print(f"\n### Active learning on digits ({len(seeds)} seeds, {seconds:.0f} s)\n")
    print(f"Pool {comp.pool_size} samples; learner {comp.learner} (C=10) on raw pixels; seed set 20 random "
          f"labels, then batches of 20. Full-data accuracy (all {comp.pool_size} labels): {100 * full:.2f}%.\n")
    print("| strategy | " + " | ".join(f"{n} labels ({100 * n / comp.pool_size:.0f}%)" for n in comp.budgets)
          + " | labels to reach full − 1 pt (mean curve) | beats random at every budget |")
    print("|---|" + "---|" * (len(comp.budgets) + 2))
    for s in comp.strategies:
        reach = comp.labels_to_reach(s, full - 0.01)
        reach_txt = f"{reach} ({100 * reach / comp.pool_size:.1f}%)" if reach else "not within 50%"
        beats = "—" if s == "random" else str(all(comp.at(s, n).mean() > comp.at("random", n).mean()
                                                    for n in comp.budgets))
        print(f"| {s} | " + " | ".join(pm(comp.at(s, n)) for n in comp.budgets) + f" | {reach_txt} | {beats} |")
    return comp


def label_noise(data, seeds):
    x, y = data.train.x.reshape(len(data.train.x), -1), data.train.y
    test = (data.test.x.reshape(len(data.test.x), -1), data.test.y)
    val = (data.val.x.reshape(len(data.val.x), -1), data.val.y)
    rows: dict[str, dict[str, list]] = {}
    acc_clean, acc_noisy = [], []
    last = None
    for seed in seeds:
        noisy, flipped = flip_labels(y, 0.10, seed)
        truth = np.zeros(len(y), bool)
        truth[flipped] = True
        learner = default_learner(seed)
        a_clean = accuracy(fit_clone(learner, x, y), *test, 10)
        a_noisy = accuracy(fit_clone(learner, x, noisy), *test, 10)
        acc_clean.append(a_clean)
        acc_noisy.append(a_noisy)
        values = knn_shapley(x, noisy, *val, 5)
        for method in ("cleanlab", "shapley", "both"):  # "auto" = "shapley" here (a trusted split exists)
            rep = noise_report(x, noisy, val, method=method, seed=seed, true_noisy=truth, values=values)
            keep = np.setdiff1d(np.arange(len(y)), rep.suspects)
            a_fix = accuracy(fit_clone(learner, x[keep], noisy[keep]), *test, 10)
            r = rows.setdefault(method, {"n": [], "p": [], "r": [], "acc": [], "rec": []})
            r["n"].append(len(rep.suspects))
            r["p"].append(rep.precision["suspects"])
            r["r"].append(rep.recall["suspects"])
            r["acc"].append(a_fix)
            r["rec"].append((a_fix - a_noisy) / (a_clean - a_noisy) if a_clean > a_noisy else float("nan"))
            if method == "shapley":
                last = rep  # the report the HTML page shows
        print(f"  ... noise seed {seed}: clean {a_clean:.4f}, noisy {a_noisy:.4f}", flush=True)
    print(f"\n### Label noise: 10% of the {len(y)} training labels flipped ({len(seeds)} seeds)\n")
    print(f"Accuracy ({default_learner().__class__.__name__} C=10): clean labels {pm(acc_clean)}%, "
          f"noisy {pm(acc_noisy)}% (the noise costs {pm(np.subtract(acc_clean, acc_noisy))} points).\n")
    print("| suspects | flagged | precision | recall | accuracy after removing them (%) | share of the lost accuracy "
          "recovered (%) |")
    print("|---|---|---|---|---|---|")
    names = {"cleanlab": "cleanlab (confident learning, 5-fold LR C=1 probabilities)",
             "shapley": "negative KNN-Shapley (k=5, on the clean validation split): `--drop-suspects` default",
             "both": "both (union)"}
    for method, r in rows.items():
        print(f"| {names[method]} | {pm(r['n'], 1, 1)} | {pm(r['p'], 1, 3)} | {pm(r['r'], 1, 3)} | {pm(r['acc'])} "
              f"| {pm(r['rec'], 100, 1)} |")
    print(f"\nAgreement (last seed): cleanlab flags {len(last.cleanlab)}, of which {last.overlap} are also among "
          f"the {len(last.lowest_shapley)} lowest-Shapley samples; precision/recall of those lowest-Shapley: "
          f"{last.precision['lowest_shapley']:.3f}/{last.recall['lowest_shapley']:.3f}.")
    return last


def shapley_exactness_and_speed(repeats):
    worst = 0.0
    for n in range(1, 11):
        for k in (1, 3, 5):
            r = np.random.default_rng(100 * n + k)
            x, y, xt, yt = r.normal(size=(n, 3)), r.integers(0, 3, n), r.normal(size=(4, 3)), r.integers(0, 3, 4)
            worst = max(worst, float(np.abs(knn_shapley(x, y, xt, yt, k) - brute_force_shapley(x, y, xt, yt, k)).max()))
    r = np.random.default_rng(0)
    x, y = r.normal(size=(10_000, 64)), r.integers(0, 10, 10_000)
    xt, yt = r.normal(size=(1_000, 64)), r.integers(0, 10, 1_000)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        knn_shapley(x, y, xt, yt, 5)
        times.append(time.perf_counter() - t)
    print("\n### KNN-Shapley: exactness and speed\n")
    print(f"- max |recursion − brute force (all subsets)| over N = 1..10 points, k ∈ {{1, 3, 5}}: {worst:.1e}")
    print(f"- 10,000 train × 1,000 test (64 features), k = 5, one thread: {np.mean(times):.2f} ± {np.std(times):.2f} s "
          f"over {repeats} runs (min {min(times):.2f} s)")


def byte_budget(data, seeds):
    uno = find_device("uno", load_catalogue())
    val = (data.val.x, data.val.y)
    test = (data.test.x.reshape(len(data.test.x), -1), data.test.y)
    print(f"\n### Byte budget: {uno.name} flash ({uno.flash_bytes:,} B), float32 digits + 1 label byte\n")
    print("| strategy | samples kept | bytes | accuracy (%) |")
    print("|---|---|---|---|")
    for strategy in ("random", "value", "kcenter", "margin", "hybrid"):
        accs, kept = [], None
        for seed in seeds:
            chosen = select(data.train.x, data.train.y, strategy=strategy, budget_bytes=uno.flash_bytes, val=val,
                            seed=seed)
            sub = chosen.subset(data.train)
            accs.append(accuracy(fit_clone(default_learner(seed), sub.x, sub.y), *test, 10))
            kept = chosen
        print(f"| {strategy} | {len(kept.indices)} | {kept.stored_bytes:,} | {pm(accs)} |")


def removal(data):
    x, y = data.train.x.reshape(len(data.train.x), -1), data.train.y
    test = (data.test.x.reshape(len(data.test.x), -1), data.test.y)
    noisy, _ = flip_labels(y, 0.10, 0)
    curves = {}
    for name, labels in (("clean labels", y), ("10% of labels flipped", noisy)):
        values = knn_shapley(x, labels, data.val.x, data.val.y, 5)
        curve = removal_curve(values, x, labels, test, fractions=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6))
        curves[name] = curve
        print(f"\n### Removal curve (seed 0, {name}): test accuracy (%) after removing a fraction\n")
        print("| removed | " + " | ".join(f"{100 * f:.0f}%" for f in curve.fractions) + " |")
        print("|---|" + "---|" * len(curve.fractions))
        for label, row in (("highest value first", curve.high_first), ("lowest value first", curve.low_first),
                           ("random", curve.random)):
            print(f"| {label} | " + " | ".join(f"{100 * a:.2f}" for a in row) + " |")
    return curves["10% of labels flipped"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/selection.html"))
    args = parser.parse_args()
    seeds = tuple(range(args.seeds))
    torch.set_num_threads(1)
    print(f"# bench/selection.py --seeds {args.seeds} ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"one BLAS thread)")
    data = load_digits()
    with threadpool_limits(limits=1):
        shapley_exactness_and_speed(repeats=args.seeds)
        comp = active_learning(data, seeds)
        noise = label_noise(data, seeds)
        byte_budget(data, seeds)
        curve = removal(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_selection_html(args.out, title="pocketml bench: data selection on digits", comparison=comp,
                         removal=curve, noise=noise,
                         notes=(f"bench/selection.py --seeds {args.seeds}; label-noise table: last seed; "
                                "removal curve: 10% of labels flipped (seed 0).",))
    print(f"\nplots: {args.out}")


if __name__ == "__main__":
    main()
