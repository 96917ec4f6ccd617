"""Compression benchmark (issue 5): recipes on two tasks, distillation, QAT vs PTQ, ablation, Pareto plot.

    .venv/bin/python bench/compress.py --seeds 3 [--jobs 3] [--out out/bench-compress]

Tasks: scikit-learn digits (digits-cnn, 10 classes) and ``waves12``, a generated 12-class task
(four waveform shapes x three frequencies, 64 samples, random phase/amplitude/offset and noise;
seeded, no download). For every seed and task it trains the float model, then runs ``shrink`` with
the recipes ``int8``, ``qat-int4`` and ``deep`` (each verified in C: c_mismatches), and on waves12
distils a 1/9-size student from a wide teacher and trains the same student without a teacher.
Prints the markdown tables of BENCHMARKS.md and writes OUT/rows.json and OUT/pareto.html.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from pocketml.data.dataset import Dataset, Split  # noqa: E402

RECIPES = ("int8", "qat-int4", "deep")


def waves12(seed: int = 0, n_train: int = 3000, n_test: int = 1200, length: int = 64, noise: float = 0.15) -> Dataset:
    """12 classes = {sine, square, triangle, sawtooth} x {2, 3, 5 cycles}; noisy, random phase/amplitude/offset."""
    r = np.random.default_rng(1000 + seed)
    n = n_train + n_test
    y = r.integers(0, 12, n)
    shape, cycles = y // 3, np.array([2, 3, 5])[y % 3]
    t = np.arange(length) / length
    phase = r.uniform(0, 1, (n, 1))
    u = (cycles[:, None] * t[None, :] + phase) % 1.0
    waves = np.stack([np.sin(2 * np.pi * u), np.where(u < 0.5, 1.0, -1.0), 4 * np.abs(u - 0.5) - 1, 2 * u - 1])
    x = waves[shape, np.arange(n)] * r.uniform(0.5, 1.5, (n, 1)) + r.uniform(-0.5, 0.5, (n, 1))
    x = (x + noise * r.normal(size=x.shape)).astype(np.float32)
    tr, te = Split(x[:n_train], y[:n_train].astype(np.int64)), Split(x[n_train:], y[n_train:].astype(np.int64))
    return Dataset("waves12", tr, Split(te.x[:300], te.y[:300]), te, 12)


def waves_mlp(hidden: int = 128) -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden // 2), nn.ReLU(), nn.Linear(hidden // 2, 12)
    )


def train_model(task: str, seed: int, hidden: int = 128) -> tuple[nn.Module, Dataset]:
    from pocketml.compress.finetune import finetune
    from pocketml.models import get_builtin

    if task == "digits":
        return get_builtin("digits-cnn").trained(seed=seed, progress=False)
    data = waves12(seed)
    torch.manual_seed(seed)
    model = waves_mlp(hidden)
    finetune(model, data.train, epochs=40, lr=3e-3, seed=seed)
    return model, data


def run_one(task: str, seed: int, out: Path, parts: str = "recipes,distill", recipes: tuple = RECIPES) -> list[dict]:
    """Every measurement for one (task, seed); one process each."""
    torch.set_num_threads(1)
    from pocketml import shrink
    from pocketml.compress.distill import DistillConfig, derive_student, distill
    from pocketml.compress.finetune import accuracy, finetune
    from pocketml.compress.prune import param_count

    rows = []
    t = time.perf_counter()
    model, data = train_model(task, seed) if "recipes" in parts else (None, waves12(seed))
    train_s = time.perf_counter() - t
    for recipe_arg in recipes if "recipes" in parts else ():
        recipe = Path(recipe_arg).stem
        t = time.perf_counter()
        res = shrink(
            model,
            data.train.x,
            data.test,
            "nano33ble",
            out / f"{task}-s{seed}-{recipe}",
            name=f"{task}_{recipe}".replace("-", "_"),
            recipe=recipe_arg,
            train=data.train,
            seed=seed,
        )
        rows.append(recipe_row(task, seed, recipe, res.to_json(), train_s, time.perf_counter() - t))
    if (
        task == "waves12" and "distill" in parts
    ):  # distillation: wide teacher, 1/9-size student, same student without teacher
        torch.manual_seed(seed)
        teacher, _ = train_model(task, seed, hidden=256)
        example = torch.as_tensor(data.train.x[:2])
        student = derive_student(teacher, example, width=0.25, seed=seed)
        baseline = derive_student(teacher, example, width=0.25, seed=seed)
        t = time.perf_counter()
        distill(teacher, student, data.train.x, data.train, DistillConfig(general_epochs=10, task_epochs=40, seed=seed))
        distill_s = time.perf_counter() - t
        finetune(baseline, data.train, epochs=40, lr=3e-3, seed=seed + 1)
        rows.append(
            {
                "kind": "distill",
                "task": task,
                "seed": seed,
                "teacher_params": param_count(teacher),
                "student_params": param_count(student),
                "teacher_acc": accuracy(teacher, data.test),
                "student_distilled_acc": accuracy(student, data.test),
                "student_alone_acc": accuracy(baseline, data.test),
                "distill_s": distill_s,
            }
        )
    return rows


def recipe_row(task: str, seed: int, recipe: str, doc: dict, train_s: float, shrink_s: float) -> dict:
    stages = [s for s in doc["stages"] if s["name"] in ("quantize", "prune", "qat", "huffman", "mixed")]
    return {
        "kind": "recipe",
        "task": task,
        "seed": seed,
        "recipe": recipe,
        "acc_float": doc["accuracy"]["float"],
        "acc_int": doc["accuracy"]["int8"],
        "acc_c": doc["accuracy"]["c"],
        "c_mismatches": doc["c_mismatches"],
        "float32_bytes": doc["size_bytes"]["float32"],
        "deployed": doc["size_bytes"]["deployed"],
        "flash": doc["flash_bytes"],
        "ram": doc["ram_bytes"],
        "macs": doc["macs"],
        "train_s": train_s,
        "shrink_s": shrink_s,
        "stages": stages,
        "weights": doc["compression"]["weights"],
    }


def collect(out: Path) -> list[dict]:
    """Recipe rows rebuilt from OUT/<task>-s<seed>-<recipe>/result.json (for an interrupted or split run)."""
    rows = []
    for path in sorted(out.glob("*-s*-*/result.json")):
        task, rest = path.parent.name.split("-s", 1)
        seed, recipe = rest.split("-", 1)
        doc = json.loads(path.read_text())
        rows.append(recipe_row(task, int(seed), recipe, doc, float("nan"), sum(s["seconds"] for s in doc["stages"])))
    return rows


def mean_sd(values, fmt: str = ".4f") -> str:
    values = list(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):{fmt}} ± {sd:{fmt}}"


def report(rows: list[dict], out: Path) -> str:
    lines = []
    recipes = [r for r in rows if r["kind"] == "recipe"]
    for task in sorted({r["task"] for r in recipes}):
        rs = [r for r in recipes if r["task"] == task]
        seeds = sorted({r["seed"] for r in rs})
        lines += [
            f"### {task}: recipes, {len(seeds)} seeds (mean ± sd; deployed = every byte the emitted C stores)",
            "",
            "| recipe | float acc | int acc (reference) | C acc | loss (points) | C mismatches | float32 B | deployed B | ratio | flash B | RAM B |",  # noqa: E501
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for recipe in dict.fromkeys(r["recipe"] for r in rs):
            g = [r for r in rs if r["recipe"] == recipe]
            if not g:
                continue
            lines.append(
                f"| {recipe} | {mean_sd(r['acc_float'] for r in g)} | {mean_sd(r['acc_int'] for r in g)} | "
                f"{mean_sd(r['acc_c'] for r in g)} | {mean_sd((100 * (r['acc_float'] - r['acc_c']) for r in g), '.2f')} | "  # noqa: E501
                f"{sum(r['c_mismatches'] for r in g)} | {g[0]['float32_bytes']} | {mean_sd((r['deployed'] for r in g), '.0f')} | "  # noqa: E501
                f"{mean_sd((r['float32_bytes'] / r['deployed'] for r in g), '.2f')} | {mean_sd((r['flash'] for r in g), '.0f')} | "  # noqa: E501
                f"{mean_sd((r['ram'] for r in g), '.0f')} |"
            )
        lines += [
            "",
            f"#### {task}: QAT vs PTQ at the same bits and storage (from the qat stage; test accuracy of the integer reference)",  # noqa: E501
            "",
            "| recipe | stage | PTQ acc | QAT acc | QAT − PTQ (points) |",
            "|---|---|---|---|---|",
        ]
        for recipe in ("qat-int4", "deep", "deep-long"):
            g = [r for r in rs if r["recipe"] == recipe]
            q = [next(s for s in r["stages"] if s["name"] == "qat") for r in g]
            if q:
                lines.append(
                    f"| {recipe} | {q[0]['stage']} | {mean_sd(s['ptq_accuracy'] for s in q)} | "
                    f"{mean_sd(s['qat_accuracy'] for s in q)} | "
                    f"{mean_sd((100 * (s['qat_accuracy'] - s['ptq_accuracy']) for s in q), '.2f')} |"
                )
        for ablated in ("deep", "deep-long"):
            g = [r for r in rs if r["recipe"] == ablated]
            if not g:
                continue
            lines += [
                "",
                f"#### {task}: ablation of {ablated} (each stage's effect; bytes = constant data, no decoder code)",
                "",
                "| step | int acc | stored bytes | RAM B (arena + decode scratch) | MACs |",
                "|---|---|---|---|---|",
            ]
            first = g[0]["stages"][0]
            lines.append(
                f"| int8 PTQ (before the recipe) | {mean_sd(r['stages'][0]['accuracy_int_before'] for r in g)} | "
                f"{mean_sd((r['stages'][0]['bytes_before'] for r in g), '.0f')} | {first['ram_before']} | {first['macs_before']} |"  # noqa: E501
            )
            for i, st in enumerate(g[0]["stages"]):
                lines.append(
                    f"| + {st['stage']} | {mean_sd(r['stages'][i]['accuracy_int_after'] for r in g)} | "
                    f"{mean_sd((r['stages'][i]['bytes_after'] for r in g), '.0f')} | {mean_sd((r['stages'][i]['ram_after'] for r in g), '.0f')} | "  # noqa: E501
                    f"{st['macs_after']} |"
                )
            lines.append(
                f"| + decoder code (deployed, C) | {mean_sd(r['acc_c'] for r in g)} | {mean_sd((r['deployed'] for r in g), '.0f')} | "  # noqa: E501
                f"{mean_sd((r['ram'] for r in g), '.0f')} (measured RAM) | |"
            )
        lines.append("")
    dist = [r for r in rows if r["kind"] == "distill"]
    if dist:
        lines += [
            "### waves12: distillation (teacher MLP 64-256-128-12, student width 0.25)",
            "",
            "| seed | teacher params | student params | ratio | teacher acc | distilled student | student alone | distilled / teacher |",  # noqa: E501
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in dist:
            lines.append(
                f"| {r['seed']} | {r['teacher_params']} | {r['student_params']} | "
                f"1/{r['teacher_params'] / r['student_params']:.1f} | {r['teacher_acc']:.4f} | "
                f"{r['student_distilled_acc']:.4f} | {r['student_alone_acc']:.4f} | "
                f"{r['student_distilled_acc'] / r['teacher_acc']:.4f} |"
            )
        lines.append(
            f"| mean ± sd | | | | {mean_sd(r['teacher_acc'] for r in dist)} | "
            f"{mean_sd(r['student_distilled_acc'] for r in dist)} | {mean_sd(r['student_alone_acc'] for r in dist)} | "
            f"{mean_sd(r['student_distilled_acc'] / r['teacher_acc'] for r in dist)} |"
        )
    return "\n".join(lines)


def pareto_page(rows: list[dict], out: Path) -> None:
    from pocketml.report.pareto import pareto_svg

    parts = []
    for task in sorted({r["task"] for r in rows if r["kind"] == "recipe"}):
        pts = []
        for r in rows:
            if r["kind"] != "recipe" or r["task"] != task:
                continue
            pts.append((f"{r['recipe']} s{r['seed']}", r["deployed"], r["acc_c"]))
            pts.append((f"float32 s{r['seed']}", r["float32_bytes"], r["acc_float"]))
        parts.append(f"<h2>{task}</h2>" + pareto_svg(pts, title=f"{task}: C accuracy vs deployed bytes"))
    html = (
        "<!doctype html><meta charset='utf-8'><title>pocketml compression: Pareto</title>"
        "<h1>Accuracy against deployed flash bytes</h1>" + "".join(parts)
    )
    tmp = out / "pareto.html.tmp"
    tmp.write_text(html)
    tmp.replace(out / "pareto.html")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--tasks", default="digits,waves12")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("out/bench-compress"))
    ap.add_argument("--recipes", default=",".join(RECIPES), help="recipe names or .toml files, comma-separated")
    ap.add_argument("--parts", default="recipes,distill", help="recipes and/or distill")
    ap.add_argument("--report-only", action="store_true", help="re-render from OUT/rows.json")
    ap.add_argument(
        "--merge",
        default="",
        help="comma-separated bench output folders to combine into OUT "
        "(their rows.json, or rows rebuilt from their result.json files)",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        rows = []
        for folder in map(Path, args.merge.split(",")):
            if (folder / "rows.json").exists():
                rows += json.loads((folder / "rows.json").read_text())
            else:
                rows += collect(folder)
        (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    elif not args.report_only:
        jobs = [(task, seed) for task in args.tasks.split(",") for seed in range(args.seeds)]
        rows: list[dict] = []
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for part in pool.map(
                run_one,
                [j[0] for j in jobs],
                [j[1] for j in jobs],
                [args.out] * len(jobs),
                [args.parts] * len(jobs),
                [tuple(args.recipes.split(","))] * len(jobs),
            ):
                rows.extend(part)
        (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    rows = json.loads((args.out / "rows.json").read_text())
    pareto_page(rows, args.out)
    print(report(rows, args.out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
