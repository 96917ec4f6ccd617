"""Choosing issue 11's TinyBERT settings on a validation split (never on the test split).

    nice -n 10 .venv/bin/python bench/tinybert_select.py [--seeds 1] [--only NAME ...]

The test docstrings are set aside entirely; 20% of the training docstrings (stratified, fixed seed)
become the validation split, the teacher is fine-tuned on the other 80% (saved to
OUT/teacher-val.pt), augmented copies and unlabelled docstrings are built from that 80% as
``prepare`` does, and every candidate below is trained and scored on the validation split. The
defaults of ``pocketml.nlp.run`` (DEFAULT_DISTILL, DEFAULT_AUGMENT, StudentShape, NO_TEACHER_EPOCHS)
are the best candidate here ("2x128 + both, no hidden loss, alpha 1"); docs/tinybert.md lists the
table. One seed each (the runs are minutes each on the shared 2 cores): the validation split has 181
texts, one text is 0.55 points. Writes OUT/select.json (``--render`` reprints its table).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from pocketml.compress.distill import DistillConfig  # noqa: E402
from pocketml.nlp.encoder import param_count  # noqa: E402
from pocketml.nlp.run import StudentShape, prepare, train_student  # noqa: E402
from pocketml.nlp.training import accuracy  # noqa: E402

# the previous defaults of pocketml distill (TinyBERT's losses, all weights 1, alpha 0.7), the starting point
BASE = DistillConfig(temperature=2.0, alpha=0.7, hidden_weight=1.0, attention_weight=1.0, embedding_weight=1.0,
                     general_epochs=2, task_intermediate_epochs=2, task_epochs=6, lr=1e-3, batch_size=32)
S128 = StudentShape(layers=2, hidden=128, heads=4)
# name -> (shape, config, train_student keyword arguments); the candidates tried, in the order they were run
CANDIDATES = {
    "2x128 + augmented + unlabelled": (S128, BASE, {}),
    "no teacher, 20 epochs": (replace(S128, init="random"), BASE, {"use_teacher": False, "no_teacher_epochs": 20}),
    "2x128 + both, task_epochs 3": (S128, replace(BASE, task_epochs=3), {}),
    "2x128 + both, no hidden loss": (S128, replace(BASE, hidden_weight=0.0), {}),
    "4x128 + both": (StudentShape(layers=4, hidden=128, heads=4), BASE, {}),
    "2x128 + both, no hidden loss, alpha 1": (S128, replace(BASE, hidden_weight=0.0, alpha=1.0), {}),
    "2x192 + both, no hidden loss": (StudentShape(layers=2, hidden=192, heads=4), replace(BASE, hidden_weight=0.0), {}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("out/tinybert-select"))
    ap.add_argument("--only", nargs="*", help="run only these candidates (names as in CANDIDATES)")
    ap.add_argument("--render", action="store_true", help="only print the table of OUT/select.json")
    args = ap.parse_args()
    if args.render:
        print(render(json.loads((args.out / "select.json").read_text())))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    setup = prepare("minilm", "stdlib-chapter", holdout=0.2, teacher_file=args.out / "teacher-val.pt")
    n_aug = len(setup.augmented.x) if setup.augmented else 0
    n_unl = len(setup.unlabelled.x) if setup.unlabelled else 0
    log(f"validation: train {len(setup.train.x)}, val {len(setup.test.x)}, augmented {n_aug}, unlabelled {n_unl}, "
        f"vocab {len(setup.kept)}; teacher {setup.teacher_score:.4f}; {setup.seconds}")
    path = args.out / "select.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    record["teacher_val"] = setup.teacher_score
    record.setdefault("runs", {})
    for name, (shape, cfg, kw) in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        scores, secs = [], []
        for seed in range(args.seeds):
            t1 = time.perf_counter()
            st = train_student(setup, shape, replace(cfg, seed=seed), **kw)
            secs.append(time.perf_counter() - t1)
            scores.append(accuracy(st, setup.test))
            log(f"{name} seed {seed}: {scores[-1]:.4f} ({secs[-1]:.0f} s, {param_count(st):,} params)")
        record["runs"][name] = {"scores": scores, "seconds": secs, "params": param_count(st)}
        path.write_text(json.dumps(record, indent=2) + "\n")
    print(render(record))


def render(r: dict) -> str:
    lines = [f"Validation split (20% of train); teacher fine-tuned on the other 80%: {r['teacher_val']:.4f}.", "",
             "| candidate | params | val accuracy (per seed) | mean | % of teacher | train s |",
             "|---|---|---|---|---|---|"]
    for name, v in r["runs"].items():
        m = statistics.mean(v["scores"])
        lines.append(f"| {name} | {v['params']:,} | {', '.join(f'{x:.4f}' for x in v['scores'])} | {m:.4f} | "
                     f"{m / r['teacher_val']:.1%} | {statistics.mean(v['seconds']):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
