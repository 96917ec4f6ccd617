"""TinyBERT benchmark (issue 11): MiniLM-L6 → a tiny student, 3 seeds, ablation, int8 ONNX, latency side by side.

    nice -n 10 .venv/bin/python bench/tinybert.py --seeds 3 [--out out/bench-tinybert]

One process: tokenizes the task (stdlib-chapter) and the general corpus (pydoc_data topics), fine-tunes
the teacher once (seed 0; saved to OUT/teacher.pt and reused if present), makes the augmented copies
of the training texts and reads the unlabelled docstrings of other modules, runs the teacher once over
all of it (CachedTeacher: internals for the training texts and general passages, logits for the rest),
then trains for every seed: the full two-stage student and its ablations (no augmentation, no extra
rows at all, no general distillation, no attention loss, with the hidden-state loss, no teacher at all), all
with the defaults of ``pocketml distill`` (chosen on a validation split by bench/tinybert_select.py).
The seed-0 full student is exported to ONNX (float and int8) and
timed at batch 1 beside the teacher (PyTorch and onnxruntime, one thread, interleaved). Prints the
markdown of BENCHMARKS.md and writes OUT/tinybert.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread: the 2 cores are shared; less waiting on stragglers

import torch  # noqa: E402

from pocketml.nlp.encoder import param_count  # noqa: E402
from pocketml.nlp.run import (  # noqa: E402
    DEFAULT_AUGMENT,
    DEFAULT_DISTILL,
    NO_TEACHER_EPOCHS,
    StudentShape,
    bow_baseline,
    deploy_and_time,
    prepare,
    train_student,
)
from pocketml.nlp.training import accuracy  # noqa: E402

SHAPE = StudentShape()
NO_TEACHER = "no teacher (random init, labels only)"
VARIANTS = {  # name -> (shape, DistillConfig, train_student keyword arguments)
    "TinyBERT: general + task distillation + augmentation + unlabelled docstrings": (SHAPE, DEFAULT_DISTILL, {}),
    "no augmentation": (SHAPE, DEFAULT_DISTILL, {"augmented": False}),
    "no augmentation, no unlabelled docstrings": (SHAPE, DEFAULT_DISTILL, {"augmented": False, "unlabelled": False}),
    "no general distillation": (SHAPE, replace(DEFAULT_DISTILL, general_epochs=0), {}),
    "no attention loss": (SHAPE, replace(DEFAULT_DISTILL, attention_weight=0.0), {}),
    "with the hidden-state loss (weight 1)": (SHAPE, replace(DEFAULT_DISTILL, hidden_weight=1.0), {}),
    NO_TEACHER: (replace(SHAPE, init="random"), DEFAULT_DISTILL, {"use_teacher": False}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("out/bench-tinybert"))
    ap.add_argument("--rounds", type=int, default=40, help="latency rounds per model")
    ap.add_argument("--render", type=Path, help="only print the tables of an earlier run's tinybert.json")
    args = ap.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    setup = prepare("minilm", "stdlib-chapter", teacher_file=args.out / "teacher.pt")
    log(f"teacher fine-tuned: accuracy {setup.teacher_score:.4f}; {setup.seconds}")
    bow = bow_baseline(setup.task)
    rows: dict[str, list[float]] = {k: [] for k in VARIANTS}
    seconds: dict[str, list[float]] = {k: [] for k in VARIANTS}
    record: dict = {
        "task": {"train": len(setup.train.x), "test": len(setup.test.x), "general_passages": len(setup.general_x),
                 "classes": list(setup.task.classes), "max_len": setup.tokenizer.max_len, "bow_logreg": bow,
                 "augmented": len(setup.augmented.x) if setup.augmented is not None else 0,
                 "unlabelled": len(setup.unlabelled.x) if setup.unlabelled is not None else 0},
        "settings": {"distill": asdict(DEFAULT_DISTILL), "augment": asdict(DEFAULT_AUGMENT),
                     "no_teacher_epochs": NO_TEACHER_EPOCHS},
        "teacher": {"params": param_count(setup.teacher), "score": setup.teacher_score},
        "scores": rows, "train_seconds": seconds, "prepare_seconds": setup.seconds, "seeds": args.seeds,
        "rounds": args.rounds,
    }
    full = next(iter(VARIANTS))
    # variant-major: the headline rows (full, no teacher) finish first; tinybert.json is rewritten after every run
    order = [full, NO_TEACHER] + [k for k in VARIANTS if k not in (full, NO_TEACHER)]
    for name in order:
        shape, cfg, kw = VARIANTS[name]
        for seed in range(args.seeds):
            t1 = time.perf_counter()
            st = train_student(setup, shape, replace(cfg, seed=seed), **kw)
            seconds[name].append(time.perf_counter() - t1)
            rows[name].append(accuracy(st, setup.test))
            log(f"seed {seed} {name}: {rows[name][-1]:.4f} ({seconds[name][-1]:.0f} s)")
            if name == full and seed == 0:
                dep = deploy_and_time(setup, st, args.out / "onnx", rounds=args.rounds)
                record["student"] = {
                    "params": param_count(st), "vocab": st.config.vocab, "layers": st.config.layers,
                    "hidden": st.config.hidden, "ffn": st.config.ffn, "heads": st.config.heads,
                    "remap_bytes": int(st.remap.numel() * st.remap.element_size())}
                record["int8"] = {
                    "agreement": dep.check.agreement, "float_score": dep.check.float_accuracy,
                    "int8_score": dep.check.int8_accuracy, "float_bytes": dep.check.float_bytes,
                    "int8_bytes": dep.check.int8_bytes, "teacher_onnx_bytes": dep.teacher_onnx.bytes}
                record["latency_ms"] = {k: {"median": v.median_ms, "p90": v.p90_ms, "runs": v.runs}
                                        for k, v in dep.latency.items()}
                log(f"deployed: {record['int8']}, {record['latency_ms']}")
            (args.out / "tinybert.json").write_text(json.dumps(record, indent=2) + "\n")
    print(render(record))
    log("done")


def render(r: dict) -> str:
    """The markdown of BENCHMARKS.md from a tinybert.json record."""
    teacher, t_params, st = r["teacher"]["score"], r["teacher"]["params"], r["student"]
    heads = st.get("heads", SHAPE.heads)  # runs before the key existed used StudentShape's default
    seeds = r.get("seeds", len(next(iter(r["scores"].values()))))
    lines = [
        f"Teacher MiniLM-L6 (all-MiniLM-L6-v2, fine-tuned 3 epochs, seed 0): {t_params:,} parameters, test accuracy "
        f"{teacher:.4f}. Bag-of-words tf-idf logistic regression (C by 5-fold CV on train): "
        f"{r['task']['bow_logreg']:.4f}. Test set {r['task']['test']} docstrings (train {r['task']['train']}), "
        f"{len(r['task']['classes'])} classes; general corpus {r['task']['general_passages']} passages; "
        f"max {r['task']['max_len']} tokens; prediction-layer extra rows: {r['task'].get('augmented', 0):,} augmented "
        f"copies of the training texts, {r['task'].get('unlabelled', 0):,} unlabelled docstrings of other modules.",
        "",
        f"Student: {st['layers']} layers x hidden {st['hidden']} (ffn {st['ffn']}, {heads} heads), vocabulary "
        f"{st['vocab']:,} tokens: {st['params']:,} parameters = 1/{t_params / st['params']:.1f} of the teacher "
        f"(plus a {st['remap_bytes']:,}-byte token-id remap buffer).",
        "",
        f"| variant (seeds 0..{seeds - 1} asked) | seeds done | accuracy mean ± sd | % of teacher | per seed | "
        "train s (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for name, xs in r["scores"].items():
        if not xs:
            continue
        m = statistics.mean(xs)
        sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
        per_seed = ", ".join(f"{x:.4f}" for x in xs)
        lines.append(f"| {name} | {len(xs)} | {m:.4f} ± {sd:.4f} | {m / teacher:.1%} | {per_seed} | "
                     f"{statistics.mean(r['train_seconds'][name]):.0f} |")
    if "int8" not in r:
        return "\n".join(lines)
    q = r["int8"]
    lines += [
        "",
        f"int8 ONNX (seed-0 full student, onnxruntime quantize_dynamic): {q['int8_bytes']:,} B vs float "
        f"{q['float_bytes']:,} B (teacher float {q['teacher_onnx_bytes']:,} B); int8 agrees with float on "
        f"{q['agreement']:.1%} of the test set; accuracy float {q['float_score']:.4f}, int8 {q['int8_score']:.4f}.",
        "",
        "| batch-1 latency, 1 thread, interleaved rounds | median ms | p90 ms | teacher / this (same runtime) |",
        "|---|---|---|---|",
    ]
    lat = r["latency_ms"]
    same = {"teacher_torch": "teacher_torch", "student_torch": "teacher_torch", "teacher_onnx": "teacher_onnx",
            "student_onnx": "teacher_onnx", "student_int8": "teacher_onnx"}
    for k, v in lat.items():
        lines.append(f"| {k} ({v['runs']} runs) | {v['median']:.2f} | {v['p90']:.2f} | "
                     f"{lat[same[k]]['median'] / v['median']:.1f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
